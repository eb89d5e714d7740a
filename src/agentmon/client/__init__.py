"""The producer side of agentmon: what every program that sends events shares.

The hook handlers, the SDK, the VM monitor and the demo all send envelopes to an ingest
gateway's ``/v1/events``. This package holds what they have in common, and nothing of the
server:

- ``config``: where and how to send (``AGENTMON_INGEST_URL``, ``AGENTMON_API_KEY``, timeouts,
  client id and host, spool location and bounds), read from the environment;
- ``backoff``: the retry schedule, exponential with full jitter, honouring ``Retry-After``;
- ``delivery``: one POST classified (delivered, refused, retry later), the retry loop,
  batching, the isolation of refused events by bisection, and a small HTTP/1.1 POST over
  ``_socket`` (``urllib`` only for ``https://``);
- ``spool``: undelivered batches on disk, bounded by files, bytes and age, with refused
  events set aside in ``rejected/``, and the step every producer with a spool runs
  (``deliver_or_spool``: replay + new events, spool what is left);
- ``sink``: the asyncio face of the same delivery for the monitor and the demo.

Everything but ``sink`` imports only cheap standard-library modules (see ``jsonio`` and
``delivery`` for the tricks), because a hook handler is a fresh process on every hook firing
and must start in a few milliseconds; for the same reason a hook's path loads few modules
(each costs a fresh interpreter about 0.2 ms here) and ``backoff`` only when a retry is due.
Importing this package imports none of its modules.
"""
