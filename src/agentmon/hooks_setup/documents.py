"""Reading and writing each tool's settings format, keeping what the user wrote: JSON keeps
key order and indentation, TOML (tomlkit) and YAML (ruamel.yaml) keep comments too."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any


class HooksSetupError(Exception):
    """What stops an install; the message is one line for the user."""


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


# --- JSON ---------------------------------------------------------------------------------


def load_json(path: Path, text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HooksSetupError(
            f"{path} is not plain JSON ({exc}); comments and trailing commas cannot be kept "
            "by the installer: merge the sample from examples/ by hand"
        ) from None
    if not isinstance(document, dict):
        raise HooksSetupError(f"{path} does not hold a JSON object")
    return document


def dump_json(document: dict[str, Any], like: str | None) -> str:
    """Indented as the file was (two spaces for a new file)."""
    indent = 2
    if like:
        found = re.search(r"^\{\s*\n([ \t]+)\S", like)
        if found:
            indent = len(found.group(1).expandtabs(4))
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"


# --- TOML ---------------------------------------------------------------------------------


def _tomlkit() -> Any:
    try:
        import tomlkit
    except ImportError:
        raise HooksSetupError(
            "editing TOML needs tomlkit: pip install 'agentmon-fleet[hooks]'"
        ) from None
    return tomlkit


def load_toml(path: Path, text: str | None) -> Any:
    tomlkit = _tomlkit()
    try:
        return tomlkit.parse(text or "")
    except Exception as exc:  # tomlkit raises its own ParseError subclasses
        raise HooksSetupError(f"{path} is not valid TOML ({exc})") from None


def dump_toml(document: Any) -> str:
    return str(_tomlkit().dumps(document))


def toml_marked(value: Any, mark: str) -> Any:
    item = _tomlkit().item(value)
    item.comment(mark)
    return item


def toml_comment(container: Any, key: str) -> str:
    """The comment at the end of `key`'s line, '' when there is none (or no such key)."""
    if not hasattr(container, "item") or key not in container:
        return ""
    item = container.item(key)
    return str(item.trivia.comment) if hasattr(item, "trivia") else ""


# --- YAML ---------------------------------------------------------------------------------


def _yaml() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError:
        raise HooksSetupError(
            "editing YAML needs ruamel.yaml: pip install 'agentmon-fleet[hooks]'"
        ) from None
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_yaml(path: Path, text: str | None) -> Any:
    yaml = _yaml()
    try:
        document = yaml.load(text or "")
    except Exception as exc:  # ruamel raises many error types, all with a location
        raise HooksSetupError(f"{path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if document is None:
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()
    if not isinstance(document, MutableMapping):
        raise HooksSetupError(f"{path} does not hold a YAML mapping")
    return document


def dump_yaml(document: Any) -> str:
    if not document:
        return ""
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


# --- Event lists shared by the Claude-style and Hermes formats -----------------------------

Strip = Callable[[Any], Any]  # an entry without our hooks: the same object, a copy, or None


def _without_ours(entries: list[Any], strip: Strip) -> list[tuple[int, Any]]:
    """(index, what remains or None) for every entry that holds something of ours."""
    return [(i, rest) for i, entry in enumerate(entries) if (rest := strip(entry)) is not entry]


def _drop_ours(entries: list[Any], strip: Strip) -> bool:
    changes = _without_ours(entries, strip)
    for index, rest in reversed(changes):
        if rest is None:
            del entries[index]
        else:
            entries[index] = rest
    return bool(changes)


def merge_events(
    events: MutableMapping[str, Any], wanted: dict[str, list[Any]], strip: Strip
) -> None:
    """Our entries in `events` become exactly `wanted`; every other entry stays as it was."""
    remove_events(events, strip, keep=set(wanted))
    for event, entries in wanted.items():
        current = events.get(event)
        if current is None:
            events[event] = list(entries)
            continue
        if not isinstance(current, list):
            raise HooksSetupError(f"hooks.{event} is not a list; fix it first")
        ours = [entry for entry in current if strip(entry) is not entry]
        if ours == entries:
            continue
        _drop_ours(current, strip)
        current.extend(entries)


def remove_events(
    events: MutableMapping[str, Any], strip: Strip, keep: set[str] | None = None
) -> bool:
    """Takes our entries out of every event (but those in `keep`); events left empty go.
    True when something was taken out."""
    changed = False
    for event in list(events):
        current = events[event]
        if (keep and event in keep) or not isinstance(current, list):
            continue
        if _drop_ours(current, strip):
            changed = True
            if not current:
                del events[event]
    return changed


def prune(document: MutableMapping[str, Any], path: tuple[str, ...]) -> None:
    """Deletes the mapping at `path` and its parents while they are empty."""
    for depth in range(len(path), 0, -1):
        parent: Any = document
        for key in path[: depth - 1]:
            parent = parent.get(key)
            if not isinstance(parent, MutableMapping):
                return
        child = parent.get(path[depth - 1])
        if not isinstance(child, MutableMapping) or child:
            return
        del parent[path[depth - 1]]
