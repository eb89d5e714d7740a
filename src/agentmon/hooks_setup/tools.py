"""What installing or uninstalling agentmon's hooks changes in each tool's files.

Planning never writes: it returns the changes (old text → new text per file, directories
to copy or remove) and notes for the user; `apply` in `command.py` carries them out.
Our entries are recognised by the handler they run (`agentmon-*-handler`, with or without
an `env VAR=… ` prefix or a directory), so uninstall takes out exactly those.
"""

from __future__ import annotations

import copy
import filecmp
import os
import shlex
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentmon.hooks_setup import documents as docs
from agentmon.hooks_setup.specs import (
    CODEX_HOOKS_FILE,
    MARK,
    NEW_FILE_HEADERS,
    OPENCLAW_ENTRY,
    OPENCLAW_HOOK_CONFIG,
    OPENCLAW_PLUGIN_CONFIG,
    TOOLS,
    ToolSpec,
)


@dataclass(frozen=True)
class Options:
    ingest_url: str | None = None
    key: str | None = None
    vm_name: str | None = None  # OpenClaw: AGENTMON_VM_NAME
    openclaw_build: Path | None = None  # OpenClaw: the built hook and plugin
    handler_dir: Path | None = None  # where the handler commands are, if not on the PATH

    def hook_env(self) -> dict[str, str]:
        env = {"AGENTMON_INGEST_URL": self.ingest_url, "AGENTMON_API_KEY": self.key}
        return {name: value for name, value in env.items() if value}


@dataclass(frozen=True)
class FileChange:
    path: Path
    old: str | None  # None: the file does not exist
    new: str | None  # None: remove the file


@dataclass(frozen=True)
class TreeChange:
    target: Path
    source: Path | None  # None: remove the directory


