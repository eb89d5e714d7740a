"""One admission for every ingest path of a process, against a real `agentmon serve`: while
the process is full (AGENTMON_INGEST_MAX_IN_FLIGHT=1 and one POST held open mid-body), a
WebSocket ingest frame is answered with a 503 frame naming `retry_after` (the connection
stays open, frames before it stay stored), and an OTLP/gRPC Export ends UNAVAILABLE with a
`google.rpc.RetryInfo` where the OTLP exporters look for it. Once the held POST completes,
the same frame and the same Export are taken, and every accepted event is stored once.
Nothing timed: the hold is a request whose body has not all arrived."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import grpc
import httpx
import msgspec
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from tests.conftest import ServerProcess, free_port, start_embedded, wait_until
from websockets.sync.client import ClientConnection, connect

from agentmon.events import new_event, to_dict

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture(scope="module")
def full_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    data_dir = tmp_path_factory.mktemp("admission") / "data"
    grpc_addr = f"127.0.0.1:{free_port()}"
    env = {
        "AGENTMON_OTLP_GRPC_ADDR": grpc_addr,
        "AGENTMON_INGEST_MAX_IN_FLIGHT": "1",
        # only the in-flight bound refuses here, however loaded the machine running the test
        "AGENTMON_INGEST_MAX_LAG": "60s",
    }
    server = start_embedded(data_dir, env=env)
    wait_until(lambda: "otlp-grpc listening" in server.log(), 30, "the gRPC port")
    yield server, grpc_addr
    server.stop()


class HeldPost:
    """A POST to /v1/events whose body is sent in two parts: until the second, the gateway
    has it in flight (admitted, reading its body)."""

    def __init__(self, ingest_url: str, session_id: str) -> None:
        host, port = ingest_url.removeprefix("http://").split(":")
        self.body = msgspec.json.encode(
            [to_dict(new_event("session.start", framework="pytest", session_id=session_id))]
        )
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        head = (
            "POST /v1/events HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + self.body[:10])

    def finish(self) -> str:
        self.sock.sendall(self.body[10:])
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(65536)
        self.sock.close()
        return answer.split(b"\r\n", 1)[0].decode()


def refused_post(ingest_url: str) -> bool:
    return httpx.post(f"{ingest_url}/v1/events", json=[]).status_code == 503


def frame(session_id: str) -> str:
    event = to_dict(new_event("session.start", framework="pytest", session_id=session_id))
    return msgspec.json.encode(event).decode()


def ask(ws: ClientConnection, text: str) -> dict[str, object]:
    ws.send(text)
    answer: dict[str, object] = msgspec.json.decode(ws.recv(timeout=30))
    return answer


def spans_request(conversation: str) -> bytes:
    span = Span(
        trace_id=uuid.uuid4().bytes,
        span_id=uuid.uuid4().bytes[:8],
        name="chat claude-sonnet-4-6",
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
    )
    span.attributes.add(key="gen_ai.operation.name").value.string_value = "chat"
    span.attributes.add(key="gen_ai.conversation.id").value.string_value = conversation
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def stored(server: ServerProcess, session_id: str) -> list[str]:
    answer = httpx.get(f"{server.query_url}/v1/events", params={"session_id": session_id})
    assert answer.status_code == 200, answer.text
    return [event["event"]["id"] for event in answer.json()["events"]]


def test_a_websocket_frame_while_the_process_is_full_gets_a_503_frame_and_keeps_the_rest(
    full_server: tuple[ServerProcess, str],
) -> None:
    server, _ = full_server
    ws_url = server.ingest_url.replace("http://", "ws://") + "/v1/ws"
    before, during, held_session = (f"ws-{n}-{uuid.uuid4()}" for n in ("before", "during", "held"))
    with connect(ws_url, open_timeout=30) as ws:
        assert ask(ws, frame(before))["accepted"] == 1
        held = HeldPost(server.ingest_url, held_session)
        wait_until(lambda: refused_post(server.ingest_url), 30, "the held POST in flight")
        during_frame = frame(during)
        refused = ask(ws, during_frame)
        assert refused == {
            "error": "1 requests are being handled; retry shortly",
            "status": 503,
            "retry_after": 1,
        }
        assert held.finish() == "HTTP/1.1 200 OK"
        assert ask(ws, during_frame)["accepted"] == 1  # the same connection, the same frame
    wait_until(lambda: len(stored(server, during)) == 1, 30, "the retried frame stored")
    assert len(stored(server, before)) == 1
    assert len(stored(server, held_session)) == 1
    assert len(stored(server, during)) == 1


def test_a_grpc_export_while_the_process_is_full_is_unavailable_with_retry_info(
    full_server: tuple[ServerProcess, str],
) -> None:
    server, grpc_addr = full_server
    conversation = f"grpc-full-{uuid.uuid4()}"
    request = spans_request(conversation)
    with grpc.insecure_channel(grpc_addr) as channel:
        export = channel.unary_unary(TRACE_EXPORT)
        held = HeldPost(server.ingest_url, f"grpc-held-{uuid.uuid4()}")
        wait_until(lambda: refused_post(server.ingest_url), 30, "the held POST in flight")
        with pytest.raises(grpc.RpcError) as refused:
            export(request, timeout=30)
        error: grpc.Call = refused.value
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "1 requests are being handled" in (error.details() or "")
        trailing = dict(error.trailing_metadata() or ())
        retry = RetryInfo.FromString(trailing["google.rpc.retryinfo-bin"])
        assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (1, 0)
        status = Status.FromString(trailing["grpc-status-details-bin"])
        assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
        (detail,) = status.details
        unpacked = RetryInfo()
        assert detail.Unpack(unpacked) and unpacked == retry
        assert held.finish() == "HTTP/1.1 200 OK"
        export(request, timeout=30)  # admitted now
    wait_until(lambda: len(stored(server, conversation)) >= 1, 30, "the exported span stored")
