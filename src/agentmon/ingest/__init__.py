"""The ingest gateway: validates events and hands them to the bus (`:8080`)."""

from agentmon.ingest.app import create_ingest_app, create_otlp_app, otlp_routes

__all__ = ["create_ingest_app", "create_otlp_app", "otlp_routes"]
