"""Full-text search over prompts, answers, tool calls and their output, and error messages.

Write side: each new event yields at most a few documents (one per searchable field), upserted
into `search_docs` inside the write transaction (`write_sqlite`; on PostgreSQL as part of the
store's one statement for all of a batch's upserts, by `upsert_sql`). SQLite indexes them with
FTS5 (the batch's new rows in one statement, migration 019), PostgreSQL with a tsvector and GIN
(migration 011); in both a word is a run of letters and digits.

Read side: a query is words and "quoted phrases", all of which must match. A word with
punctuation in it (`config/prod.yaml`, `-rf`) matches its letter-and-digit words in sequence
and must then appear as typed (case aside); the last word of an unquoted term, of 3 letters or
more, also matches as a prefix. Hits come newest first, with a snippet whose matches are marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agentmon.events import Envelope, EventType, ts_to_ms

if TYPE_CHECKING:
    from agentmon.store.queries import Queries

KINDS = ("prompt", "answer", "tool", "error")
DEFAULT_MAX_CHARS = 8192  # AGENTMON_SEARCH_MAX_CHARS: text indexed per field at most (0: none)
# a PostgreSQL tsvector holds at most 1 MB: a field past this is cut here whatever the setting
LONGEST_SEARCH_TEXT = 100_000
MAX_FIELD = LONGEST_SEARCH_TEXT  # a field's text before the store's own limit cuts it
MAX_QUERY_CHARS = 500
MAX_TERMS = 16
# a shorter last word is matched whole: `-q` or `rm` as a prefix would match thousands of words
MIN_PREFIX = 3
SNIPPET_CHARS = 240
COLUMNS = ("doc_key", "kind", "ts", "session_id", "run_id", "span_id", "framework", "host", "tool")
_ALL_COLUMNS = (*COLUMNS, "text")
DOC_COLUMNS = _ALL_COLUMNS  # a document's columns, in a Doc's order
DOCS_TABLE = "search_docs"
# a key seen again (a span's end after its start, an error event on a failed span) takes the
# longer text and a tool name it lacked; otherwise the row is left alone
_CONFLICT = (
    "ON CONFLICT (doc_key) DO UPDATE SET "
    "text = CASE WHEN length(excluded.text) > length(search_docs.text) "
    "THEN excluded.text ELSE search_docs.text END, "
    "tool = coalesce(search_docs.tool, excluded.tool) "
    "WHERE length(excluded.text) > length(search_docs.text) "
    "OR (search_docs.tool IS NULL AND excluded.tool IS NOT NULL)"
)


def upsert_sql(source: str) -> str:
    """`INSERT INTO search_docs (DOC_COLUMNS) <source> ON CONFLICT …`, as the read models'
    `Table.upsert_sql`: the source is `VALUES (…)` on SQLite, an `unnest` on PostgreSQL."""
    return f"INSERT INTO {DOCS_TABLE} ({', '.join(_ALL_COLUMNS)}) {source} {_CONFLICT}"


SQLITE_UPSERT = upsert_sql(f"VALUES ({', '.join('?' * len(_ALL_COLUMNS))})")
_WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_SPACE = re.compile(r"\s+")

Doc = tuple[Any, ...]  # COLUMNS + text


# --- write side ------------------------------------------------------------------------


def text_of(value: Any, max_chars: int) -> str:
    """The searchable text of a payload value: a string as is, otherwise its scalar leaves
    (keys left out) one per line; NUL removed, cut at `max_chars`."""
    if isinstance(value, str):
        return value[:max_chars].replace("\x00", "")
    parts: list[str] = []
    size = 0
    stack = [value]
    while stack and size < max_chars:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item) + 1
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif item is not None:
            parts.append(str(item).lower())
            size += len(parts[-1]) + 1
    return "\n".join(parts)[:max_chars].replace("\x00", "")


def documents(events: list[Envelope], max_chars: int) -> list[Doc]:
    """The batch's documents, one per key (merged as the upsert merges), in key order."""
    docs: dict[str, Doc] = {}
    if max_chars <= 0:
        return []
    for event in events:
        if event.event.type not in _INDEXED:
            continue
        for doc in _documents_of(event, max_chars):
            held = docs.get(doc[0])
            docs[doc[0]] = doc if held is None else _merged(held, doc)
    return [docs[key] for key in sorted(docs)]


