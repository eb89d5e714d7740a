"""State changes from browsers (acknowledging attention items): refused unless they come from
agentmon's own page.

The Guard marks each request with how it proved itself (`CREDENTIAL`: "bearer" or "cookie")
and who it is (`IDENTITY`). A bearer key cannot be sent by another site's page, so it passes.
Otherwise (a session cookie, or no keys configured at all) the request must carry the
X-Agentmon-CSRF header, which another site's page cannot add without a CORS preflight that
agentmon never grants, and a browser's Origin, when it names one, must be the host it talks
to. This module owns that Origin rule: `same_origin` (an Origin is required) serves the
login form and logged-in changes in auth.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CREDENTIAL = "agentmon.credential"
IDENTITY = "agentmon.identity"
CSRF_HEADER = b"x-agentmon-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ForgedChange(PermissionError):
    """A state change that may come from another site's page (answered as 403)."""


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def same_origin(scope: Mapping[str, Any]) -> bool:
    """Whether the request's Origin is this very host (what a browser sends with a page's
    own POST; another site's form or script cannot forge it)."""
    origin = _header(scope, b"origin")
    if not origin:
        return False
    return origin.split("://", 1)[-1] == (_header(scope, b"host") or "")


def foreign_origin(scope: Mapping[str, Any]) -> bool:
    """Whether the request's Origin names another host. No Origin, or "null" (a page whose
    referrer policy hides its origin), says nothing either way."""
    return _header(scope, b"origin") not in (None, "null") and not same_origin(scope)


def forged_change(scope: Mapping[str, Any]) -> str | None:
    """Why this request may not be a change asked for by agentmon's own page, or None."""
    if scope.get("method", "GET") in SAFE_METHODS or scope.get(CREDENTIAL) == "bearer":
        return None
    if foreign_origin(scope):  # without an Origin, the header below still decides
        return "a change must be sent from the agentmon page itself (Origin mismatch)"
    if _header(scope, CSRF_HEADER) is None:
        return "a change without a bearer key must carry the X-Agentmon-CSRF header"
    return None


def check_change(scope: Mapping[str, Any]) -> None:
    problem = forged_change(scope)
    if problem:
        raise ForgedChange(problem)