@dataclass
class Plan:
    files: list[FileChange] = field(default_factory=list)
    trees: list[TreeChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def file(self, path: Path, old: str | None, new: str | None) -> None:
        if old != new:
            self.files.append(FileChange(path, old, new))


@dataclass(frozen=True)
class Wiring:
    wired: int
    expected: int
    detail: str = ""


def settings_path(spec: ToolSpec, override: Path | None = None) -> Path:
    if override is not None:
        return override.expanduser()
    moved = os.environ.get(spec.home_env) if spec.home_env else None
    home = Path(moved).expanduser() if moved else Path.home() / spec.home
    return home / spec.settings


def runs_handler(command: Any, handler: str) -> bool:
    """True for `handler`, `/path/to/handler` and `env VAR=value handler`."""
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
    elif isinstance(command, list):
        words = [str(word) for word in command]
    else:
        return False
    return bool(words) and Path(words[-1]).name == handler


def hook_argv(spec: ToolSpec, options: Options) -> list[str]:
    env = [f"{name}={value}" for name, value in options.hook_env().items()]
    handler = str(options.handler_dir / spec.handler) if options.handler_dir else spec.handler
    return ["env", *env, handler] if env else [handler]


def hook_command(spec: ToolSpec, options: Options) -> str:
    return shlex.join(hook_argv(spec, options))


def _finished(text: str, old: str | None, header: str | None) -> str | None:
    """The text to write: a new file gets the header; a file left with nothing but the
    header (or `{}`) goes away."""
    header_text = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    if text.strip() in ("", "{}", header_text.strip()):
        return None
    if header_text and not (old or "").strip():
        return header_text + "\n" + text
    return text


# --- Claude Code, Codex hooks.json and Gemini CLI: {"hooks": {Event: [group, ...]}} ---------


def claude_style_group(spec: ToolSpec, event_matcher: str | None, command: str) -> dict[str, Any]:
    hook: dict[str, Any] = {"name": spec.hook_name} if spec.hook_name else {}
    hook |= {"type": "command", "command": command, "timeout": spec.timeout}
    group: dict[str, Any] = {"matcher": event_matcher} if event_matcher else {}
    group["hooks"] = [hook]
    return group


def claude_style_hooks(spec: ToolSpec, options: Options) -> dict[str, list[Any]]:
    command = hook_command(spec, options)
    return {hook.event: [claude_style_group(spec, hook.matcher, command)] for hook in spec.hooks}


def _claude_style_strip(handler: str) -> docs.Strip:
    def strip(group: Any) -> Any:
        if not isinstance(group, MutableMapping) or not isinstance(group.get("hooks"), list):
            return group
        kept = [hook for hook in group["hooks"] if not _is_ours(hook, handler)]
        if len(kept) == len(group["hooks"]):
            return group
        if not kept:
            return None
        rest = copy.copy(group)
        rest["hooks"] = kept
        return rest

    return strip


def _is_ours(entry: Any, handler: str) -> bool:
    return isinstance(entry, MutableMapping) and runs_handler(entry.get("command"), handler)


def _hooks_map(document: MutableMapping[str, Any], path: Path) -> MutableMapping[str, Any]:
    hooks = document.setdefault("hooks", {})
    if not isinstance(hooks, MutableMapping):
        raise docs.HooksSetupError(f"{path}: 'hooks' is not a mapping; fix it first")
    return hooks


def _merge_hooks(
    document: MutableMapping[str, Any], path: Path, wanted: dict[str, list[Any]], strip: docs.Strip
) -> None:
    try:
        docs.merge_events(_hooks_map(document, path), wanted, strip)
    except docs.HooksSetupError as exc:
        raise docs.HooksSetupError(f"{path}: {exc}") from None


def _remove_hooks(document: MutableMapping[str, Any], strip: docs.Strip) -> None:
    """Our entries out; a `hooks` mapping we emptied goes too (one the user left empty stays)."""
    hooks = document.get("hooks")
    if isinstance(hooks, MutableMapping) and docs.remove_events(hooks, strip):
        docs.prune(document, ("hooks",))


def _plan_claude_style_json(
    plan: Plan, spec: ToolSpec, path: Path, install: bool, options: Options
) -> None:
    old = docs.read_text(path)
    document = docs.load_json(path, old)
    strip = _claude_style_strip(spec.handler)
    if install:
        _merge_hooks(document, path, claude_style_hooks(spec, options), strip)
    else:
        _remove_hooks(document, strip)
    plan.file(path, old, _finished(docs.dump_json(document, old), old, None))


def _count_events(events: Any, spec: ToolSpec, strip: docs.Strip) -> int:
    if not isinstance(events, MutableMapping):
        return 0
    return sum(
        any(strip(entry) is not entry for entry in events.get(hook.event) or [])
        for hook in spec.hooks
    )


def _json_wiring(spec: ToolSpec, path: Path) -> Wiring:
    document = docs.load_json(path, docs.read_text(path))
    wired = _count_events(document.get("hooks"), spec, _claude_style_strip(spec.handler))
    return Wiring(wired, len(spec.hooks))


def plan_claude_code(path: Path, install: bool, options: Options) -> Plan:
    plan = Plan()
    _plan_claude_style_json(plan, TOOLS["claude-code"], path, install, options)
    return plan


def plan_gemini(path: Path, install: bool, options: Options) -> Plan:
    plan = Plan()
    _plan_claude_style_json(plan, TOOLS["gemini-cli"], path, install, options)
    document = docs.load_json(path, docs.read_text(path))
    config = document.get("hooksConfig")
    if install and isinstance(config, MutableMapping) and config.get("enabled") is False:
        plan.notes.append(
            f"{path}: hooksConfig.enabled is false, so Gemini CLI runs no hooks at all; "
            "left as it is"
        )
    return plan


# --- Codex: config.toml (notify, [features] hooks) + hooks.json ----------------------------


def plan_codex(path: Path, install: bool, options: Options) -> Plan:
    spec = TOOLS["codex"]
    plan = Plan()
    old = docs.read_text(path)
    document = docs.load_toml(path, old)
    if install:
        _codex_install_config(document, hook_argv(spec, options), plan, path)
    else:
        _codex_uninstall_config(document, spec)
    text = docs.dump_toml(document)
    if not install and old:  # tomlkit leaves the blank line it put before a removed table
        text = text.rstrip("\n") + "\n" * (len(old) - len(old.rstrip("\n")))
    plan.file(path, old, _finished(text, old, NEW_FILE_HEADERS["codex"]))
    _plan_claude_style_json(plan, spec, path.parent / CODEX_HOOKS_FILE, install, options)
    return plan


def _codex_install_config(document: Any, argv: list[str], plan: Plan, path: Path) -> None:
    notify = document.get("notify")
    if notify is None or runs_handler(notify, TOOLS["codex"].handler):
        if notify != argv:
            document["notify"] = argv
    else:
        plan.notes.append(
            f"{path}: notify already runs {notify!r}; left as it is (Codex allows one notify "
            "program; the lifecycle hooks in hooks.json still report every turn)"
        )
    features = document.get("features")
    if features is None:
        import tomlkit

        features = tomlkit.table()
        document["features"] = features
    if "hooks" not in features:
        features["hooks"] = docs.toml_marked(True, MARK)
    elif features["hooks"] is not True:
        plan.notes.append(f"{path}: [features] hooks is {features['hooks']}; left as it is")
    _codex_trace_export(document, plan, path)


OTLP_LOGS_PATH, OTLP_TRACES_PATH = "/v1/logs", "/v1/traces"


def _codex_trace_export(document: Any, plan: Plan, path: Path) -> None:
    """Codex's OTel logs name no turn, so beside the hooks they would open a second run per
    turn and count its tokens again; its traces name the turn, and with them on the logs
    stand down (docs/integrations.md, Codex). An OTLP `[otel] exporter` without a
    `trace_exporter` gets one, marked, to the same place (`…/v1/logs` → `…/v1/traces`)."""
    exporter = _otel_logs_without_traces(document)
    if exporter is None:
        return
    traces = _codex_traces_like(exporter)
    if traces is None and isinstance(exporter, MutableMapping):  # not "none" or "statsig"
        plan.notes.append(
            f"{path}: [otel] exporter has no OTLP endpoint ending in {OTLP_LOGS_PATH}; no "
            "trace_exporter added: beside the hooks, Codex's logs alone count each turn twice"
        )
    if traces is None:
        return
    document["otel"]["trace_exporter"] = traces
    plan.notes.append(
        f"{path}: [otel] trace_exporter added beside exporter (Codex's logs name no turn; "
        "its traces do, so agentmon stores each turn once)"
    )


def _codex_traces_like(exporter: Any) -> Any:
    """A marked inline `trace_exporter` sending where the logs `exporter` does, or None."""
    import tomlkit

    plain = exporter.unwrap() if hasattr(exporter, "unwrap") else exporter
    if not isinstance(plain, dict) or len(plain) != 1:
        return None
    ((kind, settings),) = plain.items()
    endpoint = settings.get("endpoint") if isinstance(settings, dict) else None
    if kind not in ("otlp-http", "otlp-grpc") or not isinstance(endpoint, str):
        return None
    if kind == "otlp-http":
        if not endpoint.rstrip("/").endswith(OTLP_LOGS_PATH):
            return None
        endpoint = endpoint.rstrip("/").removesuffix(OTLP_LOGS_PATH) + OTLP_TRACES_PATH
    inner = tomlkit.inline_table()
    inner.update({**settings, "endpoint": endpoint})
    traces = tomlkit.inline_table()
    traces[kind] = inner
    traces.comment(MARK)
    return traces


def _codex_uninstall_config(document: Any, spec: ToolSpec) -> None:
    if runs_handler(document.get("notify"), spec.handler):
        del document["notify"]
    features = document.get("features")
    if features is not None and MARK in docs.toml_comment(features, "hooks"):
        del features["hooks"]
        if not features:
            del document["features"]
    otel = document.get("otel")
    if otel is not None and MARK in docs.toml_comment(otel, "trace_exporter"):
        del otel["trace_exporter"]


def _codex_wiring(path: Path) -> Wiring:
    spec = TOOLS["codex"]
    hooks = _json_wiring(spec, path.parent / CODEX_HOOKS_FILE)
    document = docs.load_toml(path, docs.read_text(path))
    notify = runs_handler(document.get("notify"), spec.handler)
    detail = "notify" if notify else "no notify"
    if isinstance(_otel_logs_without_traces(document), MutableMapping):  # OTLP logs alone
        detail += "; OTel logs without trace_exporter: turns counted twice (run install again)"
    return Wiring(hooks.wired + notify, hooks.expected + 1, detail)


def _otel_logs_without_traces(document: Any) -> Any:
    """The `[otel] exporter` of a config that has no `trace_exporter`, else None."""
    otel = document.get("otel")
    if not isinstance(otel, MutableMapping) or "trace_exporter" in otel:
        return None
    return otel.get("exporter")


# --- Hermes: config.yaml, hooks: {event: [{matcher?, command, timeout}]} -------------------


def hermes_hooks(options: Options) -> dict[str, list[Any]]:
    spec = TOOLS["hermes"]
    command = hook_command(spec, options)
    wanted: dict[str, list[Any]] = {}
    for hook in spec.hooks:
        entry: dict[str, Any] = {"matcher": hook.matcher} if hook.matcher else {}
        wanted[hook.event] = [entry | {"command": command, "timeout": spec.timeout}]
    return wanted


def _hermes_strip(entry: Any) -> Any:
    return None if _is_ours(entry, TOOLS["hermes"].handler) else entry


def plan_hermes(path: Path, install: bool, options: Options) -> Plan:
    plan = Plan()
    old = docs.read_text(path)
    document = docs.load_yaml(path, old)
    if install:
        _merge_hooks(document, path, hermes_hooks(options), _hermes_strip)
        plan.notes.append(
            "Hermes asks once per hook before running it: approve with `hermes hooks list`, "
            "or set hooks_auto_accept: true (or HERMES_ACCEPT_HOOKS=1) for gateway/cron runs"
        )
    else:
        _remove_hooks(document, _hermes_strip)
    plan.file(path, old, _finished(docs.dump_yaml(document), old, NEW_FILE_HEADERS["hermes"]))
    return plan


def _hermes_wiring(path: Path) -> Wiring:
    document = docs.load_yaml(path, docs.read_text(path))
    spec = TOOLS["hermes"]
    return Wiring(_count_events(document.get("hooks"), spec, _hermes_strip), len(spec.hooks))


# --- OpenClaw: hook + plugin directories, openclaw.json entries, .env ---------------------

ENV_BEGIN = f"# >>> {MARK} (agentmon hooks uninstall takes this block out)"
ENV_END = "# <<< agentmon"
OPENCLAW_PATHS = {
    ("hooks", "internal", "entries", OPENCLAW_ENTRY): OPENCLAW_HOOK_CONFIG,
    ("plugins", "entries", OPENCLAW_ENTRY): OPENCLAW_PLUGIN_CONFIG,
}


def openclaw_build_dir() -> Path:
    """Where `npm --prefix hooks/openclaw run build` lays out the hook and the plugin."""
    return Path(__file__).resolve().parents[3] / "hooks" / "openclaw" / "dist" / "install"


def plan_openclaw(path: Path, install: bool, options: Options) -> Plan:
    plan = Plan()
    home = path.parent
    targets = {"hook": home / "hooks" / OPENCLAW_ENTRY, "plugin": home / "extensions" / "agentmon"}
    if install:
        build = (options.openclaw_build or openclaw_build_dir()).expanduser()
        for part, target in targets.items():
            source = build / part / OPENCLAW_ENTRY
            if not source.is_dir():
                raise docs.HooksSetupError(
                    f"the OpenClaw {part} is not built ({source} is missing): run `npm --prefix "
                    "hooks/openclaw ci && npm --prefix hooks/openclaw run build` in an agentmon "
                    "checkout, or pass --openclaw-build DIR"
                )
            if not (target.is_dir() and _same_tree(source, target)):
                plan.trees.append(TreeChange(target, source))
    else:
        plan.trees += [TreeChange(target, None) for target in targets.values() if target.exists()]
    plan_openclaw_settings(plan, path, install, options)
    return plan


def plan_openclaw_settings(plan: Plan, path: Path, install: bool, options: Options) -> None:
    """openclaw.json's entries for the hook and the plugin, and the gateway's .env."""
    _plan_openclaw_config(plan, path, install)
    _plan_openclaw_env(plan, path.parent / ".env", install, options)


def _same_tree(left: Path, right: Path) -> bool:
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / sub, right / sub) for sub in compared.common_dirs)


