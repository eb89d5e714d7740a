"""How a probe says it failed: an issue code a person acts on, and a sentence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeFailure:
    code: str
    """The issue code (libvirt_error, ssh_unreachable, ssh_auth_failed, gateway_down, ...)."""
    message: str

    @property
    def check(self) -> str:
        """The value of this check in the snapshot's ``checks`` object."""
        return f"error: {self.message}"
