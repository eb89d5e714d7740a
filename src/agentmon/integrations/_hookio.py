"""Shared plumbing for the hook handlers: ids, clock, delivery, spool, state files and log.

A hook handler is a short-lived subprocess started by an agent tool for every hook firing.
It must start fast, never fail the tool and never lose an event, so this module:

- imports only cheap standard-library modules: no ``typing``; no ``json`` package, whose
  import of ``re`` and ``enum`` costs more than the rest of a handler (its C accelerator
  ``_json`` is used directly); no OpenSSL-backed ``hashlib``, no IDNA codec, and no
  ``urllib`` for plain ``http://`` gateways (a small HTTP/1.1 client over ``_socket``);
- bounds the whole network wait (``AGENTMON_HOOK_TIMEOUT``, default 2 s);
- writes events that could not be delivered to a spool directory and replays the spool on a
  later invocation, keeping each event's id so the store deduplicates replays;
- keeps per-session state in JSON files guarded by ``fcntl`` locks, because a tool may run
  several hooks of one session at the same time;
- logs every problem as one line in a log file and exits 0.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Event = dict[str, Any]
    Payload = dict[str, Any]

SCHEMA = {"name": "agentmon.event", "version": 1}
DEFAULT_INGEST_URL = "http://127.0.0.1:8080"
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_REPLAY_FILES = 50
SPOOL_MAX_FILES = 10_000
STALE_CLAIM_SECONDS = 60.0
STATE_MAX_AGE_SECONDS = 7 * 86400

_NAMESPACE = bytes.fromhex("6d2f0a57c1b04c8e9c1f3d2b7a4e5f60")


# ---------------------------------------------------------------- configuration


def _state_home(env: dict[str, str]) -> str:
    base = env.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "agentmon")


class HookConfig:
    """Where to send events and where to keep local files, read from the environment."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        home = _state_home(env)
        self.ingest_url = (env.get("AGENTMON_INGEST_URL") or DEFAULT_INGEST_URL).rstrip("/")
        self.api_key = env.get("AGENTMON_API_KEY") or None
        self.spool_dir = _path(env.get("AGENTMON_SPOOL_DIR"), os.path.join(home, "spool"))
        self.state_dir = _path(env.get("AGENTMON_STATE_DIR"), os.path.join(home, "state"))
        self.log_path = _path(env.get("AGENTMON_HOOK_LOG"), os.path.join(home, "hooks.log"))
        self.timeout = _float(env.get("AGENTMON_HOOK_TIMEOUT"), 2.0)
        self.spool_max_files = int(_float(env.get("AGENTMON_SPOOL_MAX_FILES"), SPOOL_MAX_FILES))
        host = env.get("AGENTMON_HOST") or os.uname().nodename
        self.host = host
        self.client_id = env.get("AGENTMON_CLIENT_ID") or env.get("AGENTMON_VM_NAME") or host

    def source(self, framework: str) -> dict[str, str]:
        return {"framework": framework, "client_id": self.client_id, "host": self.host}


def _path(text: str | None, default: str) -> str:
    return os.path.expanduser(text) if text else default


def _float(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


# ---------------------------------------------------------------- JSON


def _json_codec() -> tuple[Callable[[str], Any], Callable[[Any], str]]:
    """(loads, dumps) built on ``_json``, the C half of the ``json`` package.

    Importing ``json`` itself pulls in ``re`` and ``enum`` and takes longer than everything
    else a hook handler does; the C scanner and encoder give the same results. Interpreters
    without them (or with a different ``_json``) get the ``json`` package.
    """
    try:
        import _json

        scanner = _json.make_scanner(_ScannerContext())  # type: ignore[arg-type]  # stub is off
        encoder = _json.make_encoder(
            None, _unserializable, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )
    except (ImportError, AttributeError, TypeError):
        import json

        return json.loads, lambda value: json.dumps(value, separators=(",", ":"), default=str)

    def loads(text: str) -> Any:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = scanner(text, start)
        except Exception:  # not JSON: the json package says what is wrong (error path only)
            return _json_package_loads(text)
        if end != len(text.rstrip(_WHITESPACE)):
            return _json_package_loads(text)
        return value

    def dumps(value: Any) -> str:
        return "".join(encoder(value, 0))

    return loads, dumps


_WHITESPACE = " \t\n\r"


def _json_package_loads(text: str) -> Any:
    import json

    return json.loads(text)


class _ScannerContext:
    """The settings ``_json.make_scanner`` reads (those of ``json.JSONDecoder()``)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


def _unserializable(value: object) -> str:
    return str(value)


json_loads, json_dumps = _json_codec()


# ---------------------------------------------------------------- ids and clock


def new_event_id() -> str:
    """A random (version 4) UUID string, without importing ``uuid``."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return _uuid_text(bytes(raw))


def derived_id(*parts: str) -> str:
    """A name-based (version 5) UUID: the same parts always give the same id."""
    try:  # the built-in SHA-1 loads in a fraction of the time OpenSSL's (via hashlib) takes
        from _sha1 import sha1
    except ImportError:  # an interpreter built without it
        from hashlib import sha1

    digest = bytearray(sha1(_NAMESPACE + "\x1f".join(parts).encode()).digest()[:16])
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
) -> Event:
    """One ``agentmon.event`` v1 envelope as a plain dict, with a fresh event id."""
    return {
        "schema": dict(SCHEMA),
        "event": {"id": new_event_id(), "type": event_type, "ts": format_ts(ts), "source": source},
        "correlation": {key: value for key, value in correlation.items() if value},
        "attributes": attributes or {},
        "payload": payload,
    }