def _plan_openclaw_config(plan: Plan, path: Path, install: bool) -> None:
    old = docs.read_text(path)
    document = docs.load_json(path, old)
    for keys, value in OPENCLAW_PATHS.items():
        parent: Any = document
        for key in keys[:-1]:
            if install:
                parent = parent.setdefault(key, {})
            elif isinstance(parent, MutableMapping):
                parent = parent.get(key)
        if not isinstance(parent, MutableMapping):
            if install:
                raise docs.HooksSetupError(f"{path}: {'.'.join(keys[:-1])} is not an object")
            continue
        if install:
            parent[keys[-1]] = copy.deepcopy(value)
        elif keys[-1] in parent:
            del parent[keys[-1]]
            docs.prune(document, keys[:-1])
    plan.file(path, old, _finished(docs.dump_json(document, old), old, None))


def _env_lines(options: Options) -> list[str]:
    values = {"AGENTMON_INGEST_URL": options.ingest_url or "http://127.0.0.1:8080"}
    if options.vm_name:
        values["AGENTMON_VM_NAME"] = options.vm_name
    if options.key:
        values["AGENTMON_API_KEY"] = options.key
    return [f"{name}={value}" for name, value in values.items()]


def _plan_openclaw_env(plan: Plan, path: Path, install: bool, options: Options) -> None:
    old = docs.read_text(path)
    lines = _without_block((old or "").splitlines())
    if install:
        theirs = {line.split("=", 1)[0].strip() for line in lines if "=" in line}
        ours = [line for line in _env_lines(options) if line.split("=", 1)[0] not in theirs]
        for name in sorted(theirs & {line.split("=", 1)[0] for line in _env_lines(options)}):
            plan.notes.append(f"{path}: {name} is already set there; left as it is")
        if ours:
            lines += [ENV_BEGIN, *ours, ENV_END]
    text = "".join(f"{line}\n" for line in lines)
    plan.file(path, old, text if text.strip() else None)


