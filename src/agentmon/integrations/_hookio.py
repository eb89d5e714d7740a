"""What the hook handlers share beyond the client layer: ids, clock, state files, log, and
the handler skeleton (read the payload, map it under the session lock, deliver).

A hook handler is a short-lived subprocess started by an agent tool for every hook firing.
It must start fast, never fail the tool and never lose an event, so this module:

- imports only cheap standard-library modules: no ``typing``; no ``json`` package, whose
  import of ``re`` and ``enum`` costs more than the rest of a handler (see
  ``agentmon.client.jsonio``); no OpenSSL-backed ``hashlib``, no IDNA codec, and no
  ``urllib`` for plain ``http://`` gateways (see ``agentmon.client.delivery``);
- hands each firing's events to the spool *before* it saves the session state (the
  transcript cursor), so a crash at any point loses nothing (a re-read event keeps its
  derived id, and the store deduplicates); then a child it forks, detached from the tool's
  pipes, replays the spool through ``agentmon.client``: one bounded attempt
  (``AGENTMON_HOOK_TIMEOUT``, default 2 s, retrying only a busy gateway, with jittered
  backoff), putting back what the gateway did not take for a later invocation. The hook
  returns without waiting for the gateway's group commit (the store does not depend on
  delivery order); ``AGENTMON_HOOK_DELIVERY=wait`` makes it wait, as it does where the
  platform cannot fork or the spool cannot be written;
- keeps per-session state in JSON files guarded by POSIX record locks (``os.lockf``; the
  ``fcntl`` module would be one more shared library to load), because a tool may run
  several hooks of one session at the same time;
- logs every problem as one line in a log file and exits 0.
"""

from __future__ import annotations

import os
import sys
import time

from agentmon.client.config import ClientConfig
from agentmon.client.delivery import Endpoint, RetryPolicy
from agentmon.client.ids import uuid7
from agentmon.client.jsonio import json_dumps, json_loads
from agentmon.client.spool import Spool, deliver_or_spool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Event = dict[str, Any]
    Payload = dict[str, Any]

SCHEMA = {"name": "agentmon.event", "version": 1}
STATE_MAX_AGE_SECONDS = 7 * 86400
# a session state's ``kept`` part outlives the rest: it moves to ``kept/`` when the state is
# pruned (what a later ``agentmon import`` must know, such as the usage the hooks reported)
KEPT = "kept"
KEPT_MAX_AGE_SECONDS = 400 * 86400

try:  # the built-in SHA-1 loads in a fraction of the time OpenSSL's (via hashlib) takes
    from _sha1 import sha1 as _sha1
except ImportError:  # an interpreter built without it
    from hashlib import sha1 as _sha1

_NAMESPACE = bytes.fromhex("6d2f0a57c1b04c8e9c1f3d2b7a4e5f60")


# ---------------------------------------------------------------- ids and clock


def new_event_id() -> str:
    """A time-ordered (version 7) UUID string, without importing ``uuid``."""
    return uuid7()


