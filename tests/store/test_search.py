"""Search, on both stores: the same answers to the same questions, paths and commands found as
typed, filters, paging, the per-field limit, and queries made of FTS syntax never failing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentmon.events import Envelope, new_event
from agentmon.store import Store
from agentmon.store import search as search_module
from agentmon.store.search import BadQuery, SearchFilters, parse_query, search, snippet

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(kind: str, t: float, session: str = "s1", **fields: Any) -> Envelope:
    fields.setdefault("framework", "claude-code")
    fields.setdefault("host", "laptop")
    return new_event(kind, session_id=session, ts=at(t), **fields)


def tool(
    t: float,
    span: str,
    name: str,
    given: Any,
    output: Any = None,
    *,
    run_id: str = "r1",
    session: str = "s1",
    source: dict[str, str] | None = None,
    **end: Any,
) -> list[Envelope]:
    start = {"kind": "tool", "name": name, "input": given}
    ended = {**start, "status": "ok", "output": output, **end}
    where = {"run_id": run_id, "span_id": span, **(source or {})}
    return [
        ev("span.start", t, session, payload=start, **where),
        ev("span.end", t + 1, session, payload=ended, **where),
    ]


def fleet() -> list[Envelope]:
    return [
        ev("session.start", 0, payload={"title": "clean up"}),
        ev("run.start", 1, run_id="r1", payload={"input": "Clean the build and deploy to prod"}),
        *tool(2, "t1", "Bash", {"command": "rm -rf build/"}, {"stdout": ""}),
        *tool(4, "t2", "Read", {"file_path": "config/prod.yaml"}, "replicas: 3"),
        *tool(6, "t3", "Bash", {"command": "rm the rf cache"}, "done"),
        *tool(8, "t4", "Read", {"file_path": "config/prod.yml"}, "old"),
        *tool(10, "t5", "Bash", {"command": "cat /etc/shadow"}, None, status="error",
              error="cat: /etc/shadow: Permission denied"),
        ev("error", 11, run_id="r1", span_id="t5",
           payload={"message": "Bash: cat: /etc/shadow: Permission denied"}),
        ev("run.end", 12, run_id="r1",
           payload={"status": "ok", "output": "Deployed; prod config has 3 replicas."}),
        ev("session.start", 20, "s2", framework="codex", host="ci-runner"),
        ev("run.start", 21, "s2", framework="codex", host="ci-runner", run_id="r2",
           payload={"input": "why is permission denied on deploy?"}),
        *tool(22, "t6", "exec", ["ls", "-la", "config/"], "prod.yaml\nstaging.yaml",
              run_id="r2", session="s2", source={"framework": "codex", "host": "ci-runner"}),
        ev("error", 25, "s2", framework="codex", host="ci-runner", run_id="r2",
           payload={"message": "deploy failed: PERMISSION DENIED (publickey)"}),
    ]  # fmt: skip


FLEET = fleet()
LAST_ERROR = "error:" + FLEET[-1].event.id


async def keys(store: Store, q: str, **filters: Any) -> list[str]:
    found, _ = await search(store, store.dialect, parse_query(q), SearchFilters(**filters))
    return [row["doc_key"] for row in found]


@pytest.fixture
async def seeded(store: Store) -> Store:
    await store.write(FLEET)
    return store


async def test_commands_and_paths_are_found_as_typed(seeded: Store) -> None:
    assert await keys(seeded, "rm -rf") == ["span:t1:call"]
    assert await keys(seeded, '"rm -rf build/"') == ["span:t1:call"]
    assert await keys(seeded, "config/prod.yaml") == ["span:t2:call"]
    assert await keys(seeded, "CONFIG/PROD.YAML") == ["span:t2:call"]
    assert await keys(seeded, "/etc/shadow") == ["span:t5:error", "span:t5:call"]
    # words in any order and place; a quoted phrase in sequence
    assert await keys(seeded, "rf rm") == ["span:t3:call", "span:t1:call"]
    assert await keys(seeded, '"rf rm"') == []


async def test_prompts_answers_outputs_and_errors(seeded: Store) -> None:
    assert await keys(seeded, "permission denied") == [
        LAST_ERROR,
        "run:r2:prompt",
        "span:t5:error",
    ]
    assert await keys(seeded, "replicas") == ["run:r1:answer", "span:t2:output"]
    assert await keys(seeded, "deploy", kind="prompt") == ["run:r2:prompt", "run:r1:prompt"]
    assert await keys(seeded, "staging.yaml") == ["span:t6:output"]
    # the last word is a prefix, so a half-typed word already finds
    assert await keys(seeded, "perm", kind="error") == [LAST_ERROR,
                                                        "span:t5:error"]  # fmt: skip
    # the error event on a span and the span's own error are one document: the longer text
    error_rows, _ = await search(seeded, seeded.dialect, parse_query("shadow"), SearchFilters())
    by_key = {row["doc_key"]: row for row in error_rows}
    assert by_key["span:t5:error"]["text"] == "Bash: cat: /etc/shadow: Permission denied"
    assert by_key["span:t5:error"]["tool"] == "Bash"


async def test_filters(seeded: Store) -> None:
    assert await keys(seeded, "permission", framework="codex") == [
        LAST_ERROR,
        "run:r2:prompt",
    ]
    assert await keys(seeded, "permission", host="laptop") == ["span:t5:error"]
    assert await keys(seeded, "permission", session_id="s1") == ["span:t5:error"]
    cut = int(at(15).timestamp() * 1000)
    assert await keys(seeded, "permission", to_ms=cut) == ["span:t5:error"]
    assert await keys(seeded, "permission", from_ms=cut) == [
        LAST_ERROR,
        "run:r2:prompt",
    ]
    assert await keys(seeded, "bash", kind="tool") == ["span:t5:call", "span:t3:call",
                                                       "span:t1:call"]  # fmt: skip


async def test_pages_follow_each_other(seeded: Store) -> None:
    terms = parse_query("config")
    every, _ = await search(seeded, seeded.dialect, terms, SearchFilters(), limit=100)
    position, seen = None, []
    while True:
        rows, more = await search(
            seeded, seeded.dialect, terms, SearchFilters(), position=position, limit=2
        )
        seen += [row["doc_key"] for row in rows]
        if not more:
            break
        position = (int(rows[-1]["ts"]), rows[-1]["doc_key"])
    assert seen == [row["doc_key"] for row in every]
    assert len(seen) >= 4


async def test_a_small_recent_window_gives_the_same_pages(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    terms = parse_query("config")
    wide, _ = await search(seeded, seeded.dialect, terms, SearchFilters(), limit=2)
    monkeypatch.setattr(search_module, "RECENT_PROBE", 3)
    narrow, more = await search(seeded, seeded.dialect, terms, SearchFilters(), limit=2)
    assert [r["doc_key"] for r in narrow] == [r["doc_key"] for r in wide] and more
    assert await keys(seeded, "-q") == [] and await keys(seeded, "conf") != []


async def test_redelivery_adds_nothing_and_late_input_is_indexed(store: Store) -> None:
    await store.write(FLEET)
    await store.write(FLEET)
    assert await keys(store, "rm -rf") == ["span:t1:call"]
    # a span whose start carried no input: the end's input is indexed too
    await store.write([ev("span.start", 30, run_id="r1", span_id="t9",
                          payload={"kind": "tool", "name": "Grep"})])  # fmt: skip
    assert await keys(store, "Grep") == ["span:t9:call"]
    await store.write([ev("span.end", 31, run_id="r1", span_id="t9",
                          payload={"kind": "tool", "name": "Grep",
                                   "input": {"pattern": "TODO"}})])  # fmt: skip
    assert await keys(store, "grep todo") == ["span:t9:call"]


async def test_text_past_the_limit_is_not_indexed(store: Store) -> None:
    store.search_max_chars = 40
    long_output = "x " * 30 + "needle"
    await store.write(tool(1, "t1", "Bash", {"command": "make"}, long_output))
    assert await keys(store, "make") == ["span:t1:call"]
    assert await keys(store, "needle") == []


async def test_retention_removes_documents(seeded: Store) -> None:
    await seeded.prune(int(at(15).timestamp() * 1000))
    assert await keys(seeded, "permission") == [
        LAST_ERROR,
        "run:r2:prompt",
    ]
    assert await keys(seeded, "rm -rf") == []


HOSTILE = [
    '"',
    '""',
    '"unbalanced',
    "*",
    "rm*",
    "a OR b",
    "NOT deploy",
    "NEAR(rm rf)",
    "deploy AND",
    "col:rm",
    "text:rm",
    "^rm",
    "(rm",
    "rm)",
    "{rm}",
    "'rm'",
    "rm -rf'; DROP TABLE search_docs; --",
    "\\",
    "%_%",
    "a & b | !c <-> d:*",
    "ü é ß 東京",
    "x" * 400,
    " ".join(["w"] * 16),
]


@pytest.mark.parametrize("q", HOSTILE)
async def test_queries_made_of_syntax_never_fail(seeded: Store, q: str) -> None:
    try:
        terms = parse_query(q)
    except BadQuery:  # answered as a 400 naming q
        assert not any(ch.isalnum() for ch in q)
        return
    found, _ = await search(seeded, seeded.dialect, terms, SearchFilters())
    assert all(row["doc_key"] for row in found)


@pytest.mark.parametrize(
    ("q", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("-- / ...", "no letters or digits"),
        ("x" * 501, "longer than 500"),
        (" ".join(["w"] * 17), "more than 16"),
    ],
)
def test_unsearchable_queries_are_refused(q: str, problem: str) -> None:
    with pytest.raises(BadQuery, match=problem):
        parse_query(q)


def test_snippet_marks_what_matched() -> None:
    terms = parse_query("rm -rf")
    parts = snippet('{"command": "rm -rf build/"}  and\n more', terms)
    assert [text for text, hit in parts if hit] == ["rm", "-rf"]
    assert "".join(text for text, _ in parts) == '{"command": "rm -rf build/"} and more'
    long = "a " * 400 + "config/prod.yaml" + " b" * 400
    parts = snippet(long, parse_query("config/prod.yaml"))
    assert parts[0] == ("…", False) and parts[-1] == ("…", False)
    assert ("config/prod.yaml", True) in parts


FILTER_CASES = [
    ("permission", {"framework": "codex"}),
    ("permission", {"host": "laptop"}),
    ("permission", {"kind": "error", "host": "ci-runner"}),
    ("bash", {"session_id": "s1"}),
    ("bash", {"session_id": "s1", "kind": "tool", "framework": "claude-code"}),
    ("config", {"kind": "tool", "host": "laptop"}),
    ("deploy", {"framework": "nowhere"}),
    ("perm", {"kind": "error"}),
]


@pytest.mark.parametrize(("q", "filters"), FILTER_CASES)
async def test_filters_give_the_same_answer_by_any_path(
    seeded: Store, monkeypatch: pytest.MonkeyPatch, q: str, filters: dict[str, Any]
) -> None:
    """The newest-documents probe and the index with the filters in it (PostgreSQL), or FTS5
    (SQLite), find what filtering every match one by one finds."""
    every, _ = await search(seeded, seeded.dialect, parse_query(q), SearchFilters(), limit=100)
    expected = [
        row["doc_key"]
        for row in every
        if all(row[column] == value for column, value in filters.items())
    ]
    for probe, limit in itertools.product((10_000, 3, 1), (1, 20)):
        monkeypatch.setattr(search_module, "RECENT_PROBE", probe)
        found, more = await search(
            seeded, seeded.dialect, parse_query(q), SearchFilters(**filters), limit=limit
        )
        assert [row["doc_key"] for row in found] == expected[:limit]
        assert more == (len(expected) > limit)


async def test_the_fts5_index_holds_exactly_the_documents(tmp_path: Any) -> None:
    """SQLite: the batch's new documents reach FTS5 in one statement, changed texts by their
    trigger, removed ones by theirs; FTS5's own check finds index and documents in step."""
    from agentmon.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "fts.db")
    await store.open()
    try:
        await store.write(FLEET[:6])
        await store.write(FLEET)  # the rest, with keys seen before (a span's end, an error)
        await store.write([ev("span.end", 31, run_id="r1", span_id="t1",
                              payload={"kind": "tool", "name": "Bash", "status": "ok",
                                       "input": {"command": "rm -rf build/ dist/"}})])  # fmt: skip
        await store.prune(int(at(1.5).timestamp() * 1000))
        assert await keys(store, "dist") == ["span:t1:call"]
        assert await keys(store, "clean") == []  # the prompt, removed
        await store.execute("INSERT INTO search_fts (search_fts, rank) VALUES "
                            "('integrity-check', 1)", [])  # fmt: skip
    finally:
        await store.close()


