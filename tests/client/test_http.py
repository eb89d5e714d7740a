"""The small HTTP client: answers parsed, the urllib path for https, failures as OSError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_helpers import envelope

from agentmon.client.http import http_post, parse_response, post_with_urllib
from agentmon.client.jsonio import json_dumps

JSON = {"Content-Type": "application/json"}


def test_reads_chunked_and_plain_answers() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked = head + b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
    assert json.loads(parse_response(chunked).body) == {"a": 1}
    plain = parse_response(b"HTTP/1.1 503 Busy\r\nRetry-After: 2\r\n\r\nbusy")
    assert (plain.status, plain.headers["retry-after"], plain.body) == (503, "2", b"busy")
    with pytest.raises(OSError):
        parse_response(b"garbage")


@pytest.mark.parametrize("post", [http_post, post_with_urllib])
def test_both_transports_speak_to_the_real_gateway(embedded_server: Any, post: Any) -> None:
    url = f"{embedded_server.ingest_url}/v1/events"
    answer = post(url, json_dumps([envelope("http")]).encode(), JSON, 5.0)
    assert answer.status == 200
    assert json.loads(answer.body)["accepted"] == 1
    bad = post(url, b"{", JSON, 5.0)
    assert 400 <= bad.status < 500


def test_an_unreachable_gateway_is_an_os_error(unused_port: int) -> None:
    with pytest.raises(OSError):
        http_post(f"http://127.0.0.1:{unused_port}/v1/events", b"[]", JSON, 1.0)
    with pytest.raises(OSError):
        http_post("ftp://127.0.0.1/v1/events", b"[]", JSON, 1.0)
