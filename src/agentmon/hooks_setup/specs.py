"""The one definition of what agentmon wires into each tool: which hooks, with which
matcher, which handler command and which timeout. The installer, the sample settings in
examples/ and the Claude Code plugin are all generated from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hook:
    event: str
    matcher: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    tool: str  # the name on the command line
    handler: str  # the console command that receives the hook's payload
    hooks: tuple[Hook, ...]
    timeout: int  # in the tool's own unit
    settings: str  # the settings file, relative to the tool's home directory
    home_env: str | None = None  # the variable that moves the tool's home directory
    home: str = ""  # the tool's home directory, relative to the user's
    hook_name: str | None = None  # Gemini CLI names each hook


CLAUDE_CODE = ToolSpec(
    tool="claude-code",
    handler="agentmon-claude-handler",
    hooks=(
        Hook("SessionStart"),
        Hook("SessionEnd"),
        Hook("UserPromptSubmit"),
        Hook("PreToolUse", "*"),
        Hook("PostToolUse", "*"),
        Hook("PostToolUseFailure", "*"),
        Hook("PostToolBatch"),  # tells which calls were refused (only PreToolUse fired)
        Hook("PermissionRequest", "*"),
        Hook("PermissionDenied", "*"),
        Hook("Notification"),
        Hook("SubagentStart"),
        Hook("SubagentStop"),
        Hook("PreCompact"),
        Hook("PostCompact"),
        Hook("Stop"),
        Hook("StopFailure"),
        Hook("TaskCreated"),  # the session's task list: a `task` span until TaskCompleted
        Hook("TaskCompleted"),
        Hook("Elicitation"),  # an MCP server asks the user for input: waiting for a human
        Hook("ElicitationResult"),
    ),
    timeout=10,
    home=".claude",
    home_env="CLAUDE_CONFIG_DIR",
    settings="settings.json",
)

CODEX = ToolSpec(
    tool="codex",
    handler="agentmon-codex-handler",
    hooks=(
        Hook("SessionStart", "startup|resume|clear"),
        Hook("SessionEnd"),  # closes the session; the only hook after a turn the API failed
        Hook("UserPromptSubmit"),
        Hook("PreToolUse"),
        Hook("PermissionRequest"),
        Hook("PostToolUse"),
        Hook("PreCompact"),
        Hook("PostCompact"),
        Hook("SubagentStart"),
        Hook("SubagentStop"),
        Hook("Stop"),
        Hook("StopFailure"),
    ),
    timeout=10,
    home=".codex",
    home_env="CODEX_HOME",
    settings="config.toml",
)
CODEX_HOOKS_FILE = "hooks.json"  # next to config.toml

GEMINI_CLI = ToolSpec(
    tool="gemini-cli",
    handler="agentmon-gemini-handler",
    hooks=(
        Hook("SessionStart"),
        Hook("SessionEnd"),
        Hook("BeforeAgent"),
        Hook("AfterAgent"),
        Hook("BeforeModel"),
        Hook("AfterModel"),
        Hook("BeforeTool", ".*"),
        Hook("AfterTool", ".*"),
        Hook("PreCompress"),
        Hook("Notification"),
    ),
    timeout=5000,  # milliseconds
    home=".gemini",
    settings="settings.json",
    hook_name="agentmon",
)

HERMES = ToolSpec(
    tool="hermes",
    handler="agentmon-hermes-handler",
    hooks=(
        Hook("on_session_start"),
        Hook("pre_llm_call"),
        Hook("post_llm_call"),
        Hook("pre_api_request"),
        Hook("post_api_request"),
        Hook("api_request_error"),
        Hook("pre_tool_call", ".*"),
        Hook("post_tool_call", ".*"),
        Hook("subagent_start"),
        Hook("subagent_stop"),
        Hook("on_session_end"),
        Hook("on_session_finalize"),
        Hook("on_session_reset"),
    ),
    timeout=5,  # seconds
    home=".hermes",
    home_env="HERMES_HOME",
    settings="config.yaml",
)

# OpenClaw runs agentmon's TypeScript hook and plugin inside its gateway: no handler
# command, no hook list (the hook's HOOK.md names its events).
OPENCLAW = ToolSpec(
    tool="openclaw",
    handler="agentmon",
    hooks=(),
    timeout=0,
    home=".openclaw",
    home_env="OPENCLAW_STATE_DIR",
    settings="openclaw.json",
)
OPENCLAW_ENTRY = "agentmon"  # hooks.internal.entries.<id> and plugins.entries.<id>
OPENCLAW_PLUGIN_CONFIG = {"enabled": True, "hooks": {"allowConversationAccess": True}}
OPENCLAW_HOOK_CONFIG = {"enabled": True}

TOOLS = {spec.tool: spec for spec in (CLAUDE_CODE, CODEX, GEMINI_CLI, HERMES, OPENCLAW)}

# Comment lines the installer puts at the top of a TOML or YAML file it creates.
NEW_FILE_HEADERS = {
    "codex": (
        "~/.codex/config.toml, written by `agentmon hooks install codex`.\n"
        "`notify` runs the handler after every turn; the lifecycle hooks in hooks.json (next\n"
        "to this file) add tool spans, compaction, subagents, failures and permission prompts.\n"
        "`[features] hooks = true` switches them on in Codex builds where they are off."
    ),
    "hermes": (
        "~/.hermes/config.yaml, written by `agentmon hooks install hermes`.\n"
        "Hermes runs each command without a shell and asks once per (event, command): approve\n"
        "with `hermes hooks list`, or set hooks_auto_accept: true / HERMES_ACCEPT_HOOKS=1 for\n"
        "non-interactive runs (gateway, cron)."
    ),
}

MARK = "added by agentmon hooks install"