def derived_id(*parts: str) -> str:
    """A name-based (version 5) UUID: the same parts always give the same id."""
    digest = bytearray(_sha1(_NAMESPACE + "\x1f".join(parts).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return _uuid_text(bytes(digest))


def _uuid_text(raw: bytes) -> str:
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def format_ts(epoch: float) -> str:
    """Epoch seconds → ``2026-03-13T12:00:00.000000Z``."""
    whole = int(epoch)
    micros = round((epoch - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def parse_ts(text: str) -> float | None:
    """An RFC 3339 time stamp → epoch seconds, or None when it cannot be read."""
    quick = _parse_utc_iso(text)
    if quick is not None:
        return quick
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _parse_utc_iso(text: str) -> float | None:
    """``2026-08-20T14:30:00.000Z`` (JavaScript's ``toISOString``, what Gemini CLI sends)
    without loading ``datetime``; None for any other shape."""
    if len(text) != 24 or text[4] != "-" or text[10] != "T" or text[19] != "." or text[23] != "Z":
        return None
    digits = (
        text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19] + text[20:23]
    )
    if not digits.isdigit() or text[7] != "-" or text[13] != ":" or text[16] != ":":
        return None
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    clock = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    return _days_from_civil(year, month, day) * 86400 + clock + int(text[20:23]) / 1000


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def make_event(
    event_type: str,
    *,
    source: dict[str, str],
    ts: float,
    correlation: dict[str, str | None],
    payload: Payload,
    attributes: Payload | None = None,
    event_id: str | None = None,
) -> Event:
    """One ``agentmon.event`` v1 envelope as a plain dict, with a fresh event id unless a
    derived one is given (an event a re-read may produce again)."""
    return {
        "schema": dict(SCHEMA),
        "event": {
            "id": event_id or new_event_id(),
            "type": event_type,
            "ts": format_ts(ts),
            "source": source,
        },
        "correlation": {key: value for key, value in correlation.items() if value},
        "attributes": attributes or {},
        "payload": payload,
    }


# ---------------------------------------------------------------- log


def log_line(config: ClientConfig, tool: str, message: str) -> None:
    """Append one line to the hook log; a log that cannot be written is ignored."""
    line = f"{format_ts(time.time())} {tool} pid={os.getpid()} {message}".replace("\n", " | ")
    try:
        _ensure_dir(os.path.dirname(config.log_path))
        with open(config.log_path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


def _ensure_dir(path: str) -> None:
    if path:
        os.makedirs(path, mode=0o700, exist_ok=True)


# ---------------------------------------------------------------- state files


def _safe_name(key: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
    if cleaned == key and 0 < len(key) <= 120 and not key.startswith("."):
        return key
    return derived_id("state", key)


class LockedState:
    """``with LockedState(config, tool, key) as state:`` a dict saved back on exit.

    The lock is an exclusive ``lockf`` on a sidecar ``.lock`` file that is never deleted, so
    every process of one session sees the same lock (one per process: a handler is one
    process and opens the lock file once, as POSIX record locks require); the state is
    written to a temporary file and renamed into place, so a crash never leaves half a file
    behind.
    """

    def __init__(self, config: ClientConfig, tool: str, key: str) -> None:
        self.directory = os.path.join(config.state_dir, tool)
        name = _safe_name(key)
        self.path = os.path.join(self.directory, name + ".json")
        self.lock_path = os.path.join(self.directory, name + ".lock")
        self.kept_path = os.path.join(self.directory, KEPT, name + ".json")
        self.state: Payload = {}
        self._fd = -1

    def __enter__(self) -> Payload:
        _ensure_dir(self.directory)
        self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        os.lockf(self._fd, os.F_LOCK, 0)
        try:
            with open(self.path, encoding="utf-8") as handle:
                loaded = json_loads(handle.read())
            self.state = loaded if isinstance(loaded, dict) else {}
        except FileNotFoundError:
            kept = read_json_object(self.kept_path)
            self.state = {KEPT: kept} if kept else {}
            _prune_old_state(self.directory)
        except (OSError, ValueError):
            self.state = {}
        return self.state

    def saved(self) -> Payload:
        """The state as last saved, without taking the lock (for readers such as the
        importer): the live file, else what pruning kept of it."""
        state = read_json_object(self.path)
        if state:
            return state
        kept = read_json_object(self.kept_path)
        return {KEPT: kept} if kept else {}

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                _write_json(self.path, self.state)
        finally:
            os.lockf(self._fd, os.F_ULOCK, 0)
            os.close(self._fd)


def read_json_object(path: str) -> Payload:
    """A JSON object file's content; {} when it is missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = json_loads(handle.read())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _prune_old_state(directory: str) -> None:
    """Drop state of sessions untouched for a week, keeping each one's ``kept`` part (run when
    a new session appears)."""
    now = time.time()
    _prune(directory, now - STATE_MAX_AGE_SECONDS, keep_into=os.path.join(directory, KEPT))
    _prune(os.path.join(directory, KEPT), now - KEPT_MAX_AGE_SECONDS, keep_into=None)


def _prune(directory: str, cutoff: float, keep_into: str | None) -> None:
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            if os.stat(path).st_mtime >= cutoff:
                continue
            kept = read_json_object(path).get(KEPT) if keep_into else None
            if kept and isinstance(kept, dict) and keep_into:
                _write_json(os.path.join(keep_into, name), kept)
            os.unlink(path)
            if keep_into:
                os.unlink(path[: -len(".json")] + ".lock")
        except OSError:
            continue


def _write_json(path: str, value: Payload) -> None:
    _ensure_dir(os.path.dirname(path))
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(json_dumps(value))
    os.replace(temporary, path)


# ---------------------------------------------------------------- delivery


def deliver(config: ClientConfig, events: list[Event], tool: str) -> bool:
    """Replay the spool with ``events`` in one bounded attempt; spool what is left."""
    spool = Spool.configured(config)
    policy = RetryPolicy(timeout=config.timeout, budget=config.timeout, retry_unreachable=False)
    endpoint = Endpoint(config.ingest_url, config.api_key)
    return deliver_or_spool(
        spool, endpoint, events, policy, lambda line: log_line(config, tool, line)
    )


def hand_off(config: ClientConfig, events: list[Event], tool: str) -> bool:
    """Put ``events`` where they cannot be lost, before the session state moves past them:
    the spool, or (when it cannot be written) the gateway itself. True when the spool holds
    them, to be sent by ``send_spooled``; an OSError when neither took them, so the caller
    keeps its old state and the next hook produces them again."""
    spool = Spool.configured(config)
    if not events:
        return spool.has_batches()
    try:
        spool.write(events)
    except OSError as exc:
        log_line(config, tool, f"spool not writable ({exc}); sending directly")
        if not deliver(config, events, tool):
            raise
        return False
    return True


def send_spooled(config: ClientConfig, tool: str) -> None:
    """Replay the spool: in a forked child the tool does not wait for (its stdin, stdout
    and stderr are /dev/null, in a session of its own), or here with
    ``AGENTMON_HOOK_DELIVERY=wait`` or where the platform cannot fork."""
    if config.background_delivery and hasattr(os, "fork"):
        try:
            child = os.fork()
        except OSError as exc:
            log_line(config, tool, f"cannot fork a sender ({exc}); sending directly")
        else:
            if child == 0:
                _sender_child(config, tool)
            return
    deliver(config, [], tool)


def _sender_child(config: ClientConfig, tool: str) -> None:
    """The forked sender: let go of the tool's terminal and pipes, replay, exit (never
    returning into the handler, whose answer the parent prints)."""
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(null, descriptor)
        deliver(config, [], tool)
    except Exception as exc:
        log_line(config, tool, f"background sender failed: {exc!r}")
    finally:
        os._exit(0)


# ---------------------------------------------------------------- the handler skeleton


class MalformedPayload(ValueError):
    """The tool's hook input is not what the handler can read."""


def read_payload(
    argv: list[str], stdin_text: Callable[[], str], from_argv: bool = False
) -> Payload:
    """The hook's JSON object: from the last argv element if asked and it holds an object
    (Codex ``notify``), else from stdin."""
    in_argv = from_argv and len(argv) > 1 and argv[-1].lstrip().startswith("{")
    text = argv[-1] if in_argv else stdin_text()
    if not text.strip():
        raise MalformedPayload("empty hook input")
    try:
        payload = json_loads(text)
    except ValueError as exc:
        raise MalformedPayload(f"hook input is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedPayload(f"hook input is a JSON {type(payload).__name__}, not an object")
    payload.pop("_delivery", None)
    return payload


def run_hook(
    tool: str,
    framework: str,
    session_of: Callable[[Payload], str],
    mapper: Callable[[Payload, Payload, dict[str, str], float], list[Event]],
    *,
    answer: str = "",
    from_argv: bool = False,
) -> int:
    """The body of every handler's ``main``: read, map under the session lock, deliver.

    ``session_of`` names the state file of a payload (raising MalformedPayload when the
    payload has no session); ``mapper(payload, state, source, now)`` returns the envelopes
    and updates ``state`` in place. Always returns 0; problems go to the hook log.
    """
    config = ClientConfig()
    if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        sys.stdout.write(usage(tool, sys.modules[mapper.__module__].__doc__, config, from_argv))
        return 0
    try:
        payload = read_payload(sys.argv, sys.stdin.read, from_argv)
        key = session_of(payload)
        with LockedState(config, tool, key) as state:
            events = mapper(payload, state, config.source(framework), time.time())
            spooled = hand_off(config, events, tool)
        if spooled:
            send_spooled(config, tool)
    except MalformedPayload as exc:
        log_line(config, tool, f"malformed input, nothing sent: {exc}")
    except Exception as exc:
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        log_line(config, tool, f"handler failed: {exc!r} at {where.filename}:{where.lineno}")
    finally:
        _answer(answer)
    return 0


def usage(tool: str, doc: str | None, config: ClientConfig, from_argv: bool = False) -> str:
    """The ``--help`` text: what the handler reads, the variables it obeys, where it logs."""
    command = f"agentmon-{tool}-handler"
    where = "on stdin, or as the last argument" if from_argv else "on stdin"
    summary = (doc or "").strip().split("\n\n", 1)[0]
    variables = [
        ("AGENTMON_INGEST_URL", config.ingest_url),
        ("AGENTMON_API_KEY", "set" if config.api_key else "not set"),
        ("AGENTMON_HOOK_TIMEOUT", f"{config.timeout:g} s"),
        ("AGENTMON_HOOK_DELIVERY", "background" if config.background_delivery else "wait"),
        ("AGENTMON_CLIENT_ID", config.client_id),
        ("AGENTMON_HOST", config.host),
        ("AGENTMON_SPOOL_DIR", config.spool_dir),
        ("AGENTMON_SPOOL_MAX_FILES", str(config.spool_max_files)),
        ("AGENTMON_SPOOL_MAX_BYTES", str(config.spool_max_bytes)),
        ("AGENTMON_SPOOL_MAX_AGE", f"{config.spool_max_age:g} s"),
        ("AGENTMON_STATE_DIR", config.state_dir),
        ("AGENTMON_HOOK_LOG", config.log_path),
    ]
    lines = [
        f"usage: {command} < HOOK_JSON",
        *([f"   or: {command} HOOK_JSON"] if from_argv else []),
        "",
        summary,
        "",
        f"Reads one hook payload (a JSON object) {where}, sends the events it implies to",
        "$AGENTMON_INGEST_URL/v1/events (spooling them while the gateway is unreachable),",
        "and always exits 0. Problems are written to the hook log, never to the tool.",
        "",
        "environment (current value):",
        *(f"  {name:<26} {value}" for name, value in variables),
        "",
    ]
    return "\n".join(lines)


def _answer(text: str) -> None:
    """Print what the tool expects on stdout (if anything), even if stdout is gone."""
    if not text:
        return
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        pass
