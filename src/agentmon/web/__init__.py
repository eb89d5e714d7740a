"""The agentmon web UI: a single-page app served from the package, plus a query API gateway."""

from agentmon.web.app import create_web_app

__all__ = ["create_web_app"]
