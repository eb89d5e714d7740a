"""Every subcommand describes itself; every flag's help gives its default and the
environment variable behind it (walking the real argparse parser)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from agentmon.cli import build_parser
from agentmon.config import SETTINGS, env_name

ANNOTATION = re.compile(r"\(default: (?P<default>[^;]+); env: (?P<env>[^)]+)\)$")


def parsers(
    parser: argparse.ArgumentParser, name: str = "agentmon"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def flags(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if action.option_strings and not isinstance(
            action, argparse._HelpAction | argparse._VersionAction
        ):
            yield action


def test_every_command_has_a_description() -> None:
    found = dict(parsers(build_parser()))
    for expected in ("serve", "migrate", "config", "hooks install", "hooks status", "demo"):
        assert f"agentmon {expected}" in found
    for name, parser in found.items():
        assert parser.description and len(parser.description) > 20, name


def test_every_flag_shows_its_default_and_variable() -> None:
    checked = 0
    for name, parser in parsers(build_parser()):
        for action in flags(parser):
            match = ANNOTATION.search(" ".join(str(action.help).split()))
            assert match, f"{name} {action.option_strings[0]}: {action.help}"
            setting = {"registry": "openclaw_registry", "interval": "poll_interval"}.get(
                action.dest, action.dest
            )
            if setting in SETTINGS:
                assert match["env"] == env_name(setting), f"{name} {action.option_strings[0]}"
            checked += 1
    assert checked > 40


def test_address_flags_show_their_own_defaults() -> None:
    help_text = " ".join(dict(parsers(build_parser()))["agentmon serve"].format_help().split())
    for flag, default, env in (
        ("--addr", ":8080", "AGENTMON_ADDR"),
        ("--query-addr", ":8081", "AGENTMON_QUERY_ADDR"),
        ("--ui-addr", ":8082", "AGENTMON_UI_ADDR"),
        ("--otlp-addr", ":4318", "AGENTMON_OTLP_ADDR"),
    ):
        assert f"(default: {default}; env: {env})" in help_text, flag