def _merged(held: Doc, new: Doc) -> Doc:
    """As the upsert merges: the first row, with the longer text and a tool name."""
    text = new[-1] if len(new[-1]) > len(held[-1]) else held[-1]
    return (*held[:-2], held[-2] or new[-2], text)


_INDEXED = frozenset(
    (
        EventType.RUN_START,
        EventType.RUN_END,
        EventType.SPAN_START,
        EventType.SPAN_END,
        EventType.ERROR,
    )
)


Field = tuple[str, str, Any, str | None, Any]


def _fields_of(event: Envelope) -> list[Field]:
    """(key, kind, value, span id, tool name) for each field of the event that is searched."""
    kind, payload, c = event.event.type, event.payload, event.correlation
    run = c.run_id or event.event.id
    if kind == EventType.RUN_START:
        return [
            (
                f"run:{run}:prompt",
                "prompt",
                payload.get("input") or payload.get("prompt"),
                None,
                None,
            )
        ]
    if kind == EventType.RUN_END:
        return [
            (f"run:{run}:answer", "answer", payload.get("output"), None, None),
            (f"run:{run}:error", "error", payload.get("error"), None, None),
        ]
    if kind == EventType.ERROR:
        message = payload.get("message") or payload.get("error")
        key = f"span:{c.span_id}:error" if c.span_id else f"error:{event.event.id}"
        return [(key, "error", message, c.span_id, None)]
    span = c.span_id
    if not span:
        return []
    name = payload.get("name") or payload.get("tool_name")
    fields: list[Field] = [(f"span:{span}:error", "error", payload.get("error"), span, name)]
    if payload.get("kind") == "tool":
        given = payload.get("input")
        if given is not None or kind == EventType.SPAN_START:
            call = (
                f"{name}\n{text_of(given, MAX_FIELD)}"
                if name and given is not None
                else given or name
            )
            fields.append((f"span:{span}:call", "tool", call, span, name))
        fields.append((f"span:{span}:output", "tool", payload.get("output"), span, name))
    return fields


def _documents_of(event: Envelope, max_chars: int) -> Iterator[Doc]:
    fields = [f for f in _fields_of(event) if f[2] is not None and f[2] != ""]
    if not fields:
        return
    source, c = event.event.source, event.correlation
    ms = ts_to_ms(event.event.ts)
    for key, kind, value, span, tool in fields:
        text = text_of(value, max_chars)
        if text:
            name = str(tool)[:200] if tool else None
            yield (
                key,
                kind,
                ms,
                c.session_id,
                c.run_id,
                span,
                source.framework,
                source.host,
                name,
                text,
            )


# the rows a batch added, by their ids (above the largest before it: `id` is the rowid)
SQLITE_INDEX_NEW = (
    "INSERT INTO search_fts (rowid, text) SELECT id, text FROM search_docs WHERE id > ?"
)


def write_sqlite(conn: Any, events: list[Envelope], max_chars: int) -> None:
    """Index the new events' text (sqlite3 connection, inside the write transaction): the
    documents, then the new ones' words into FTS5 in one statement (a changed text is
    re-indexed by its trigger)."""
    index_sqlite(conn, documents(events, max_chars))


def index_sqlite(conn: Any, docs: list[Doc]) -> None:
    """Upsert the documents, then put the new ones' words into FTS5 in one statement."""
    if docs:
        (last_before,) = conn.execute("SELECT coalesce(max(id), 0) FROM search_docs").fetchone()
        conn.executemany(SQLITE_UPSERT, docs)
        conn.execute(SQLITE_INDEX_NEW, (last_before,))


# --- the query -----------------------------------------------------------------------------


