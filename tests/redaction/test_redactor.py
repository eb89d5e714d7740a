"""The redactor alone: every kind, where strings hide in an envelope, what it leaves alone,
the user's own patterns and the rule set's translation to Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentmon.config import Settings
from agentmon.events import new_event
from agentmon.redaction import (
    PatternError,
    RedactingIntake,
    Redactor,
    build_redactor,
    builtin_rules,
    python_regex,
    with_redaction,
)

from .samples import payload_with_every_sample, samples


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return build_redactor()


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.kind)
def test_each_kind_is_replaced_by_its_marker(redactor: Redactor, sample: Any) -> None:
    redacted = redactor.text(sample.text)
    assert sample.secret not in redacted
    assert sample.marker in redacted


def test_the_text_around_a_secret_is_kept(redactor: Redactor) -> None:
    assert (
        redactor.text("psql postgresql://agent:hunter2hunter2@db:5432/app -c 'select 1'")
        == "psql postgresql://agent:[redacted:connection-string-password]@db:5432/app -c 'select 1'"
    )
    assert redactor.text('{"password": "n0t-for-you", "user": "ada"}') == (
        '{"password": "[redacted:secret-assignment]", "user": "ada"}'
    )
    assert redactor.text("Authorization: Bearer abc123def456\nAccept: */*") == (
        "Authorization: Bearer [redacted:authorization-header]\nAccept: */*"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a7f3c9e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2",  # a git SHA
        "commit a7f3c9e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2 (HEAD -> main)",
        "6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",  # a UUID
        "Please enter your password to continue.",
        "The token is valid for 5 minutes; password resets are sent by mail.",
        "Reset the password: see the wiki for how.",
        "max_tokens=1000 temperature=0.2 top_k=40",
        "The Authorization header is missing",
        "ls -la /home/ada/src/app && git status",
        "https://github.com/org/repo/blob/main/src/app.py#L12",
        "password=${DB_PASSWORD}",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "the key facts: api usage rose, auth failed twice",
    ],
)
def test_ordinary_text_is_left_alone(redactor: Redactor, text: str) -> None:
    assert redactor.text(text) == text


CHILD_KEY = "agent:main:subagent:6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize(
    "text",
    [
        # the prompt OpenClaw gives a parent when its sub-agent is done
        "[Internal task completion event]\nsource: subagent\n"
        f"session_key: {CHILD_KEY}\nsession_id: 6f1c2d3e\ntype: subagent task\n",
        f"session_key: {CHILD_KEY}",
        "session_key: agent:main:main",
        f'{{"sessionKey": "{CHILD_KEY}", "status": "accepted"}}',
        f'{{\\"sessionKey\\": \\"{CHILD_KEY}\\"}}',  # JSON in a JSON string
        f"openclaw sessions compact sessionKey={CHILD_KEY}",
        f"Résumé\nSESSION_KEY: '{CHILD_KEY}'\n",  # not ASCII: the rules scan the whole text
    ],
)
def test_an_openclaw_session_key_is_not_a_secret(redactor: Redactor, text: str) -> None:
    assert redactor.text(text) == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("api_key: sk-live-4f9a8b7c6d5e", "api_key: [redacted:secret-assignment]"),
        # another name holding what looks like a session key, or a session key that is not one
        (f"api_key: {CHILD_KEY}", "api_key: [redacted:secret-assignment]"),
        (f'{{"private_key": "{CHILD_KEY}"}}', '{"private_key": "[redacted:secret-assignment]"}'),
        ("session_key: 9f86d081884c7d65", "session_key: [redacted:secret-assignment]"),
        ('{"sessionKey": "agentless:9f86d081"}', '{"sessionKey": "[redacted:secret-assignment]"}'),
        # a secret beside a session key
        (
            f'{{"sessionKey": "{CHILD_KEY}", "api_key": "sk-live-4f9a8b7c6d5e"}}',
            f'{{"sessionKey": "{CHILD_KEY}", "api_key": "[redacted:secret-assignment]"}}',
        ),
        (
            f"session_key: {CHILD_KEY}\npassword: n0t-for-you\n",
            f"session_key: {CHILD_KEY}\npassword: [redacted:secret-assignment]\n",
        ),
        (
            f"Résumé sessionKey={CHILD_KEY} token=4f9a8b7c6d5e",
            f"Résumé sessionKey={CHILD_KEY} token=[redacted:secret-assignment]",
        ),
    ],
)
def test_secrets_named_key_still_are(redactor: Redactor, text: str, redacted: str) -> None:
    assert redactor.text(text) == redacted


def test_redacting_twice_changes_nothing_more(redactor: Redactor) -> None:
    once = redactor.text("\n".join(s.text for s in samples()))
    assert redactor.text(once) == once


def test_every_string_of_payload_and_attributes_keys_included(redactor: Redactor) -> None:
    found = samples()
    envelope = new_event(
        "span.start",
        framework="test",
        session_id="s",
        payload=payload_with_every_sample(found),
        attributes={"http.request.header": [found[-3].text], "tool": {"k": found[0].text}},
    )
    redactor.envelope(envelope)
    text = repr((envelope.payload, envelope.attributes))
    for sample in found:
        assert sample.secret not in text
        assert sample.marker in text
    assert envelope.payload["env"] == {"[redacted:github-pat]": "a key as a key"}
    assert envelope.payload["kind"] == "tool"  # fields the read models use are untouched


def test_numbers_booleans_and_nulls_pass_through(redactor: Redactor) -> None:
    tree = {"usage": {"input_tokens": 100}, "ok": True, "none": None, "ratio": 0.5}
    assert redactor.tree(tree) == {
        "usage": {"input_tokens": 100},
        "ok": True,
        "none": None,
        "ratio": 0.5,
    }


def test_user_patterns_add_kinds(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns"
    patterns.write_text(
        "# ours\n\nemployee-id = \\bEMP-[0-9]{6}\\b\ninternal-host = (?i)host=(\\w+)\\.corp\\b\n"
    )
    redactor = build_redactor(patterns)
    assert redactor.text("EMP-123456 logged in") == "[redacted:employee-id] logged in"
    assert redactor.text("host=db1.corp") == "host=[redacted:internal-host].corp"
    assert redactor.text("EMP") == "EMP"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("no equals sign here\n", "line 1: expected `kind = regex`"),
        ("\nbad kind! = x\n", "line 2: expected `kind = regex`"),
        ("ok = (unclosed\n", "line 1: '(unclosed' is not a regular expression"),
    ],
)
def test_a_bad_pattern_file_names_the_line(tmp_path: Path, content: str, problem: str) -> None:
    patterns = tmp_path / "patterns"
    patterns.write_text(content)
    with pytest.raises(PatternError, match=problem.replace("(", r"\(")):
        build_redactor(patterns)


def test_a_missing_pattern_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PatternError, match="cannot read"):
        build_redactor(tmp_path / "absent")


def test_every_vendored_rule_compiles_in_python() -> None:
    rules, _ = builtin_rules()
    assert len(rules) > 200
    for rule in rules:
        assert rule.pattern.pattern == rule.regex
        assert isinstance(rule.allowlists, tuple)


@pytest.mark.parametrize(
    ("go", "python"),
    [
        (r"\b(p8e-(?i)[a-z0-9]{32})(?:x|$)", r"\b(p8e-(?i:[a-z0-9]{32}))(?:x|$)"),
        (r"a(?:b|c\z)", r"a(?:b|c\Z)"),
        (r"\b(pat[[:alnum:]]{14})", r"\b(pat[a-zA-Z0-9]{14})"),
        (r"(?i)[\w.-]{0,50}?(?:access|auth)=x", r"(?i)(?:access|auth)=x"),
        (r"[\w.-]{0,50}?(?i:[\w.-]{0,50}?(?:okta))=", r"(?i:(?:okta))="),
        (r"x[[]y", r"x[\[]y"),
    ],
)
def test_gitleaks_regexes_become_python_ones(go: str, python: str) -> None:
    assert python_regex(go) == python


class Recorder:
    def __init__(self) -> None:
        self.accepted: list[Any] = []

    async def accept(self, events: list[Any]) -> None:
        self.accepted += events

    async def health(self) -> dict[str, str]:
        return {"bus": "ok"}


async def test_the_intake_redacts_before_the_inner_one_sees_the_events() -> None:
    inner = Recorder()
    intake = with_redaction(inner, Settings())
    assert isinstance(intake, RedactingIntake)
    sample = samples()[0]
    await intake.accept([new_event("error", framework="t", payload={"message": sample.text})])
    assert (
        inner.accepted[0].payload["message"]
        == f"aws configure set aws_access_key_id {sample.marker}"
    )
    assert await intake.health() == {"bus": "ok"}


def test_turned_off_the_intake_is_the_inner_one() -> None:
    inner = Recorder()
    assert with_redaction(inner, Settings(redact=False)) is inner


@pytest.mark.parametrize(
    "text",
    [
        'api_key = "Zx81Kq0Lm2Nv7Bc4"',
        "export SECRET_TOKEN=9f8e7d6c5b4a3f2e1d0c and AUTH: 73hf92jf83hg72hd",
        "credentials: Q29udGVudC0xMjM0NTY3ODkw",
        "PASSWORD => 'x8Kd93Lm20Qp'",
        "the key facts; api usage; token counts",
        "accesskey=AbC123dEf456GhI789",
    ],
)
def test_anchored_rules_find_what_a_full_scan_finds(redactor: Redactor, text: str) -> None:
    for rule in redactor.rules:
        if rule.anchored:
            assert redactor._apply_at_keywords(rule, text) == redactor._apply(rule, text)
