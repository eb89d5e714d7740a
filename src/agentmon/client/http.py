"""A minimal HTTP/1.1 POST for producers that must start fast.

Plain ``http://`` gateways get a small client over ``_socket``: ``urllib`` and
``http.client`` import ``email``, ``re`` and more than a hook handler's whole run costs, and
a ``str`` host name makes the socket module load the IDNA codec. ``https://`` goes through
``urllib`` (TLS costs more than those imports anyway). The whole exchange is bounded by one
timeout; a server that cannot be reached or answer in time is an ``OSError``.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class HttpAnswer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    """POST ``body``; raise OSError when the server cannot be reached in ``timeout`` s."""
    scheme, _, rest = url.partition("://")
    if scheme == "https":
        return post_with_urllib(url, body, headers, timeout)
    if scheme != "http":
        raise OSError(f"unsupported URL scheme in {url!r}")
    authority, _, path = rest.partition("/")
    host, port = _split_authority(authority)
    lines = [f"POST /{path} HTTP/1.1", f"Host: {authority}", f"Content-Length: {len(body)}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines += ["Connection: close", "", ""]
    return parse_response(_exchange(host, port, "\r\n".join(lines).encode() + body, timeout))


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
            _send_all(connection, request)
            return _read_all(connection, deadline)
        except OSError as exc:
            last_error = exc
        finally:
            connection.close()
    raise last_error


def _send_all(connection: Any, request: bytes) -> None:
    """Send the request; a server may answer early (e.g. 413 once it has read the headers)
    and close while the body is still going: then its answer, not the reset, is what counts,
    so a failed send is an error only when no answer was received."""
    try:
        connection.sendall(request)
    except (BrokenPipeError, ConnectionResetError):
        import _socket

        connection.settimeout(0.5)
        if not connection.recv(1, _socket.MSG_PEEK):
            raise


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


def parse_response(raw: bytes) -> HttpAnswer:
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


def post_with_urllib(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
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
