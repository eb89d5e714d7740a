"""What the fake model servers of tests/real_agents share: a stdlib HTTP server on loopback
run on a thread (start/stop, or a `with` block), a request log, and the JSON and SSE writers.

A fake subclasses `FakeModelServer` and answers in `on_post` (and, if it must, `on_get`);
it logs what it was asked with `record`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class FakeModelServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def root_url(self) -> str:
        assert self.server is not None, "start the fake first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Self:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, entry: dict[str, Any]) -> int:
        """Log one request (thread-safe); its number, from 0."""
        with self.lock:
            self.requests.append(entry)
            return len(self.requests) - 1

    def on_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def on_get(self, handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, 404, {"error": {"message": f"no route {handler.path}"}})


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def send_sse(
    handler: BaseHTTPRequestHandler, messages: Iterable[str], headers: dict[str, str] | None = None
) -> None:
    """A streamed answer: each message written and flushed, then the connection closed."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("connection", "close")
    handler.end_headers()
    for message in messages:
        handler.wfile.write(message.encode())
        handler.wfile.flush()
    handler.close_connection = True


def named_events(events: Iterable[dict[str, Any]]) -> list[str]:
    """SSE messages naming each event by its `type` (the Anthropic and Responses APIs)."""
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events]


def data_events(chunks: Iterable[dict[str, Any]], end: str = "\n\n") -> list[str]:
    """SSE messages of bare `data:` lines (chat completions, Gemini)."""
    return [f"data: {json.dumps(chunk)}{end}" for chunk in chunks]


def _handler_for(fake: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            fake.on_get(self)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            fake.on_post(self, json.loads(self.rfile.read(length) or b"{}"))

    return Handler
