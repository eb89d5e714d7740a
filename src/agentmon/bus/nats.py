"""NATS JetStream: a durable file-backed stream, one shared durable pull consumer.

One message carries a whole batch of envelopes (JSON array), because JetStream from Python
moves tens of thousands of messages a second, not hundreds of thousands. Newly stored events
are announced on the core subject `<topic>.stored` for the query API's live feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError

from agentmon.config import Settings
from agentmon.events import Envelope, decode_many, encode, encode_many
from agentmon.intake import IntakeUnavailable

log = logging.getLogger("agentmon.bus.nats")

STREAM_DESCRIPTION = "agentmon events"
DEFAULT_STREAM = "AGENTMON_EVENTS"
# a warning is logged once the unprocessed backlog reaches this share of a stream limit,
# because beyond the limit JetStream discards the oldest messages, processed or not
LAG_WARNING_SHARE = 0.8
DUPLICATE_WINDOW_S = 120.0  # JetStream refuses a window longer than the stream's max age
MAX_MESSAGE_BYTES = 900_000  # under the server's default 1 MiB max_payload
PUBLISH_TIMEOUT_S = 5.0
PUBLISH_WINDOW = 16
"""Publishes of one `accept` awaiting their acks at once (a large body makes many messages)."""
MAX_IN_FLIGHT_EVENTS = 50_000
"""Events a gateway holds waiting for JetStream's acks; beyond it new batches get 503 and
Retry-After, so a slow bus costs callers a retry instead of costing the gateway memory."""


def split_for_messages(events: list[Envelope]) -> list[bytes]:
    """Encode events into as few messages as fit under MAX_MESSAGE_BYTES: the common batch,
    which fits in one, with one encode call for the whole list (the same bytes as joining
    each event's encoding, so a retried batch keeps its message id)."""
    whole = encode_many(events)
    if len(whole) <= MAX_MESSAGE_BYTES:
        return [whole]
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


def _first(exc: BaseException) -> BaseException:
    """The first failure inside a task group's ExceptionGroup, or `exc` itself."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _log_nats_error(exc: Exception) -> None:
    # one line, not the client library's traceback for every failed (re)connect attempt
    log.warning("NATS: %s", exc or type(exc).__name__)


class StreamMismatch(RuntimeError):
    """The configured stream cannot serve agentmon: someone else's that does not take our
    topic, or one that cannot be created with the copies asked for."""


def subject_covers(pattern: str, subject: str) -> bool:
    """Whether the NATS subject `pattern` (with `*` and `>` wildcards) matches `subject`."""
    wanted, given = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or (token != "*" and token != given[index]):
            return False
    return len(wanted) == len(given)


@dataclass(frozen=True)
class Lag:
    """What the processors have not yet done, against the stream's limits."""

    pending: int
    oldest_age_s: float
    stream_bytes: int

    def warnings(self, max_age_s: float, max_bytes: int) -> list[str]:
        found = []
        if max_age_s > 0 and self.oldest_age_s >= LAG_WARNING_SHARE * max_age_s:
            found.append(
                f"the oldest unprocessed message is {self.oldest_age_s:.0f}s old; "
                f"JetStream discards it at {max_age_s:.0f}s (AGENTMON_NATS_MAX_AGE)"
            )
        if max_bytes > 0 and self.pending and self.stream_bytes >= LAG_WARNING_SHARE * max_bytes:
            found.append(
                f"the stream holds {self.stream_bytes} bytes with {self.pending} messages "
                f"unprocessed; beyond {max_bytes} (AGENTMON_NATS_MAX_BYTES) the oldest are "
                "discarded"
            )
        return found


class NatsBus:
    def __init__(self, settings: Settings) -> None:
        if not settings.nats_url:
            raise ValueError("NATS_URL is not set")
        self.url = settings.nats_url
        self.topic = settings.nats_topic
        self.stream = settings.nats_stream
        self.consumer = settings.nats_consumer
        self.max_age_s = settings.nats_max_age
        self.max_bytes = settings.nats_max_bytes
        self.replicas = settings.nats_replicas
        self.ack_wait_s = settings.nats_ack_wait
        self.max_in_flight_events = MAX_IN_FLIGHT_EVENTS
        self._in_flight = 0
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
                    [url.strip() for url in self.url.split(",")],  # nats-py wants a list
                    name="agentmon",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=_log_nats_error,
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
        """Create the stream with its limits, or bring agentmon's existing one up to date."""
        wanted = StreamConfig(
            name=self.stream,
            description=STREAM_DESCRIPTION,
            subjects=[self.topic],
            storage=StorageType.FILE,
            duplicate_window=min(DUPLICATE_WINDOW_S, self.max_age_s or DUPLICATE_WINDOW_S),
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            num_replicas=self.replicas,
        )
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:
            await self._add_stream(wanted)
            return
        config = info.config
        if (config.num_replicas or 1) != self.replicas:
            # changing the copies of an existing stream moves its data: the operator's call
            log.warning(
                "stream %s keeps %d copies, AGENTMON_NATS_REPLICAS asks for %d; left as it is "
                "(nats stream edit %s --replicas %d changes it)",
                self.stream,
                config.num_replicas or 1,
                self.replicas,
                self.stream,
                self.replicas,
            )
        subjects = list(config.subjects or [])
        covered = any(subject_covers(pattern, self.topic) for pattern in subjects)
        if not covered and not self._is_own(config):
            raise StreamMismatch(
                f"JetStream stream {self.stream!r} (AGENTMON_NATS_STREAM) does not take subject "
                f"{self.topic!r} (NATS_TOPIC) and is not agentmon's: its subjects are "
                f"{subjects}; set NATS_TOPIC to one of them or AGENTMON_NATS_STREAM to another name"
            )
        changed = (
            not covered or config.max_age != self.max_age_s or config.max_bytes != self.max_bytes
        )
        if changed:
            config.subjects = subjects if covered else [*subjects, self.topic]
            config.max_age, config.max_bytes = self.max_age_s, self.max_bytes
            if self.max_age_s and (config.duplicate_window or 0) > self.max_age_s:
                config.duplicate_window = self.max_age_s
            config.description = STREAM_DESCRIPTION
            await self.js.update_stream(config)
            log.info(
                "stream %s updated: subjects %s, max age %gs, max bytes %d",
                self.stream,
                config.subjects,
                self.max_age_s,
                self.max_bytes,
            )

    async def _add_stream(self, wanted: StreamConfig) -> None:
        try:
            await self.js.add_stream(wanted)
        except APIError as exc:
            if self.replicas == 1:
                raise
            raise StreamMismatch(
                f"cannot create JetStream stream {self.stream!r} with {self.replicas} copies "
                f"(AGENTMON_NATS_REPLICAS): {exc.description or exc}; a single server or a "
                f"cluster of fewer than {self.replicas} servers needs AGENTMON_NATS_REPLICAS=1"
            ) from None

    def _is_own(self, config: StreamConfig) -> bool:
        return config.description == STREAM_DESCRIPTION or self.stream == DEFAULT_STREAM

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
        if self._in_flight + len(events) > self.max_in_flight_events:
            raise IntakeUnavailable(
                f"{self._in_flight} events are waiting for JetStream; retry shortly", 1.0
            )
        self._in_flight += len(events)
        try:
            await self._publish_all(split_for_messages(events))
        except Exception as exc:
            raise IntakeUnavailable(f"JetStream did not acknowledge: {_first(exc)}", 2.0) from exc
        finally:
            self._in_flight -= len(events)

    async def _publish_all(self, messages: list[bytes]) -> None:
        """Up to PUBLISH_WINDOW publishes awaiting their acks at once; returns when every
        message is acknowledged, and on the first failure cancels the rest and raises."""
        window = asyncio.Semaphore(PUBLISH_WINDOW)

        async def publish(data: bytes) -> None:
            msg_id = hashlib.blake2b(data, digest_size=16).hexdigest()
            async with window:
                await self.js.publish(self.topic, data, headers={"Nats-Msg-Id": msg_id})

        if len(messages) == 1:  # the common case: no task to create
            await publish(messages[0])
            return
        async with asyncio.TaskGroup() as group:
            for data in messages:
                group.create_task(publish(data))

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
            ack_wait=self.ack_wait_s,
            max_ack_pending=20_000,
        )
        await self._update_ack_wait()
        return await self.js.pull_subscribe(
            self.topic, durable=self.consumer, stream=self.stream, config=config
        )

    async def _update_ack_wait(self) -> None:
        """An existing durable consumer keeps the config it was created with: bring its ack
        wait to AGENTMON_NATS_ACK_WAIT (JetStream updates a consumer added again under its
        name with an edited config)."""
        try:
            info = await self.js.consumer_info(self.stream, self.consumer)
        except NotFoundError:
            return  # pull_subscribe creates it with the setting
        config = info.config
        if config.ack_wait is not None and abs(config.ack_wait - self.ack_wait_s) < 0.001:
            return
        log.info(
            "consumer %s: ack wait %ss -> %gs (AGENTMON_NATS_ACK_WAIT)",
            self.consumer,
            config.ack_wait,
            self.ack_wait_s,
        )
        config.ack_wait = self.ack_wait_s
        await self.js.add_consumer(self.stream, config=config)

    async def announce_stored(self, events: list[Envelope]) -> None:
        for data in split_for_messages(events):
            await self.nc.publish(self.live_subject, data)

    async def lag(self) -> Lag:
        """The shared consumer's backlog: messages not yet delivered or not yet acked."""
        consumer = await self.js.consumer_info(self.stream, self.consumer)
        stream = await self.js.stream_info(self.stream)
        pending = (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
        oldest_age = 0.0
        if pending and consumer.ack_floor is not None:
            oldest_seq = max(consumer.ack_floor.stream_seq or 0, stream.state.first_seq - 1) + 1
            with contextlib.suppress(NotFoundError):
                oldest = await self.js.get_msg(self.stream, oldest_seq)
                if oldest.time is not None:
                    oldest_age = max(0.0, time.time() - oldest.time.timestamp())
        return Lag(pending, oldest_age, stream.state.bytes)

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


__all__ = ["Lag", "NatsBus", "StreamMismatch", "encode_many", "split_for_messages"]
