"""Hermes Agent history for ``agentmon import``: its SQLite state's rows → events (the
database is read by ``agentmon.importer.hermes_db``).

``$HERMES_HOME/state.db`` (default ``~/.hermes/state.db``) and each profile's
``profiles/<name>/state.db``, opened read-only. A ``sessions`` row is a session (``cwd``,
``title``, ``model``, ``parent_session_id``, times in epoch seconds); its active ``messages``
rows give the runs (one per ``user`` message) and the tool spans (``tool`` messages, by
``tool_call_id``). Hermes keeps tokens per session, not per call, so a session's usage is
one ``metric.snapshot`` of its totals (``session_model_usage`` per model when present), with
``actual_cost_usd`` as the reported cost; only sessions that have ended are imported, since
an open session's totals still grow and a second import must not add them again.

With the hooks (``integrations/hermes.py``): a run's id is derived from its prompt's text and
how many prompts of that text came before it, as the hooks derive it, and the usage the
hooks reported for the session (the ledger in their saved state) is taken off the
database's totals, so a session seen by both stores each run and token once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentmon.integrations._history import HistoryReplay
from agentmon.integrations._prompt_keys import prompt_run_key
from agentmon.integrations._tracker import clip
from agentmon.integrations.claude_history import SessionImport

FRAMEWORK = "hermes"
USAGE_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

Row = dict[str, Any]


def default_roots(env: dict[str, str]) -> list[Path]:
    if env.get("HERMES_HOME"):
        return [Path(env["HERMES_HOME"]).expanduser()]
    return [Path(env.get("HOME") or str(Path.home())).expanduser() / ".hermes"]


def replay_session(
    row: Row,
    messages: list[Row],
    models: list[Row],
    source: dict[str, str],
    reported: dict[str, dict[str, int]] | None = None,
) -> SessionImport:
    """One ended session's events: its row, its active messages in order, its usage (less
    what the hooks `reported` per model)."""
    replay = _Replay(row, source)
    for message in messages:
        replay.message(message)
    replay.usage(row, models, reported or {})
    replay.close(ended=True)
    return SessionImport(replay.tracker.events, {}, len(messages) + 1)


def _counts(row: Row) -> dict[str, int]:
    return {name: int(row.get(name) or 0) for name in USAGE_COLUMNS if row.get(name)}


def _unreported(
    parts: list[tuple[Any, dict[str, int], Row]], reported: dict[str, dict[str, int]]
) -> list[tuple[Any, dict[str, int], Row, bool]]:
    """Each model's counts less what the hooks reported for it (a model the hooks named
    otherwise is taken off the largest row); whether anything was taken off."""
    left = {str(model): dict(counts) for model, counts, _row in parts}
    for model, counts in reported.items():
        target = model if model in left else max(left, key=lambda m: sum(left[m].values()))
        for name, count in counts.items():
            if name in USAGE_COLUMNS:
                left[target][name] = max(left[target].get(name, 0) - int(count), 0)
    return [
        (model, {k: v for k, v in left[str(model)].items() if v}, row, left[str(model)] != counts)
        for model, counts, row in parts
    ]


class _Replay(HistoryReplay):
    def __init__(self, row: Row, source: dict[str, str]) -> None:
        super().__init__(
            str(row["id"]),
            source,
            float(row.get("started_at") or 0),
            row.get("cwd"),
            title=row.get("title"),
            model=row.get("model"),
            parent_session_id=row.get("parent_session_id"),
            git_branch=row.get("git_branch"),
        )
        self.row = row

    def message(self, message: Row) -> None:
        if message.get("timestamp") is not None:
            self.tracker.now = float(message["timestamp"])
        role, key = message.get("role"), str(message["id"])
        if role == "user":
            if self.tracker.state.get("run"):
                self.tracker.end_run(status="ok", output=clip(self.last_text))
            prompt = message.get("content")
            counts = self.tracker.state.setdefault("prompt_counts", {})
            run_key = prompt_run_key(counts, prompt) if isinstance(prompt, str) else f"run:{key}"
            run_id = self.tracker.span_id_for(run_key)
            self.tracker.start_run(run_id, input=clip(message.get("content")))
            self.last_text = None
        elif role == "assistant":
            self.last_text = message.get("content") or self.last_text
        elif role == "tool":
            call = str(message.get("tool_call_id") or key)
            name = str(message.get("tool_name") or "tool")
            span = f"tool:{call}"
            self.tracker.start_span(span, kind="tool", name=name, once=True)
            self.tracker.end_span(
                span, kind="tool", name=name, once=True, output=clip(message.get("content"))
            )

    def usage(self, row: Row, models: list[Row], reported: dict[str, dict[str, int]]) -> None:
        """The session's tokens: per model when Hermes kept them so, else its totals; less
        what the hooks reported (then the cost is left to estimate: part of it is theirs)."""
        self.tracker.now = float(row.get("ended_at") or self.tracker.now)
        parts = [(m.get("model") or row.get("model"), _counts(m), m) for m in models]
        if not parts:
            parts = [(row.get("model"), _counts(row), row)]
        for model, counts, source_row, shared in _unreported(parts, reported):
            cost = None if shared else source_row.get("actual_cost_usd")
            if not counts:
                continue
            self.tracker.usage(
                counts,
                model=model,
                provider=source_row.get("billing_provider"),
                cost_usd=float(cost) if isinstance(cost, int | float) else None,
                event_id=self.tracker.event_id_for("usage", str(model)),
            )
