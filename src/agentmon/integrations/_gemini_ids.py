"""The keys Gemini CLI's hooks and ``agentmon import gemini-cli`` both derive, so a session
recorded live and imported later (or imported, then resumed with the hooks on) stores each
run, model call, tool call and token count once.

The hooks carry no message, turn or tool-call id and the transcript none of the hooks' ids;
what both sides see is the prompt's text, the order of a turn's model calls, the order of
a turn's calls to each tool and, once the transcript is read, each reply's own id. Keys are
made from those (the `Tracker` turns a key into an id of the session). A prompt's key
counts the earlier prompts of the same text in the transcript, so hooks switched on in the
middle of a session (or after an import) agree with the importer. Standard library only:
the hook handler imports this on its start-up budget.
"""

from __future__ import annotations

from agentmon.integrations._prompt_keys import prompt_digest
from agentmon.integrations._tracker import clip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentmon.integrations._tracker import Tracker

NOT_PROMPT_PREFIXES = ("<session_context>", "<state_snapshot>")
PROMPT_IDS_KEPT = 1000


def message_text(content: Any) -> str | None:
    """The text of a transcript message (its text parts joined); None for a tool's answer
    (Gemini CLI records ``functionResponse`` parts as a user message)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = [part for part in content if isinstance(part, dict)]
    if any("functionResponse" in part for part in parts):
        return None
    texts = [part["text"] for part in parts if isinstance(part.get("text"), str)]
    return "".join(texts) if texts else None


def prompt_of(content: Any) -> str | None:
    """The prompt a transcript ``user`` message holds, as ``BeforeAgent`` sees it; None for
    the messages that are no prompt: a tool's answer, the session context and the summary
    a chat compression put in place of the history."""
    text = message_text(content)
    if text is None or text.lstrip().startswith(NOT_PROMPT_PREFIXES):
        return None
    return text


def count_transcript_prompts(entry: dict[str, Any], seen: dict[str, Any]) -> None:
    """Count the prompts of one transcript line (a message, or the messages of a ``$set``
    checkpoint, which repeats earlier ones) into `seen`: each message id once."""
    patch = entry.get("$set")
    messages = patch.get("messages") if isinstance(patch, dict) else [entry]
    ids: list[str] = seen.setdefault("ids", [])
    counts: dict[str, int] = seen.setdefault("counts", {})
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict) or message.get("type") != "user":
            continue
        message_id, prompt = message.get("id"), prompt_of(message.get("content"))
        if prompt is None or not isinstance(message_id, str) or message_id in ids:
            continue
        ids.append(message_id)
        counts[prompt_digest(prompt)] = counts.get(prompt_digest(prompt), 0) + 1
    del ids[:-PROMPT_IDS_KEPT]


def earlier_prompts(seen: dict[str, Any], prompt: str) -> int:
    """How many prompts of this text `count_transcript_prompts` has counted."""
    counts = seen.get("counts")
    return int(counts.get(prompt_digest(prompt), 0)) if isinstance(counts, dict) else 0


def call_key(ordinals: dict[str, Any], run_id: str, kind: str) -> str:
    """The key of the next call of `kind` (``llm``, or ``tool:<name>``) in run `run_id`:
    its place among the run's calls of that kind (`ordinals`: the counts, reset per run)."""
    if ordinals.get("run") != run_id:
        ordinals.clear()
        ordinals["run"] = run_id
    counts = ordinals.setdefault("counts", {})
    counts[kind] = counts.get(kind, 0) + 1
    return f"{kind}:{run_id}:{counts[kind]}"


def answer_error(answer: Any) -> tuple[str, str] | None:
    """(tool name, error) of a ``functionResponse`` (a tool's answer, in a transcript
    ``user`` message or a tool call's ``result``) whose ``response`` is an error."""
    if not isinstance(answer, dict):
        return None
    name, response = answer.get("name"), answer.get("response")
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(name, str) and isinstance(error, str) and error:
        return name, error
    return None


