"""Where and how a producer sends, read from the environment (standard library only).

| variable | default | meaning |
|---|---|---|
| ``AGENTMON_INGEST_URL`` | ``http://127.0.0.1:8080`` | the ingest gateway |
| ``AGENTMON_API_KEY`` | none | sent as ``Authorization: Bearer`` |
| ``AGENTMON_HOOK_TIMEOUT`` | ``2`` (s) | a hook's whole network wait, retries included |
| ``AGENTMON_HOOK_DELIVERY`` | ``background`` | ``wait``: a hook returns once the gateway answered |
| ``AGENTMON_CLIENT_ID`` / ``AGENTMON_HOST`` | the host name | the events' source |
| ``AGENTMON_SPOOL_DIR`` | ``$XDG_STATE_HOME/agentmon/spool`` | undelivered batches |
| ``AGENTMON_SPOOL_MAX_FILES`` | ``10000`` | spool bound: waiting batches |
| ``AGENTMON_SPOOL_MAX_BYTES`` | ``256MiB`` | spool bound: their total size |
| ``AGENTMON_SPOOL_MAX_AGE`` | ``7d`` | spool bound: the oldest batch's age |
| ``AGENTMON_STATE_DIR`` / ``AGENTMON_HOOK_LOG`` | beside the spool | hook state, hook log |

A value that cannot be read falls back to its default: a producer must never fail the
program it observes because of its own configuration.
"""

from __future__ import annotations

import os

DEFAULT_INGEST_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 2.0
# by default a hook hands its events to the spool and returns while a child it forks sends
# them; AGENTMON_HOOK_DELIVERY=wait makes the hook itself wait for the gateway's answer
WAIT_DELIVERY = "wait"
SPOOL_MAX_FILES = 10_000
SPOOL_MAX_BYTES = 256 * 1024 * 1024
SPOOL_MAX_AGE_SECONDS = 7 * 86400.0

_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class ClientConfig:
    """Everything a producer needs to know to deliver events, from ``env`` (os.environ)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        home = state_home(env)
        self.ingest_url = (env.get("AGENTMON_INGEST_URL") or DEFAULT_INGEST_URL).rstrip("/")
        self.api_key = env.get("AGENTMON_API_KEY") or None
        self.spool_dir = _path(env.get("AGENTMON_SPOOL_DIR"), os.path.join(home, "spool"))
        self.state_dir = _path(env.get("AGENTMON_STATE_DIR"), os.path.join(home, "state"))
        self.log_path = _path(env.get("AGENTMON_HOOK_LOG"), os.path.join(home, "hooks.log"))
        self.timeout = _positive(env.get("AGENTMON_HOOK_TIMEOUT"), DEFAULT_TIMEOUT)
        self.background_delivery = (
            env.get("AGENTMON_HOOK_DELIVERY") or ""
        ).strip().lower() != WAIT_DELIVERY
        self.spool_max_files = int(_positive(env.get("AGENTMON_SPOOL_MAX_FILES"), SPOOL_MAX_FILES))
        self.spool_max_bytes = parse_size(env.get("AGENTMON_SPOOL_MAX_BYTES"), SPOOL_MAX_BYTES)
        self.spool_max_age = parse_duration(
            env.get("AGENTMON_SPOOL_MAX_AGE"), SPOOL_MAX_AGE_SECONDS
        )
        self.host = env.get("AGENTMON_HOST") or os.uname().nodename
        self.client_id = env.get("AGENTMON_CLIENT_ID") or env.get("AGENTMON_VM_NAME") or self.host

    def source(self, framework: str) -> dict[str, str]:
        return {"framework": framework, "client_id": self.client_id, "host": self.host}


def state_home(env: dict[str, str]) -> str:
    base = env.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "agentmon")


def _path(text: str | None, default: str) -> str:
    return os.path.expanduser(text) if text else default


def parse_float(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


def _positive(text: str | None, default: float) -> float:
    value = parse_float(text, default)
    return value if value > 0 else default


def parse_size(text: str | None, default: int) -> int:
    """``268435456``, ``256MiB``, ``256M``, ``1.5g`` (binary units) → bytes."""
    number, unit = _split_unit((text or "").strip().lower().removesuffix("b").removesuffix("i"))
    if unit not in _SIZE_UNITS:
        return default
    value = parse_float(number, -1.0)
    return int(value * _SIZE_UNITS[unit]) if value >= 0 else default


def parse_duration(text: str | None, default: float) -> float:
    """``604800``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` → seconds."""
    number, unit = _split_unit((text or "").strip().lower())
    if unit not in _DURATION_UNITS:
        return default
    value = parse_float(number, -1.0)
    return value * _DURATION_UNITS[unit] if value >= 0 else default


def _split_unit(text: str) -> tuple[str, str]:
    if text and text[-1].isalpha():
        return text[:-1].strip(), text[-1]
    return text, ""
