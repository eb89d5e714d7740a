"""Context managers session → run → span that time, correlate and report errors themselves.

    with emitter.session(title="triage") as session:
        with session.run(input="why is CI red?") as run:
            with run.span("tool", "grep", input={"pattern": "FAIL"}) as span:
                span.set_output(result)
            run.usage(input_tokens=1200, output_tokens=300, model="gpt-5.4")
            run.set_output(answer)

Each works with ``with`` and ``async with``. An exception leaving a scope ends it with
status ``error`` (``cancelled`` for cancellation and Ctrl-C), emits one ``error`` event
(only at the innermost scope it crosses) and is re-raised.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentmon.events import new_id
from agentmon.sdk import constructors

if TYPE_CHECKING:
    from agentmon.sdk.emitter import Emitter

_REPORTED = "_agentmon_reported"


def _is_cancellation(exc: BaseException) -> bool:
    return isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError"


class _Scope(ABC):
    """Shared timing and error handling of the three scopes."""

    emitter: Emitter
    session_id: str
    run_id: str | None = None
    span_id: str | None = None

    def __init__(self) -> None:
        self.started = 0.0
        self.output: Any = None

    def set_output(self, output: Any) -> None:
        self.output = output

    def error(self, message: str, *, kind: str | None = None, **payload: Any) -> None:
        """Report an error that did not raise (a failed step the agent recovered from)."""
        self.emitter.emit(
            constructors.error(
                self.emitter.source,
                message,
                kind=kind,
                session_id=self.session_id,
                run_id=self.run_id,
                span_id=self.span_id,
                payload=payload or None,
            )
        )

    def usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        total_tokens: int | None = None,
        cost_usd: float | None = None,
        model: str | None = None,
    ) -> None:
        """Token usage and cost: a ``metric.snapshot``, where agentmon counts usage."""
        counts = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read_tokens,
            "cache_write_tokens": cache_write_tokens,
            "total_tokens": total_tokens,
        }
        self.emitter.emit(
            constructors.metric_snapshot(
                self.emitter.source,
                session_id=self.session_id,
                run_id=self.run_id,
                usage={key: value for key, value in counts.items() if value is not None} or None,
                cost_usd=cost_usd,
                model=model,
            )
        )

    def _elapsed_ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)

    def _outcome(self, exc: BaseException | None) -> tuple[str, str | None]:
        """(status, error text) of a scope ending with ``exc``; reports ``exc`` once."""
        if exc is None:
            return "ok", None
        if _is_cancellation(exc):
            return "cancelled", type(exc).__name__
        text = f"{type(exc).__name__}: {exc}"
        if not getattr(exc, _REPORTED, False):
            self.error(text, kind="exception", exception_type=type(exc).__name__)
            with contextlib.suppress(AttributeError):
                setattr(exc, _REPORTED, True)
        return "error", text

    @abstractmethod
    def _begin(self) -> None:
        """Emit the start event."""

    @abstractmethod
    def _end(self, exc: BaseException | None) -> None:
        """Emit the end event (and the error, if ``exc`` is one)."""

    def __enter__(self) -> Any:
        self.started = time.monotonic()
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end(exc)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end(exc)


class SessionScope(_Scope):
    def __init__(self, emitter: Emitter, session_id: str | None, start: dict[str, Any]) -> None:
        super().__init__()
        self.emitter = emitter
        self.session_id = session_id or new_id()
        self._start = start
        self.end_reason: str | None = None

    def run(
        self, *, input: Any = None, run_id: str | None = None, model: str | None = None
    ) -> RunScope:
        return RunScope(self, run_id or new_id(), input, model)

    def waiting(self, reason: str, message: str | None = None) -> None:
        """The agent waits for a human (cleared by the session's next event)."""
        self.emitter.emit(
            constructors.metric_snapshot(
                self.emitter.source,
                session_id=self.session_id,
                agent_state="waiting_for_human",
                waiting_reason=reason,
                message=message,
            )
        )

    def _begin(self) -> None:
        self.emitter.emit(
            constructors.session_start(self.emitter.source, self.session_id, **self._start)
        )

    def _end(self, exc: BaseException | None) -> None:
        status, _ = self._outcome(exc)
        self.emitter.emit(
            constructors.session_end(
                self.emitter.source,
                self.session_id,
                reason=self.end_reason or status,
                status=status,
                duration_ms=self._elapsed_ms(),
            )
        )


class RunScope(_Scope):
    def __init__(self, session: SessionScope, run_id: str, input: Any, model: str | None) -> None:
        super().__init__()
        self.emitter = session.emitter
        self.session_id = session.session_id
        self.run_id = run_id
        self._input = input
        self._model = model

    def span(
        self, kind: str, name: str | None = None, *, input: Any = None, span_id: str | None = None
    ) -> SpanScope:
        return SpanScope(self, kind, name, input, span_id or new_id(), parent_span_id=None)

    def _begin(self) -> None:
        self.emitter.emit(
            constructors.run_start(
                self.emitter.source,
                self.session_id,
                str(self.run_id),
                input=self._input,
                model=self._model,
            )
        )

    def _end(self, exc: BaseException | None) -> None:
        status, error = self._outcome(exc)
        self.emitter.emit(
            constructors.run_end(
                self.emitter.source,
                self.session_id,
                str(self.run_id),
                status=status,
                output=self.output,
                error=error,
                duration_ms=self._elapsed_ms(),
            )
        )


class SpanScope(_Scope):
    def __init__(
        self,
        run: RunScope,
        kind: str,
        name: str | None,
        input: Any,
        span_id: str,
        *,
        parent_span_id: str | None,
    ) -> None:
        super().__init__()
        self.emitter = run.emitter
        self.session_id = run.session_id
        self.run_id = run.run_id
        self.span_id = span_id
        self.kind = kind
        self.name = name
        self.parent_span_id = parent_span_id
        self._run = run
        self._input = input

    def span(
        self, kind: str, name: str | None = None, *, input: Any = None, span_id: str | None = None
    ) -> SpanScope:
        """A child span (``parent_span_id`` = this span)."""
        return SpanScope(
            self._run, kind, name, input, span_id or new_id(), parent_span_id=self.span_id
        )

    def _begin(self) -> None:
        self.emitter.emit(
            constructors.span_start(
                self.emitter.source,
                self.session_id,
                self.run_id,
                str(self.span_id),
                kind=self.kind,
                name=self.name,
                input=self._input,
                parent_span_id=self.parent_span_id,
            )
        )

    def _end(self, exc: BaseException | None) -> None:
        status, error = self._outcome(exc)
        self.emitter.emit(
            constructors.span_end(
                self.emitter.source,
                self.session_id,
                self.run_id,
                str(self.span_id),
                kind=self.kind,
                name=self.name,
                status=status,
                output=self.output,
                error=error,
                duration_ms=self._elapsed_ms(),
                parent_span_id=self.parent_span_id,
            )
        )