class BadQuery(ValueError):
    """A search the index cannot answer; the message says why (answered as 400)."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower case, in order; empty for punctuation alone
    exact: str | None  # lower-case text the document must contain as is
    prefix: bool  # the last word may be the start of a longer one


def parse_query(q: str) -> list[Term]:
    """Words and "quoted phrases" → terms; BadQuery when nothing searchable is left."""
    if not q.strip():
        raise BadQuery("is empty: give a word, a path or a command to search for")
    if len(q) > MAX_QUERY_CHARS:
        raise BadQuery(f"is longer than {MAX_QUERY_CHARS} characters")
    terms = []
    for match in _TERM.finditer(q):
        quoted = match.group(1) is not None
        raw = (match.group(1) if quoted else match.group(2).replace('"', "")).lower().strip()
        if not raw:
            continue
        words = tuple(_WORD.findall(raw))
        plain = not quoted and len(words) == 1 and words[0] == raw
        prefix = not quoted and bool(words) and len(words[-1]) >= MIN_PREFIX
        terms.append(Term(words, None if plain else _SPACE.sub(" ", raw), prefix))
    if not any(term.words for term in terms):
        raise BadQuery("has no letters or digits to search for")
    if len(terms) > MAX_TERMS:
        raise BadQuery(f"has more than {MAX_TERMS} words or phrases")
    return terms


@dataclass(frozen=True)
class SearchFilters:
    kind: str | None = None
    framework: str | None = None
    host: str | None = None
    session_id: str | None = None
    from_ms: int | None = None
    to_ms: int | None = None


def fts5_match(terms: list[Term]) -> str:
    """The FTS5 MATCH expression: each term a phrase (words never carry syntax)."""
    return " ".join(f'"{" ".join(t.words)}"' + (" *" if t.prefix else "") for t in terms if t.words)


def tsquery(terms: list[Term]) -> str:
    """The to_tsquery('simple', …) text: each term its words in sequence, ANDed."""
    phrases = []
    for term in terms:
        if term.words:
            words = [f"'{w}'" for w in term.words]
            if term.prefix:
                words[-1] += ":*"
            phrases.append("(" + " <-> ".join(words) + ")")
    return " & ".join(phrases)


# A search first looks for the newest matches among this many newest documents (an index scan
# by time, whatever the words and filters, so its cost is bounded): a common word fills a page
# there at once, where the full-text index would hand over every one of its matches to be
# sorted. Only when they hold too few does the index query run, and then the matches are sparse.
RECENT_PROBE = 5000
_ORDER = "ORDER BY d.ts DESC, d.doc_key DESC"
# The filters as entries of the GIN index's second column (migration 019: the same expression),
# so a selective filter narrows the word matches inside the index.
FACETS = (
    "ARRAY['k:' || d.kind, 'f:' || coalesce(d.framework, ''), 'h:' || coalesce(d.host, ''), "
    "'s:' || coalesce(d.session_id, '')]"
)
_FACET_OF = (("kind", "k:"), ("framework", "f:"), ("host", "h:"), ("session_id", "s:"))


Clauses = tuple[list[str], list[Any]]  # SQL conditions and their parameters, in order


def _equal_clauses(filters: SearchFilters) -> Clauses:
    """The conditions on a document's kind, framework, host and session."""
    given = [(column, getattr(filters, column)) for column, _ in _FACET_OF]
    return [f"d.{c} = ?" for c, v in given if v is not None], [v for _, v in given if v is not None]


def _facet_clauses(filters: SearchFilters) -> Clauses:
    """The same conditions as GIN entries the document must have (none: no clause)."""
    entries = [f"{prefix}{v}" for c, prefix in _FACET_OF if (v := getattr(filters, c)) is not None]
    return ([f"{FACETS} @> ?::text[]"], [entries]) if entries else ([], [])


def _time_clauses(filters: SearchFilters, position: tuple[int, str] | None) -> Clauses:
    """The time range and the page's position (conditions the time index answers)."""
    clauses: list[str] = []
    params: list[Any] = []
    for clause, bound in (("d.ts >= ?", filters.from_ms), ("d.ts < ?", filters.to_ms)):
        if bound is not None:
            clauses.append(clause)
            params.append(bound)
    if position is not None:
        clauses.append("(d.ts < ? OR (d.ts = ? AND d.doc_key < ?))")
        params += [position[0], position[0], position[1]]
    return clauses, params


