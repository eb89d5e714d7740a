"""`GET /v1/search`: prompts, answers, tool calls and errors by their text (store/search.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from agentmon.events import ms_to_ts, ts_to_ms
from agentmon.query.models import ErrorResponse, Model, Timestamp
from agentmon.query.params import (
    BadParameter,
    check_text_params,
    encode_cursor,
    session_cursor,
    timestamp,
)
from agentmon.store import Store
from agentmon.store.search import (
    BadQuery,
    SearchFilters,
    Term,
    parse_query,
    search,
    session_titles,
    snippet,
)

SearchKind = Literal["prompt", "answer", "tool", "error"]


class SnippetPart(Model):
    text: str
    match: bool = Field(description="This part is what the query matched")


class SearchHit(Model):
    kind: SearchKind = Field(description="prompt, answer, tool (a call or its output), error")
    field: Literal["prompt", "answer", "call", "output", "error"]
    ts: Timestamp
    session_id: str | None
    session_title: str | None = Field(
        description="The session's title (its task or first prompt), where it has one"
    )
    run_id: str | None
    span_id: str | None
    framework: str | None
    host: str | None
    tool: str | None = Field(description="The tool's name, for a tool call or a tool's error")
    snippet: list[SnippetPart] = Field(description="Text around the first match, in parts")


class SearchPage(Model):
    query: str
    hits: list[SearchHit] = Field(description="Newest first")
    next_cursor: str | None


def hit_view(row: dict[str, Any], terms: list[Term], titles: dict[str, str]) -> SearchHit:
    return SearchHit(
        kind=row["kind"],
        field=_field_of(row["doc_key"]),
        ts=ms_to_ts(int(row["ts"])),
        session_id=row["session_id"],
        session_title=titles.get(row["session_id"] or ""),
        run_id=row["run_id"],
        span_id=row["span_id"],
        framework=row["framework"],
        host=row["host"],
        tool=row["tool"],
        snippet=[SnippetPart(text=text, match=hit) for text, hit in snippet(row["text"], terms)],
    )


def _field_of(doc_key: str) -> Any:
    """run:<id>:prompt → prompt; an error event's document (error:<event id>) → error."""
    return "error" if doc_key.startswith("error:") else doc_key.rsplit(":", 1)[1]


def _bound(name: str, value: str | None) -> int | None:
    canonical = timestamp(name, value)
    return ts_to_ms(canonical) if canonical else None


def search_routes(store: Store) -> APIRouter:
    router = APIRouter(dependencies=[Depends(check_text_params)])

    @router.get(
        "/v1/search",
        tags=["search"],
        responses={400: {"model": ErrorResponse, "description": "q or a filter is invalid"}},
    )
    async def search_text(
        q: Annotated[str, Query(description='Words, paths, commands or "a phrase"; all match')],
        kind: SearchKind | None = None,
        framework: str | None = None,
        host: str | None = None,
        session_id: str | None = None,
        from_: Annotated[str | None, Query(alias="from", description="At or after")] = None,
        to: Annotated[str | None, Query(description="Before (RFC 3339)")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the last page")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> SearchPage:
        try:
            terms = parse_query(q)
        except BadQuery as exc:
            raise BadParameter(f"query parameter 'q': {exc}") from None
        filters = SearchFilters(
            kind, framework, host, session_id, _bound("from", from_), _bound("to", to)
        )
        rows, more = await search(
            store, store.dialect, terms, filters, position=session_cursor(cursor), limit=limit
        )
        last = rows[-1] if rows else None
        titles = await session_titles(store, (row["session_id"] for row in rows))
        return SearchPage(
            query=q,
            hits=[hit_view(row, terms, titles) for row in rows],
            next_cursor=encode_cursor(int(last["ts"]), last["doc_key"]) if more and last else None,
        )

    return router