class Recording:
    """A store that keeps the SQL and parameters of every query it answers."""

    def __init__(self, store: Store) -> None:
        self.store, self.queries = store, list[tuple[str, list[Any]]]()

    async def fetch(self, sql: str, params: list[Any]) -> list[Any]:
        self.queries.append((sql, params))
        return await self.store.fetch(sql, params)


async def test_postgres_answers_filters_inside_the_gin_index(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filters' expression is migration 019's, so the index takes them with the words (a
    drifted expression would still answer, reading every match of the words)."""
    if seeded.dialect != "postgres":
        pytest.skip("PostgreSQL's GIN index")
    from agentmon.store.postgres import PostgresStore, numbered

    assert isinstance(seeded, PostgresStore)
    monkeypatch.setattr(search_module, "RECENT_PROBE", 1)
    recording = Recording(seeded)
    filters = SearchFilters(kind="error", host="ci-runner")
    await search(recording, "postgres", parse_query("permission"), filters)  # type: ignore[arg-type]
    sql, params = recording.queries[-1]
    async with seeded.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + numbered(sql), *params))
    assert "search_docs_match" in plan
    assert "Index Cond: ((words @@" in plan and "{k:error,h:ci-runner}" in plan


@pytest.mark.parametrize(
    ("filters", "index"),
    [(SearchFilters(host="laptop"), "search_docs_host_ts"),
     (SearchFilters(kind="error"), "search_docs_errors_ts"),
     (SearchFilters(kind="prompt"), "search_docs_ts")],
)  # fmt: skip
async def test_postgres_reads_a_host_or_the_errors_newest_first(
    seeded: Store, filters: SearchFilters, index: str
) -> None:
    """The first look at a host-filtered or error search walks that host's or the errors' own
    time index (migration 019), not the newest documents of all."""
    if seeded.dialect != "postgres":
        pytest.skip("PostgreSQL's indexes")
    from agentmon.store.postgres import PostgresStore, numbered

    assert isinstance(seeded, PostgresStore)
    recording = Recording(seeded)
    await search(recording, "postgres", parse_query("permission"), filters)  # type: ignore[arg-type]
    sql, params = recording.queries[0]
    async with seeded.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + numbered(sql), *params))
    assert f"Index Scan using {index} on search_docs" in plan
