"""NATS JetStream: a durable file-backed stream, one shared durable pull consumer.

One message carries a whole batch of envelopes (JSON array), because JetStream from Python
moves tens of thousands of messages a second, not hundreds of thousands. Newly stored events
are announced on the core subject `<topic>.stored` for the query API's live feed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from agentmon.config import Settings
from agentmon.events import Envelope, decode_many, encode, encode_many
from agentmon.intake import IntakeUnavailable

log = logging.getLogger("agentmon.bus.nats")

MAX_MESSAGE_BYTES = 900_000  # under the server's default 1 MiB max_payload
PUBLISH_TIMEOUT_S = 5.0


def split_for_messages(events: list[Envelope]) -> list[bytes]:
    """Encode events into as few messages as fit under MAX_MESSAGE_BYTES."""
    messages: list[bytes] = []
    current: list[bytes] = []
    size = 2
    for event in events:
        data = encode(event)
        if current and size + len(data) + 1 > MAX_MESSAGE_BYTES:
            messages.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
        current.append(data)
        size += len(data) + 1
    if current:
        messages.append(b"[" + b",".join(current) + b"]")
    return messages


class NatsBus:
    def __init__(self, settings: Settings) -> None:
        if not settings.nats_url:
            raise ValueError("NATS_URL is not set")
        self.url = settings.nats_url
        self.topic = settings.nats_topic
        self.stream = settings.nats_stream
        self.consumer = settings.nats_consumer
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    @property
    def live_subject(self) -> str:
        return f"{self.topic}.stored"

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "not connected"
        return self._js

    @property
    def nc(self) -> Client:
        assert self._nc is not None, "not connected"
        return self._nc

    async def connect(self, timeout: float = 5.0) -> None:
        """Connect (failing after `timeout` if NATS cannot be reached), then keep reconnecting."""
        try:
            self._nc = await asyncio.wait_for(
                nats.connect(
                    self.url, name="agentmon", max_reconnect_attempts=-1, reconnect_time_wait=1
                ),
                timeout,
            )
        except (TimeoutError, OSError, nats.errors.NoServersError) as exc:
            raise ConnectionError(
                f"cannot reach NATS at {self.url}: {exc or 'timed out'}"
            ) from None
        self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
        await self._ensure_stream()

    async def _ensure_stream(self) -> None:
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[self.topic],
                    storage=StorageType.FILE,
                    duplicate_window=120,
                )
            )

    async def close(self) -> None:
        # close, not drain: every publish was already acknowledged, and an unacked pull
        # message is simply redelivered to another processor
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
        self._nc = None

    # --- Intake (the ingest gateway's side) --------------------------------------------

    async def accept(self, events: list[Envelope]) -> None:
        if self._nc is None or not self._nc.is_connected:
            raise IntakeUnavailable("not connected to NATS", retry_after=2.0)
        try:
            for data in split_for_messages(events):
                msg_id = hashlib.blake2b(data, digest_size=16).hexdigest()
                await self.js.publish(self.topic, data, headers={"Nats-Msg-Id": msg_id})
        except Exception as exc:
            raise IntakeUnavailable(f"JetStream did not acknowledge: {exc}", 2.0) from exc

    async def health(self) -> dict[str, str]:
        if self._nc is None or not self._nc.is_connected:
            return {"bus": "error: not connected to NATS"}
        try:
            await self.js.stream_info(self.stream)
        except Exception as exc:
            return {"bus": f"error: {exc}"}
        return {"bus": "ok"}

    # --- the processor's side ----------------------------------------------------------

    async def pull_subscription(self) -> Any:
        config = ConsumerConfig(
            durable_name=self.consumer,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=20_000,
        )
        return await self.js.pull_subscribe(
            self.topic, durable=self.consumer, stream=self.stream, config=config
        )

    async def announce_stored(self, events: list[Envelope]) -> None:
        for data in split_for_messages(events):
            await self.nc.publish(self.live_subject, data)

    # --- the query API's side ----------------------------------------------------------

    async def follow_stored(
        self, handler: Callable[[list[Envelope]], Awaitable[None] | None]
    ) -> None:
        async def on_message(msg: Any) -> None:
            try:
                outcome = handler(decode_many(msg.data))
                if outcome is not None:
                    await outcome
            except Exception:
                log.exception("bad live message")

        await self.nc.subscribe(self.live_subject, cb=on_message)


__all__ = ["NatsBus", "encode_many", "split_for_messages"]