def answered_errors(entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(call id, tool name, error) of each tool answer in a transcript entry that is an
    error: the ``functionResponse`` parts of a ``user`` message, and the results of a
    ``gemini`` reply's ``toolCalls`` (where alone a call the user refused in the TUI is
    answered: that turn ends there)."""
    kind = entry.get("type")
    parts: list[Any] = []
    if kind == "user" and isinstance(entry.get("content"), list):
        parts = entry["content"]
    elif kind == "gemini" and isinstance(entry.get("toolCalls"), list):
        for call in entry["toolCalls"]:
            result = call.get("result") if isinstance(call, dict) else None
            parts.extend(result if isinstance(result, list) else [])
    found = []
    for part in parts:
        answer = part.get("functionResponse") if isinstance(part, dict) else None
        error = answer_error(answer)
        if error and isinstance(answer, dict) and isinstance(answer.get("id"), str):
            found.append((answer["id"], *error))
    return found


CANCELLED_REQUEST = "Request cancelled."


def is_cancel_notice(entry: dict[str, Any]) -> bool:
    """Whether a transcript entry is the note Gemini CLI writes when the user cancels a
    turn (refusing a tool call in the TUI, or Esc): no hook fires after it in that turn."""
    return entry.get("type") == "info" and entry.get("content") == CANCELLED_REQUEST


def is_history_repeat(message: dict[str, Any]) -> bool:
    """Whether a ``gemini`` message repeats an earlier reply rather than records a model
    call: after a cancelled turn Gemini CLI 0.61 appends the kept history again under new
    ids, its replies as parts with ``tokens: null``."""
    return message.get("tokens", {}) is None and isinstance(message.get("content"), list)


def is_compression_summary(message: Any) -> bool:
    """Whether a checkpoint's message is the summary a chat compression put in place of
    the history (a ``<state_snapshot>``); a checkpoint without one only rebuilds it."""
    if not isinstance(message, dict) or message.get("type") != "user":
        return False
    text = message_text(message.get("content"))
    return text is not None and text.lstrip().startswith("<state_snapshot>")


REFUSAL_MARKERS = (
    "denied by policy",  # a policy rule, or a call needing approval in headless mode
    "requires user confirmation",
    "tool execution blocked",  # a BeforeTool hook's block
    "user denied",
)
CANCELLED_MARKER = "[operation cancelled]"


def unrun_call_status(message: str) -> str | None:
    """How a call Gemini CLI answered without running it ended, from its answer's error:
    ``denied`` (a policy, headless mode or the user refused it), ``cancelled``, else None
    (a failure of a call that ran)."""
    lowered = message.lower()
    if any(marker in lowered for marker in REFUSAL_MARKERS):
        return "denied"
    return "cancelled" if lowered.startswith(CANCELLED_MARKER) else None


def usage_event_parts(reply_id: str) -> tuple[str, str]:
    """The parts of the usage event id of the transcript reply `reply_id` (one count per
    reply, whichever side reads it first)."""
    return ("usage", reply_id)


AGENT_TOOL = "invoke_agent"
SUBAGENT_DONE = "GOAL"


def agent_span_key(tool_key: str) -> str:
    """The key of the sub-agent span an ``invoke_agent`` call (key `tool_key`) opens."""
    return f"agent:{tool_key}"


def agent_call_kind(agent_key: str | None, kind: str) -> str:
    """The `call_key` kind of a call made by the sub-agent `agent_key` (None: the main
    agent): a sub-agent's calls are numbered apart, so the main agent's keep their numbers."""
    return f"{agent_key}/{kind}" if agent_key else kind


def end_subagent_span(tracker: Tracker, key: str, display: Any, agent_id: Any) -> None:
    """Close the sub-agent span `key` from its ``invoke_agent`` call's display (the hook's
    ``returnDisplay``, the transcript's ``resultDisplay``): its name, result and reason
    (``GOAL`` → ok)."""
    display = display if isinstance(display, dict) else {}
    name, reason = display.get("agentName"), display.get("terminateReason")
    tracker.end_span(
        key,
        kind="agent",
        name=name if isinstance(name, str) else None,
        status="ok" if reason in (None, SUBAGENT_DONE) else "error",
        output=clip(display.get("result")),
        agent_id=agent_id,
        terminate_reason=reason,
        once=True,
    )


def subagent_chat_name(session_id: str, agent_id: object) -> str | None:
    """The sub-agent's transcript, relative to the session's ``chats`` folder
    (``<session>/<agent id>.jsonl``); None for ids that would name a file elsewhere."""
    if not isinstance(agent_id, str) or not agent_id or agent_id.startswith("."):
        return None
    if "/" in agent_id or "/" in session_id or session_id.startswith("."):
        return None
    return f"{session_id}/{agent_id}.jsonl"
