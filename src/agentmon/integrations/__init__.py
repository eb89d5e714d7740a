"""Hook handlers that turn agent tools' hook payloads into agentmon events.

Each handler module (``codex``, ``gemini``, ``hermes``, ``claude``) holds a pure mapping from
one hook payload to envelopes, plus a ``main`` console entry point. The shared plumbing
(delivery, spool, state files, logging) lives in ``_hookio``; the session/run/span
bookkeeping shared by the mappings lives in ``_tracker``. Handlers import only the standard
library so that a hook invocation starts fast.
"""
