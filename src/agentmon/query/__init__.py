"""The query API: reads the store and serves the live feed (`:8081`)."""

from agentmon.query.app import create_query_app

__all__ = ["create_query_app"]
