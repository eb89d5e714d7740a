"""The ids that hooks, transcripts, importers and the OTLP mapping derive alike for one thing
(a Claude Code model call, a tool call), so that it is stored once whichever path brings it:
the public door to them for code outside `integrations`."""

from __future__ import annotations

from agentmon.integrations._claude_format import split_model
from agentmon.integrations._claude_transcript import FRAMEWORK as CLAUDE_FRAMEWORK
from agentmon.integrations._claude_transcript import llm_call_ids
from agentmon.integrations._codex_rollout import turn_usage_id as codex_turn_usage_id
from agentmon.integrations._hookio import derived_id

__all__ = [
    "CLAUDE_FRAMEWORK",
    "codex_turn_usage_id",
    "derived_id",
    "llm_call_ids",
    "split_model",
]