def _without_block(lines: list[str]) -> list[str]:
    if ENV_BEGIN not in lines:
        return lines
    start = lines.index(ENV_BEGIN)
    end = lines.index(ENV_END, start) if ENV_END in lines[start:] else len(lines) - 1
    return lines[:start] + lines[end + 1 :]


def _openclaw_wiring(path: Path) -> Wiring:
    home = path.parent
    document = docs.load_json(path, docs.read_text(path))
    wired = 0
    for keys in OPENCLAW_PATHS:
        node: Any = document
        for key in keys:
            node = node.get(key) if isinstance(node, MutableMapping) else None
        wired += isinstance(node, MutableMapping) and node.get("enabled") is True
    wired += (home / "hooks" / OPENCLAW_ENTRY / "HOOK.md").is_file()
    wired += (home / "extensions" / OPENCLAW_ENTRY / "openclaw.plugin.json").is_file()
    env = docs.read_text(home / ".env") or ""
    return Wiring(wired, 4, "AGENTMON_INGEST_URL set" if "AGENTMON_INGEST_URL=" in env else "")


PLANNERS: dict[str, Callable[[Path, bool, Options], Plan]] = {
    "claude-code": plan_claude_code,
    "codex": plan_codex,
    "gemini-cli": plan_gemini,
    "hermes": plan_hermes,
    "openclaw": plan_openclaw,
}
WIRING: dict[str, Callable[[Path], Wiring]] = {
    "claude-code": lambda path: _json_wiring(TOOLS["claude-code"], path),
    "codex": _codex_wiring,
    "gemini-cli": lambda path: _json_wiring(TOOLS["gemini-cli"], path),
    "hermes": _hermes_wiring,
    "openclaw": _openclaw_wiring,
}
