"""A scratch home directory with each tool's real settings file, as a user has it: comments
where the format allows them, settings of their own, hooks of their own. (JSON is written
back the way json.dumps lays it out, with the file's own indentation: the JSON samples are
laid out that way so that a round trip gives them back byte for byte.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentmon.cli import build_parser
from agentmon.config import Settings

CLAUDE = """\
{
  "model": "opus",
  "permissions": {
    "allow": [
      "Bash(git status)"
    ]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "~/bin/guard.sh"
          }
        ]
      }
    ]
  },
  "env": {
    "OTEL_METRICS_EXPORTER": "otlp"
  }
}
"""

CODEX_CONFIG = """\
# my Codex settings
model = "gpt-5.4"  # the one I like
approval_policy = "on-request"

[profiles.fast]
model = "gpt-5.4-mini"

[features]
# things I try
web_search = true
"""

CODEX_HOOKS = """\
{
  "hooks": {
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "say done"
          }
        ]
      }
    ]
  }
}
"""

GEMINI = """\
{
    "theme": "GitHub",
    "hooksConfig": {
        "enabled": true
    },
    "hooks": {
        "BeforeTool": [
            {
                "matcher": "run_shell_command",
                "hooks": [
                    {
                        "name": "audit",
                        "type": "command",
                        "command": "audit-shell"
                    }
                ]
            }
        ]
    }
}
"""

HERMES = """\
# Hermes settings
model:
  default: anthropic/claude-opus-4  # main model
  provider: openrouter

hooks:
  pre_tool_call:
    - matcher: "terminal"
      command: "~/bin/audit.sh"   # my audit hook
      timeout: 3

toolsets:
  - web
  - terminal
"""

OPENCLAW = """\
{
  "agents": {
    "defaults": {
      "model": "anthropic/claude-opus-4"
    }
  },
  "hooks": {
    "internal": {
      "enabled": true,
      "entries": {
        "session-memory": {
          "enabled": true
        }
      }
    }
  }
}
"""

OPENCLAW_ENV = """\
# gateway environment
OPENAI_API_KEY=sk-mine
"""

# tool → {path under the home directory: what the user has there}
SAMPLES: dict[str, dict[str, str]] = {
    "claude-code": {".claude/settings.json": CLAUDE},
    "codex": {".codex/config.toml": CODEX_CONFIG, ".codex/hooks.json": CODEX_HOOKS},
    "gemini-cli": {".gemini/settings.json": GEMINI},
    "hermes": {".hermes/config.yaml": HERMES},
    "openclaw": {".openclaw/openclaw.json": OPENCLAW, ".openclaw/.env": OPENCLAW_ENV},
}


@dataclass
class Home:
    path: Path
    openclaw_build: Path

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def write_samples(self, tool: str) -> dict[Path, str]:
        return {self.write(relative, text): text for relative, text in SAMPLES[tool].items()}

    def holds_samples(self, tool: str) -> bool:
        return all(
            (self.path / relative).read_text() == text for relative, text in SAMPLES[tool].items()
        )

    def files(self) -> dict[Path, str]:
        return {
            path: path.read_text()
            for path in sorted(self.path.rglob("*"))
            if path.is_file() and "openclaw-build" not in path.parts
        }

    def backups(self) -> list[Path]:
        return sorted(self.path.rglob("*.agentmon-backup-*"))


def _fake_openclaw_build(root: Path) -> Path:
    """The layout `npm --prefix hooks/openclaw run build` produces under dist/install."""
    hook, plugin = root / "hook" / "agentmon", root / "plugin" / "agentmon"
    (hook / "lib").mkdir(parents=True)
    (plugin / "lib").mkdir(parents=True)
    (hook / "HOOK.md").write_text("---\nname: agentmon\n---\n# agentmon\n")
    (hook / "handler.js").write_text("export default async function handler() {}\n")
    (hook / "lib" / "send.js").write_text("export const send = () => {};\n")
    (plugin / "openclaw.plugin.json").write_text('{"id": "agentmon"}\n')
    (plugin / "plugin.js").write_text("export default {id: 'agentmon'};\n")
    (plugin / "lib" / "send.js").write_text("export const send = () => {};\n")
    return root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for moved in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "HERMES_HOME", "OPENCLAW_STATE_DIR"):
        monkeypatch.delenv(moved, raising=False)
    (tmp_path / "home").mkdir()
    return Home(tmp_path / "home", _fake_openclaw_build(tmp_path / "home" / "openclaw-build"))


Hooks = Callable[..., tuple[int, str]]


@pytest.fixture
def hooks(home: Home, capsys: pytest.CaptureFixture[str]) -> Iterator[Hooks]:
    """Runs `agentmon hooks ARGS…` in this process; returns (exit code, stdout)."""

    def run(*argv: str) -> tuple[int, str]:
        args = build_parser().parse_args(["hooks", *argv])
        settings = Settings.load(env_file=str(home.path / "no.env"))
        code = asyncio.run(args.run(args, settings))
        return code, capsys.readouterr().out

    yield run