_FTS5_MATCH = "d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)"


def _text_clauses(dialect: str, terms: list[Term]) -> Clauses:
    """The index match and each term's as-typed check."""
    if dialect == "postgres":
        match, expression, contains = "d.words @@ to_tsquery('simple', ?)", tsquery(terms), "strpos"
    else:
        match, expression, contains = _FTS5_MATCH, fts5_match(terms), "instr"
    exact = [t.exact for t in terms if t.exact is not None]
    return [match] + [f"{contains}(lower(d.text), ?) > 0"] * len(exact), [expression, *exact]


def _where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


_COLUMNS = ", ".join(f"d.{name}" for name in _ALL_COLUMNS)


async def session_titles(store: Queries, session_ids: Iterable[str | None]) -> dict[str, str]:
    """The titles of the named sessions that have one, by session id (one query)."""
    ids = sorted({session for session in session_ids if session})
    if not ids:
        return {}
    where, params = store.in_list("session_id", ids)
    rows = await store.fetch(
        f"SELECT session_id, title FROM sessions WHERE {where} AND title IS NOT NULL", params
    )
    return {row["session_id"]: row["title"] for row in rows}


async def search(
    store: Queries,
    dialect: str,
    terms: list[Term],
    filters: SearchFilters,
    *,
    position: tuple[int, str] | None = None,
    limit: int = 20,
) -> tuple[list[dict[str, Any]], bool]:
    """The matching documents newest first after `position` (ts, doc_key), and whether more
    follow: the newest documents first (not when a session is named: its documents are few,
    and likely not among the newest), then the full-text index."""
    text = _text_clauses(dialect, terms)
    time = _time_clauses(filters, position)
    rows: list[dict[str, Any]] = []
    if filters.session_id is None:
        recent = _recent_postgres if dialect == "postgres" else _recent_sqlite
        rows = await recent(store, text, filters, time, limit)
    if len(rows) <= limit:  # else the newest matches of all are among the newest documents
        if dialect == "postgres":
            rows = await _indexed_postgres(store, text, filters, time, limit)
        else:
            rows = await _indexed_sqlite(store, text, _equal_clauses(filters), time, limit)
    return rows[:limit], len(rows) > limit


async def _recent_postgres(
    store: Queries, text: Clauses, filters: SearchFilters, time: Clauses, limit: int
) -> list[dict[str, Any]]:
    """The matches among the RECENT_PROBE newest documents (in the time range; of the host or
    among the errors, if the filters say so, by their own time index, migration 019: the
    newest documents of all hold few of one host's or errors): a walk whose cost is bounded
    whatever the words."""
    if filters.host is not None:
        narrow, rest = (["d.host = ?"], [filters.host]), replace(filters, host=None)
    elif filters.kind == "error":  # as written, so the planner sees the partial index's WHERE
        narrow, rest = (["d.kind = 'error'"], []), replace(filters, kind=None)
    else:
        narrow, rest = ([], []), filters
    newest, equal = _and(narrow, time), _equal_clauses(rest)
    return await store.fetch(
        f"SELECT {_COLUMNS} FROM (SELECT * FROM search_docs d {_where(newest[0])} {_ORDER} "
        f"LIMIT ?) d {_where(text[0] + equal[0])} {_ORDER} LIMIT ?",
        [*newest[1], RECENT_PROBE, *text[1], *equal[1], limit + 1],
    )


