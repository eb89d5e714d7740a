"""OpenTelemetry in: an OTLP/HTTP receiver that maps GenAI traces, agent CLI log events and
metrics to agentmon sessions, runs, spans, usage and errors (see docs/otlp.md)."""

from agentmon.otlp.receiver import routes

__all__ = ["routes"]
