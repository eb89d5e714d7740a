"""Writes the sample settings in examples/ and the Claude Code plugin from the hook specs:
each file is exactly what `agentmon hooks install` writes into an empty settings file.

    python -m agentmon.hooks_setup.generate [REPOSITORY]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from agentmon import __version__
from agentmon.hooks_setup.specs import CLAUDE_CODE, CODEX_HOOKS_FILE
from agentmon.hooks_setup.tools import (
    PLANNERS,
    Options,
    Plan,
    claude_style_hooks,
    plan_openclaw_settings,
)

REPOSITORY = Path(__file__).resolve().parents[3]
OPENCLAW_EXAMPLE = Options(ingest_url="http://192.168.122.1:8080", vm_name="zap")
PLUGIN_DIR = "integrations/claude-code-plugin"

# tool → (its settings file's name in a scratch home, the example file for each file written)
EXAMPLES = {
    "claude-code": ("settings.json", {"settings.json": "examples/claude/settings.json"}),
    "codex": (
        "config.toml",
        {
            "config.toml": "examples/codex/config.toml",
            CODEX_HOOKS_FILE: "examples/codex/hooks.json",
        },
    ),
    "gemini-cli": ("settings.json", {"settings.json": "examples/gemini/settings.json"}),
    "hermes": ("config.yaml", {"config.yaml": "examples/hermes/config.yaml"}),
}


def generated() -> dict[str, str]:
    """Repository path → the content the specs give it."""
    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for tool, (settings, examples) in EXAMPLES.items():
            home = Path(scratch) / tool
            plan = PLANNERS[tool](home / settings, True, Options())
            files |= _written(plan, home, examples)
        openclaw = Plan()
        home = Path(scratch) / "openclaw"
        plan_openclaw_settings(openclaw, home / "openclaw.json", True, OPENCLAW_EXAMPLE)
        files |= _written(
            openclaw,
            home,
            {"openclaw.json": "examples/openclaw/openclaw.json", ".env": "examples/openclaw/env"},
        )
    files |= claude_code_plugin()
    return files


def _written(plan: Plan, home: Path, examples: dict[str, str]) -> dict[str, str]:
    return {examples[str(change.path.relative_to(home))]: change.new or "" for change in plan.files}


def claude_code_plugin() -> dict[str, str]:
    manifest = {
        "name": "agentmon",
        "version": __version__,
        "description": "Reports Claude Code sessions, turns, tool calls, subagents, compactions, "
        "permission prompts and errors to an agentmon ingest gateway (AGENTMON_INGEST_URL) "
        "through agentmon-claude-handler.",
        "author": {"name": "agentmon"},
        "license": "MIT",
        "keywords": ["monitoring", "observability", "hooks", "agentmon"],
    }
    hooks = {
        "description": "agentmon: every Claude Code hook agentmon maps, sent to "
        "agentmon-claude-handler",
        "hooks": claude_style_hooks(CLAUDE_CODE, Options()),
    }
    return {
        f"{PLUGIN_DIR}/.claude-plugin/plugin.json": _json(manifest),
        f"{PLUGIN_DIR}/hooks/hooks.json": _json(hooks),
    }


def _json(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else REPOSITORY
    for relative, text in generated().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
