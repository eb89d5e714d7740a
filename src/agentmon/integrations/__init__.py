"""Hook handlers that turn agent tools' hook payloads into agentmon events.

Each handler module (``codex``, ``gemini``, ``hermes``, ``claude``) holds a pure mapping from
one hook payload to envelopes, plus a ``main`` console entry point. Delivery and the spool
are the client layer's (``agentmon.client``); ids, state files, the log and the handler
skeleton live in ``_hookio``; the session/run/span
bookkeeping shared by the mappings lives in ``_tracker``. Handlers import only the standard
library so that a hook invocation starts fast.
"""
