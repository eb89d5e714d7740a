"""Claude Code transcript lines built from the field names of the transcripts spec (§1):
``type``, ``uuid``, ``parentUuid``, ``sessionId``, ``timestamp``, ``cwd``, ``requestId``,
``isSidechain``, ``message{id, model, content, stop_reason, usage}``, ``tool_result`` blocks,
``compact_boundary`` system lines, ``isApiErrorMessage``, ``<synthetic>`` rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CWD = "/home/ada/app"
MODEL = "claude-sonnet-4-6"


def ts(second: int) -> str:
    return f"2026-08-20T09:{second // 60:02d}:{second % 60:02d}.000Z"


class Transcript:
    """Appends lines of one session's transcript file, as Claude Code writes them."""

    def __init__(self, path: Path, session_id: str, *, sidechain: bool = False) -> None:
        self.path = path
        self.session_id = session_id
        self.sidechain = sidechain
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)

    def _common(self, kind: str, second: int) -> dict[str, Any]:
        self.count += 1
        return {
            "type": kind,
            "uuid": f"{self.path.stem}-{self.count}",
            "parentUuid": None,
            "sessionId": self.session_id,
            "timestamp": ts(second),
            "cwd": CWD,
            "gitBranch": "main",
            "version": "2.1.200",
            "isSidechain": self.sidechain,
        }

    def write(self, *lines: dict[str, Any] | str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            for line in lines:
                handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")

    def write_partial(self, line: dict[str, Any]) -> str:
        """The first half of a line (no newline yet); returns the rest to write later."""
        text = json.dumps(line) + "\n"
        half = len(text) // 2
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text[:half])
        return text[half:]

    def prompt(self, second: int, text: str) -> dict[str, Any]:
        return {**self._common("user", second), "message": {"role": "user", "content": text}}

    def assistant(
        self,
        second: int,
        message_id: str,
        request_id: str | None,
        block: dict[str, Any],
        usage: dict[str, int],
        stop_reason: str | None = None,
        model: str = MODEL,
    ) -> dict[str, Any]:
        line = {
            **self._common("assistant", second),
            "message": {
                "id": message_id,
                "model": model,
                "role": "assistant",
                "content": [block],
                "stop_reason": stop_reason,
                "usage": usage,
            },
        }
        if request_id is not None:
            line["requestId"] = request_id
        return line

    def tool_result(
        self, second: int, tool_use_id: str, content: str, is_error: bool = False
    ) -> dict[str, Any]:
        return {
            **self._common("user", second),
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_use_id,
                        "content": content,
                        "is_error": is_error,
                    }
                ],
            },
            "toolUseResult": {"stdout": content},
        }

    def compact_boundary(self, second: int, pre_tokens: int) -> dict[str, Any]:
        return {
            **self._common("system", second),
            "subtype": "compact_boundary",
            "compactMetadata": {"trigger": "auto", "preTokens": pre_tokens},
        }

    def compact_summary(self, second: int) -> dict[str, Any]:
        return {
            **self._common("user", second),
            "isCompactSummary": True,
            "message": {"role": "user", "content": "This session is being continued ..."},
        }


def usage(
    input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0
) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output_tokens,
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(tool_use_id: str, name: str, command: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_use_id, "name": name, "input": {"command": command}}


def write_session(transcript: Transcript) -> dict[str, int]:
    """A two-prompt session: streamed repeats of one response (usage growing), a failing
    tool, an API-error row, a ``<synthetic>`` row, a malformed line, a compaction. Returns
    the token totals a correct reader counts."""
    t = transcript
    t.write(
        t.prompt(0, "Run the tests"),
        # one response streamed as two lines (thinking text, then the tool call): same ids
        t.assistant(3, "msg_01", "req_01", text("Running them."), usage(4, 10, 18000, 1200)),
        t.assistant(
            4,
            "msg_01",
            "req_01",
            tool_use("toolu_1", "Bash", "pytest -q"),
            usage(4, 85, 18000, 1200),
            "tool_use",
        ),
        t.tool_result(9, "toolu_1", "2 failed", is_error=True),
        "{not json at all",
        t.assistant(
            12, "msg_02", "req_02", text("Two tests fail."), usage(6, 40, 19000, 300), "end_turn"
        ),
        {
            **t.assistant(13, "msg_err", "req_err", text("API Error: 529"), usage(0, 0)),
            "isApiErrorMessage": True,
        },
        t.assistant(
            13, "msg_syn", None, text("No response requested."), usage(0, 0), model="<synthetic>"
        ),
        t.prompt(20, "Fix them"),
        t.compact_boundary(21, 150000),
        t.compact_summary(21),
        # no requestId (a gateway that drops it): de-duplicated on message.id alone
        t.assistant(25, "msg_03", None, text("Fixed."), usage(8, 30, 2000, 0)),
        t.assistant(
            26, "msg_03", None, text("Fixed. All pass."), usage(8, 55, 2000, 0), "end_turn"
        ),
    )
    return {
        "input": 4 + 6 + 8,
        "output": 85 + 40 + 55,
        "cache_read": 18000 + 19000 + 2000,
        "cache_write": 1200 + 300,
    }


def write_subagent(transcript: Transcript) -> dict[str, int]:
    """A sub-agent's own transcript (``isSidechain`` lines): one call, repeated once."""
    t = transcript
    t.write(
        t.prompt(14, "Find the flaky test"),
        t.assistant(
            15,
            "msg_s1",
            "req_s1",
            tool_use("toolu_s1", "Grep", "flaky"),
            usage(3, 20, 500, 100),
            "tool_use",
        ),
        t.tool_result(16, "toolu_s1", "tests/test_io.py"),
        t.assistant(17, "msg_s2", "req_s2", text("It is test_io."), usage(2, 7, 600, 0)),
        t.assistant(
            17, "msg_s2", "req_s2", text("It is test_io."), usage(2, 9, 600, 0), "end_turn"
        ),
    )
    return {"input": 5, "output": 29, "cache_read": 1100, "cache_write": 100}