async def _recent_sqlite(
    store: Queries, text: Clauses, filters: SearchFilters, time: Clauses, limit: int
) -> list[dict[str, Any]]:
    """The same on SQLite: the documents from the Nth newest one's time on (its time index
    holds no doc_key, and a row read whole costs more there), each checked against FTS5's
    matches (`+`: SQLite must not start from those)."""
    newest = (
        f"d.ts >= (SELECT min(ts) FROM (SELECT d.ts FROM search_docs d {_where(time[0])} "
        "ORDER BY d.ts DESC LIMIT ?))"
    )
    equal = _equal_clauses(filters)
    checks = ["+" + text[0][0], *text[0][1:]]
    sql = f"SELECT {_COLUMNS} FROM search_docs d {_where([newest, *checks, *equal[0], *time[0]])}"
    params = [*time[1], RECENT_PROBE, *text[1], *equal[1], *time[1], limit + 1]
    return await store.fetch(f"{sql} {_ORDER} LIMIT ?", params)


async def _indexed_sqlite(
    store: Queries, text: Clauses, equal: Clauses, time: Clauses, limit: int
) -> list[dict[str, Any]]:
    """FTS5's matches, filtered and sorted."""
    return await store.fetch(
        f"SELECT {_COLUMNS} FROM search_docs d {_where(text[0] + equal[0] + time[0])} "
        f"{_ORDER} LIMIT ?",
        [*text[1], *equal[1], *time[1], limit + 1],
    )


async def _indexed_postgres(
    store: Queries, text: Clauses, filters: SearchFilters, time: Clauses, limit: int
) -> list[dict[str, Any]]:
    """The GIN index with the filters in it; its matches are taken whole (MATERIALIZED) and
    sorted, so the planner never walks the time index hoping for matches that are not there. A
    named session has few documents: they are found by their GIN entry alone and their words
    checked one by one (a common word, or a prefix of many, costs more to look up)."""
    facets = _facet_clauses(filters)
    if filters.session_id is not None:
        return await _materialized(store, _and(facets, time), text, limit)
    return await _materialized(store, _and(text, facets, time), ([], []), limit)


def _and(*parts: Clauses) -> Clauses:
    return [c for part in parts for c in part[0]], [p for part in parts for p in part[1]]


async def _materialized(
    store: Queries, indexed: Clauses, then: Clauses, limit: int
) -> list[dict[str, Any]]:
    """Every document the `indexed` conditions find, those of them meeting `then`, newest
    first."""
    return await store.fetch(
        f"WITH found AS MATERIALIZED (SELECT * FROM search_docs d {_where(indexed[0])}) "
        f"SELECT {_COLUMNS} FROM found d {_where(then[0])} {_ORDER} LIMIT ?",
        [*indexed[1], *then[1], limit + 1],
    )


# --- snippets ------------------------------------------------------------------------------


def _highlighter(terms: list[Term]) -> re.Pattern[str]:
    """Matches what the terms matched: exact texts first (longest first), then words at a
    word's start."""
    exact = sorted({t.exact for t in terms if t.exact}, key=len, reverse=True)
    words = sorted(
        {(w, t.prefix and i == len(t.words) - 1) for t in terms for i, w in enumerate(t.words)},
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
    pieces = [re.escape(text) for text in exact] + [
        r"(?<![^\W_])" + re.escape(word) + ("" if open_end else r"(?![^\W_])")
        for word, open_end in words
    ]
    return re.compile("|".join(pieces), re.IGNORECASE)


def snippet(text: str, terms: list[Term], width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """Up to `width` characters of `text` (whitespace folded) around its first match, as
    (text, is_match) parts."""
    flat = _SPACE.sub(" ", text).strip()
    pattern = _highlighter(terms)
    first = pattern.search(flat)
    start = 0 if first is None else max(0, first.start() - width // 4)
    if start:
        space = flat.find(" ", start, first.start() if first else start)
        start = space + 1 if space != -1 else start
    end = min(len(flat), start + width)
    window = flat[start:end]
    parts: list[tuple[str, bool]] = [("…", False)] if start else []
    at = 0
    for match in pattern.finditer(window):
        if match.start() > at:
            parts.append((window[at : match.start()], False))
        if match.end() > match.start():
            parts.append((match.group(), True))
        at = match.end()
    if at < len(window):
        parts.append((window[at:], False))
    if end < len(flat):
        parts.append(("…", False))
    return parts
