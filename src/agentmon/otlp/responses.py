"""OTLP/HTTP answers: Export*ServiceResponse on success, a google.rpc.Status otherwise.

Both are written in the request's encoding. `google.rpc.Status` is not part of
opentelemetry-proto, so its two fields used here (code, message) are declared in a private
descriptor pool, wire- and JSON-compatible with googleapis' definition.
"""

from __future__ import annotations

import math

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from starlette.responses import Response

from agentmon.otlp.decode import Encoding

GRPC_CODES = {400: 3, 413: 8, 415: 3, 429: 8, 503: 14}
"""HTTP status → google.rpc.Code (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE)."""


def _status_message_class() -> type[Message]:
    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="agentmon/otlp/google_rpc_status.proto", package="google.rpc", syntax="proto3"
    )
    status = proto.message_type.add(name="Status")
    status.field.add(
        name="code", number=1, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL, json_name="code"
    )
    status.field.add(
        name="message",
        number=2,
        type=field.TYPE_STRING,
        label=field.LABEL_OPTIONAL,
        json_name="message",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    message_class: type[Message] = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("google.rpc.Status")
    )
    return message_class


StatusMessage = _status_message_class()


def encode(message: Message, encoding: Encoding) -> bytes:
    if encoding is Encoding.PROTOBUF:
        data: bytes = message.SerializeToString()
        return data
    return str(json_format.MessageToJson(message, indent=None)).encode()


def message_response(message: Message, encoding: Encoding, status: int = 200) -> Response:
    return Response(encode(message, encoding), status_code=status, media_type=encoding.content_type)


def status_response(
    status: int, text: str, encoding: Encoding, retry_after: float | None = None
) -> Response:
    body = StatusMessage(code=GRPC_CODES.get(status, 2), message=text)
    response = message_response(body, encoding, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response