# ---------------------------------------------------------------- log


def log_line(config: HookConfig, tool: str, message: str) -> None:
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

    The lock is an exclusive ``flock`` on a sidecar ``.lock`` file that is never deleted, so
    every process of one session sees the same lock; the state is written to a temporary
    file and renamed into place, so a crash never leaves half a file behind.
    """

    def __init__(self, config: HookConfig, tool: str, key: str) -> None:
        self.directory = os.path.join(config.state_dir, tool)
        name = _safe_name(key)
        self.path = os.path.join(self.directory, name + ".json")
        self.lock_path = os.path.join(self.directory, name + ".lock")
        self.state: Payload = {}
        self._fd = -1

    def __enter__(self) -> Payload:
        _ensure_dir(self.directory)
        self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            with open(self.path, encoding="utf-8") as handle:
                loaded = json_loads(handle.read())
            self.state = loaded if isinstance(loaded, dict) else {}
        except FileNotFoundError:
            self.state = {}
            _prune_old_state(self.directory)
        except (OSError, ValueError):
            self.state = {}
        return self.state

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                temporary = f"{self.path}.{os.getpid()}.tmp"
                with open(temporary, "w", encoding="utf-8") as handle:
                    handle.write(json_dumps(self.state))
                os.replace(temporary, self.path)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)


def _prune_old_state(directory: str) -> None:
    """Drop state of sessions untouched for a week (run when a new session appears)."""
    cutoff = time.time() - STATE_MAX_AGE_SECONDS
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            if os.stat(path).st_mtime < cutoff:
                os.unlink(path)
                os.unlink(path[: -len(".json")] + ".lock")
        except OSError:
            continue


# ---------------------------------------------------------------- spool


class Spool:
    """A directory of JSON files, each an array of envelopes waiting for delivery.

    Files are named by creation time so they replay in order. A process claims a file by
    renaming it (atomic), so two hook processes never replay the same file; a claim left by
    a crashed process is taken over after a minute. Beyond `max_files` waiting batches the
    oldest are dropped, so an outage that never ends cannot fill the disk.
    """

    def __init__(self, directory: str, max_files: int = SPOOL_MAX_FILES) -> None:
        self.directory = directory
        self.max_files = max_files

    def trim(self) -> int:
        """Drop the oldest waiting batches beyond `max_files`; how many were dropped."""
        try:
            waiting = sorted(
                n for n in os.listdir(self.directory) if n.endswith(".json") and n[0] != "."
            )
        except OSError:
            return 0
        excess = waiting[: max(0, len(waiting) - self.max_files)]
        for name in excess:
            try:  # noqa: SIM105 (contextlib would cost the hook its import time)
                os.remove(os.path.join(self.directory, name))
            except OSError:  # claimed or removed by another process meanwhile
                pass
        return len(excess)

    def write(self, events: list[Event]) -> str:
        _ensure_dir(self.directory)
        name = f"{time.time_ns():020d}-{os.getpid()}-{new_event_id()[:8]}.json"
        temporary = os.path.join(self.directory, "." + name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(json_dumps(events))
        path = os.path.join(self.directory, name)
        os.replace(temporary, path)
        return path

    def claim(self, max_files: int = MAX_REPLAY_FILES) -> list[tuple[str, list[Event]]]:
        """Take up to ``max_files`` spooled batches, oldest first: (claimed path, events)."""
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return []
        claimed: list[tuple[str, list[Event]]] = []
        for name in names:
            if len(claimed) >= max_files:
                break
            path = self._claim_one(name)
            if path is not None:
                claimed.append((path, self._load(path)))
        return claimed

    def _claim_one(self, name: str) -> str | None:
        path = os.path.join(self.directory, name)
        if name.endswith(".claimed"):
            try:
                if time.time() - os.stat(path).st_mtime < STALE_CLAIM_SECONDS:
                    return None
            except OSError:
                return None
            name = name.split(".json.", 1)[0] + ".json"
        elif not name.endswith(".json") or name.startswith("."):
            return None
        target = os.path.join(self.directory, f"{name}.{os.getpid()}.claimed")
        try:
            os.rename(path, target)
            os.utime(target)
        except OSError:
            return None
        return target

    @staticmethod
    def _load(path: str) -> list[Event]:
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = json_loads(handle.read())
        except (OSError, ValueError):
            return []
        if not isinstance(loaded, list):
            return []
        return [item for item in loaded if isinstance(item, dict)]

    @staticmethod
    def unclaim(path: str) -> None:
        """Put a claimed batch back, under its original name, for a later replay."""
        original = path.split(".json.", 1)[0] + ".json"
        try:
            os.rename(path, original)
        except OSError:
            return

    @staticmethod
    def release(paths: list[str]) -> None:
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                continue

    def count(self) -> int:
        try:
            return sum(1 for name in os.listdir(self.directory) if name.endswith(".json"))
        except OSError:
            return 0


# ---------------------------------------------------------------- HTTP


class HttpAnswer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    """POST ``body``; raise OSError when the server cannot be reached in ``timeout`` s."""
    scheme, _, rest = url.partition("://")
    if scheme == "https":
        return _post_with_urllib(url, body, headers, timeout)
    if scheme != "http":
        raise OSError(f"unsupported URL scheme in {url!r}")
    authority, _, path = rest.partition("/")
    host, port = _split_authority(authority)
    lines = [f"POST /{path} HTTP/1.1", f"Host: {authority}", f"Content-Length: {len(body)}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines += ["Connection: close", "", ""]
    return _parse_response(_exchange(host, port, "\r\n".join(lines).encode() + body, timeout))


def _split_authority(authority: str) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = authority.partition(":")
    return host, int(port) if port else 80


def _exchange(host: str, port: int, request: bytes, timeout: float) -> bytes:
    import _socket

    deadline = time.monotonic() + timeout
    last_error: OSError = OSError(f"cannot resolve {host}")
    addresses = _socket.getaddrinfo(_host_bytes(host), port, 0, _socket.SOCK_STREAM)
    for family, kind, proto, _, address in addresses:
        connection = _socket.socket(family, kind, proto)
        try:
            connection.settimeout(max(deadline - time.monotonic(), 0.01))
            connection.connect((_host_bytes(str(address[0])), *address[1:]))
            connection.sendall(request)
            return _read_all(connection, deadline)
        except OSError as exc:
            last_error = exc
        finally:
            connection.close()
    raise last_error


def _host_bytes(host: str) -> bytes:
    """A host name as bytes: a ``str`` host makes the socket module load the IDNA codec
    (``encodings.idna`` → ``re``, ``enum``: more than a handler's own run time)."""
    return host.encode() if host.isascii() else host.encode("idna")


def _read_all(connection: Any, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete answer in time")
        connection.settimeout(remaining)
        chunk = connection.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _parse_response(raw: bytes) -> HttpAnswer:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise OSError("truncated HTTP answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"not an HTTP answer: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return HttpAnswer(int(parts[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    out: list[bytes] = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2 :]
    return b"".join(out)


def _post_with_urllib(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            headers = {key.lower(): value for key, value in answer.headers.items()}
            return HttpAnswer(answer.status, headers, answer.read())
    except urllib.error.HTTPError as exc:
        headers = {key.lower(): value for key, value in exc.headers.items()}
        return HttpAnswer(exc.code, headers, exc.read())
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None


# ---------------------------------------------------------------- delivery


class DeliveryResult:
    """What happened to one batch: delivered (with rejections) or to be retried later."""

    def __init__(
        self,
        delivered: bool,
        rejected: list[str] | None = None,
        problem: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.delivered = delivered
        self.rejected = rejected or []
        self.problem = problem
        self.retry_after = retry_after


def post_batch(
    ingest_url: str, api_key: str | None, events: list[Event], deadline: float
) -> DeliveryResult:
    """POST one batch to ``<ingest_url>/v1/events``, retrying 429/503 while time allows.

    Delivered means the gateway took the batch; items it rejected (a permanent failure)
    are listed, never retried. Not delivered means: keep the batch and try again later.
    """
    body = json_dumps(events).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    result = DeliveryResult(False, problem="no time left")
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            answer = http_post(ingest_url + "/v1/events", body, headers, remaining)
        except OSError as exc:
            return DeliveryResult(False, problem=f"gateway unreachable: {exc}")
        if answer.status == 200:
            return DeliveryResult(True, rejected=_rejections(answer.body, events))
        problem = f"gateway answered {answer.status}: {answer.body[:200]!r}"
        if answer.status in (400, 413, 422):
            return DeliveryResult(True, rejected=[problem])
        wait = _float(answer.headers.get("retry-after"), 0.5)
        result = DeliveryResult(False, problem=problem, retry_after=wait)
        if answer.status not in (429, 503) or time.monotonic() + wait >= deadline:
            break
        time.sleep(wait)
    return result


def _rejections(body: bytes, events: list[Event]) -> list[str]:
    try:
        answer = json_loads(body.decode("utf-8", "replace"))
    except ValueError:
        return []
    reasons = []
    for item in answer.get("rejected") or [] if isinstance(answer, dict) else []:
        index = item.get("index")
        known = isinstance(index, int) and 0 <= index < len(events)
        event_type = events[index]["event"]["type"] if known else "?"
        reasons.append(f"event {index} ({event_type}) rejected: {item.get('reason')}")
    return reasons


def split_batches(events: list[Event]) -> list[list[Event]]:
    """Cut a list of envelopes into POST-sized batches (by count and by encoded size)."""
    batches: list[list[Event]] = []
    current: list[Event] = []
    size = 0
    for event in events:
        event_size = len(json_dumps(event))
        if current and (len(current) >= MAX_BATCH_EVENTS or size + event_size > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += event_size
    if current:
        batches.append(current)
    return batches


def deliver(config: HookConfig, events: list[Event], tool: str, spool: Spool | None = None) -> bool:
    """Send spooled events, then ``events``; spool what is not delivered. True if all went.

    While the gateway is down, spooled files are put back untouched and only the new events
    are written, so a long outage costs each hook one small file, not a rewrite of the spool.
    """
    spool = spool or Spool(config.spool_dir, config.spool_max_files)
    claimed = spool.claim()
    pending = [event for _, batch in claimed for event in batch] + events
    if not pending:
        return True
    deadline = time.monotonic() + config.timeout
    delivered_count = 0
    for batch in split_batches(pending):
        result = post_batch(config.ingest_url, config.api_key, batch, deadline)
        for reason in result.rejected:
            log_line(config, tool, reason)
        if not result.delivered:
            log_line(config, tool, f"{result.problem}; spooling")
            break
        delivered_count += len(batch)
    if delivered_count == len(pending):
        Spool.release([path for path, _ in claimed])
        return True
    if delivered_count == 0:
        for path, _ in claimed:
            spool.unclaim(path)
        if events:
            spool.write(events)
    else:
        spool.write(pending[delivered_count:])
        Spool.release([path for path, _ in claimed])
    dropped = spool.trim()
    if dropped:
        log_line(
            config, tool, f"spool over {spool.max_files} batches: dropped the {dropped} oldest"
        )
    return False


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
    config = HookConfig()
    try:
        payload = read_payload(sys.argv, sys.stdin.read, from_argv)
        key = session_of(payload)
        with LockedState(config, tool, key) as state:
            events = mapper(payload, state, config.source(framework), time.time())
        deliver(config, events, tool)
    except MalformedPayload as exc:
        log_line(config, tool, f"malformed input, nothing sent: {exc}")
    except Exception as exc:
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        log_line(config, tool, f"handler failed: {exc!r} at {where.filename}:{where.lineno}")
    finally:
        _answer(answer)
    return 0


def _answer(text: str) -> None:
    """Print what the tool expects on stdout (if anything), even if stdout is gone."""
    if not text:
        return
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        pass
