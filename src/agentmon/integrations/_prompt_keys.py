"""Run keys named after a prompt, for tools whose hooks and history files share no turn id
(Gemini CLI, Hermes Agent): a run is its prompt's text plus how many prompts of that text
came before it in the session, which a hook and an importer can both count. Standard library
only: hook handlers import this on their start-up budget."""

from __future__ import annotations

from agentmon.integrations._hookio import derived_id


def prompt_digest(prompt: str) -> str:
    # the namespace keeps its first user's name: run ids already stored are derived from it
    return derived_id("gemini-prompt", prompt.strip())[:13]


def prompt_run_key(counts: dict[str, int], prompt: str, earlier: int = 0) -> str:
    """The key of the run a prompt opens: its text and its place among the session's
    prompts of that text: one after the larger of `counts` (this reader's own, bumped)
    and `earlier` (how many the transcript already holds)."""
    digest = prompt_digest(prompt)
    counts[digest] = max(counts.get(digest, 0), earlier) + 1
    return f"run:{digest}:{counts[digest]}"
