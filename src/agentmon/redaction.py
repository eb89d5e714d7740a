"""Secrets never reach the store: values that look like secrets are replaced at ingest.

Every string in an envelope's `payload` and `attributes` (dictionary keys included) is
matched against the gitleaks default rule set (vendored in `redaction_data/`, MIT), agentmon's
own rules for what gitleaks leaves to context (Authorization headers, `password=`
assignments, passwords in connection strings) and the user's own patterns
(`AGENTMON_REDACT_PATTERNS`). A secret is replaced by `[redacted:<kind>]`.

It has to be cheap, since it sees every event: a string runs only the rules whose keywords
it contains (as gitleaks does), found for all rules at once by one Aho-Corasick scan, and
strings shorter than any built-in secret are not looked at.

`RedactingIntake` wraps the one `Intake` every ingest path shares (native POST and
WebSocket, OTLP, the VM monitor, the demo), so redaction happens once, before the bus. Big
batches are redacted in a worker thread, so they do not stall the other requests.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
from ahocorasick_rs import AhoCorasick, MatchKind
from anyio import CapacityLimiter, to_thread

from agentmon.config import Settings
from agentmon.events import Envelope
from agentmon.intake import Intake

_encode = msgspec.json.Encoder().encode
MARKER = "[redacted:{kind}]"
MARKER_PREFIX = "[redacted:"
MIN_SECRET_TEXT = 8
"""Strings shorter than this hold no built-in rule's secret (user patterns see every string)."""
MAX_KNOWN_KEYS = 10_000
ANCHORED_GITLEAKS = frozenset({"generic-api-key"})
"""gitleaks rules whose every match, once the leading `[\\w.-]{0,50}?` is dropped, starts
with one of their keywords (see `Rule.anchored`): the costly ones that run most often."""
RENAMED_KINDS = {"aws-access-token": "aws-access-key"}
"""gitleaks rule ids shown under the name agentmon documents."""


class PatternError(ValueError):
    """A user pattern file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Allowlist:
    """A gitleaks allowlist: a found secret is kept when its regexes or stopwords say so."""

    regexes: tuple[re.Pattern[str], ...] = ()
    target: str = "secret"  # or "match" or "line"
    stopwords: re.Pattern[str] | None = None
    all_required: bool = False  # gitleaks' condition = "AND"
    never: bool = False  # it needs a path or commit, which events do not have

    def allows(self, secret: str, match: str, line: str) -> bool:
        if self.never:
            return False
        subject = {"secret": secret, "match": match, "line": line}[self.target]
        checks = []
        if self.regexes:
            checks.append(any(regex.search(subject) for regex in self.regexes))
        if self.stopwords is not None:
            checks.append(self.stopwords.search(secret.lower()) is not None)
        return all(checks) if self.all_required else any(checks)


@dataclass
class Rule:
    """One kind of secret. Its regexes compile on first use: most rules never see their
    keywords, and compiling all of gitleaks' would add a second to every start."""

    kind: str
    regex: str  # Python's dialect
    keywords: tuple[str, ...]  # lower case; empty: the rule runs on every string
    entropy: float = 0.0  # the secret's Shannon entropy must exceed this
    secret_group: int = 0  # 0: the first group that matched, else the whole match
    allowlist_specs: tuple[dict[str, Any], ...] = ()
    needs_digit: bool = False  # gitleaks' extra condition on its generic rules
    anchored: bool = False  # every match starts with one of the keywords

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    @cached_property
    def allowlists(self) -> tuple[Allowlist, ...]:
        return tuple(_allowlist(spec) for spec in self.allowlist_specs)


class Redactor:
    """Rewrites strings so no secret any rule finds is left in them."""

    def __init__(self, rules: list[Rule], allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self.rules = rules
        self.always = [rule for rule in rules if not rule.keywords]
        self.min_length = MIN_SECRET_TEXT if not self.always else 1
        self.known_keys: dict[str, str] = {}
        by_keyword: dict[str, list[int]] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                by_keyword.setdefault(keyword, []).append(index)
        self.keywords = list(by_keyword)
        self.rules_of = [by_keyword[keyword] for keyword in self.keywords]
        self.triggers = AhoCorasick(self.keywords, matchkind=MatchKind.Standard)

    def text(self, value: str) -> str:
        """`value` with every secret replaced by its marker."""
        if len(value) < self.min_length:
            return value
        found = self._keywords_in(value)
        if not found and not self.always:
            return value
        indexes = {index for keyword, _, _ in found for index in self.rules_of[keyword]}
        for index in sorted(indexes):
            rule = self.rules[index]
            if rule.anchored and value.isascii():  # lower() keeps ASCII positions
                value = self._apply_at_keywords(rule, value)
            else:
                value = self._apply(rule, value)
        for rule in self.always:
            value = self._apply(rule, value)
        return value

    def _keywords_in(self, value: str) -> list[tuple[int, int, int]]:
        """(keyword, start, end) of every keyword in `value`."""
        found: list[tuple[int, int, int]] = self.triggers.find_matches_as_indexes(
            value.lower(), overlapping=True
        )
        return found

    def _apply_at_keywords(self, rule: Rule, text: str) -> str:
        """A rule whose match starts at one of its keywords, tried only there: a regex
        scanned over a long text costs Python's matcher a try at every position."""
        keywords = set(rule.keywords)
        starts = sorted(
            start for k, start, _ in self._keywords_in(text) if self.keywords[k] in keywords
        )
        pieces, done = [], 0
        for start in starts:
            match = rule.pattern.match(text, start) if start >= done else None
            if match and match.end() > start:
                pieces += [text[done:start], self._replacement(rule, match, text)]
                done = match.end()
        return "".join(pieces) + text[done:] if pieces else text

    def tree(self, value: Any) -> Any:
        """A JSON value with every string (and key) redacted; containers change in place."""
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is dict:
            changed_keys = False
            for key, item in value.items():
                if type(item) is not str or len(item) >= self.min_length:
                    value[key] = self.tree(item)
                if type(key) is str and len(key) >= self.min_length and self._key(key) != key:
                    changed_keys = True
            if changed_keys:
                redacted = {self._key(k) if type(k) is str else k: v for k, v in value.items()}
                value.clear()
                value.update(redacted)
        elif kind is list:
            for index, item in enumerate(value):
                value[index] = self.tree(item)
        return value

    def _key(self, key: str) -> str:
        """Keys come from a small vocabulary ("input_tokens" holds a keyword): remembered."""
        redacted = self.known_keys.get(key)
        if redacted is None:
            if len(self.known_keys) >= MAX_KNOWN_KEYS:
                self.known_keys.clear()
            redacted = self.known_keys[key] = self.text(key)
        return redacted

    def envelope(self, envelope: Envelope) -> None:
        self.tree(envelope.payload)
        if envelope.attributes:
            self.tree(envelope.attributes)

    def _apply(self, rule: Rule, text: str) -> str:
        return rule.pattern.sub(lambda match: self._replacement(rule, match, text), text)

    def _replacement(self, rule: Rule, match: re.Match[str], text: str) -> str:
        """The match with its secret replaced by the marker, or as it is if allowed."""
        group = _secret_group(match, rule.secret_group)
        secret = match.group(group)
        if not secret or self._allowed(rule, secret, match, text):
            return match.group(0)
        start, end = match.start(group) - match.start(), match.end(group) - match.start()
        whole = match.group(0)
        return whole[:start] + MARKER.format(kind=rule.kind) + whole[end:]

    def _allowed(self, rule: Rule, secret: str, match: re.Match[str], text: str) -> bool:
        if secret.startswith(MARKER_PREFIX):
            return True
        if rule.entropy and shannon_entropy(secret) <= rule.entropy:
            return True
        if rule.needs_digit and not any(c.isdigit() for c in secret):
            return True
        if self.allowlist.allows(secret, secret, secret):
            return True
        if not rule.allowlists:
            return False
        line = _line_around(text, match.start(), match.end())
        return any(allow.allows(secret, match.group(0), line) for allow in rule.allowlists)


def _secret_group(match: re.Match[str], configured: int) -> int:
    if configured:
        return configured
    return next((i for i, group in enumerate(match.groups(), 1) if group), 0)


def _line_around(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return text[line_start : line_end if line_end >= 0 else len(text)]


def shannon_entropy(text: str) -> float:
    """Bits per character, as gitleaks computes it."""
    length = len(text)
    return -sum(n / length * math.log2(n / length) for n in Counter(text).values())


# ---------------------------------------------------------------------------------------
# Rules from the vendored gitleaks set, agentmon's own file and the user's patterns


_LEADING_CONTEXT = re.compile(r"^((?:\(\?i[:)])?)\[\\w\.-\]\{0,50\}\?")


def python_regex(pattern: str) -> str:
    """A gitleaks (Go RE2) regex in Python's dialect, and faster there.

    `\\z` → `\\Z`; `[:alnum:]` → `a-zA-Z0-9`; a flag group such as `(?i)` in mid-pattern
    (Python allows those only at the start) → `(?i:…)` up to the end of its enclosing group;
    a leading `[\\w.-]{0,50}?` (the name a key may carry before its keyword) is dropped: it
    can only widen the match, never changes the secret, and costs Python's backtracking
    matcher fifty tries at every position of the text."""
    for _ in range(2):
        pattern = _LEADING_CONTEXT.sub(r"\1", pattern)
    pattern = pattern.replace("[:alnum:]", "a-zA-Z0-9")
    if "\\z" not in pattern and "[[" not in pattern and "(?" not in pattern[1:]:
        return pattern  # most of them: nothing to translate
    out: list[str] = []
    closers: list[int] = [0]  # per open group: flag groups opened inside it, still to close
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index : index + 2]
            out.append("\\Z" if escaped == "\\z" else escaped)
            index += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append("\\[" if char == "[" else char)
        elif char == "[":
            in_class = True
            out.append(char)
            if pattern[index + 1 : index + 2] == "^":
                out.append("^")
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                out.append("\\]")
                index += 1
        elif (flags := re.match(r"\(\?[a-zA-Z]+\)", pattern[index:])) and index > 0:
            out.append(flags.group(0)[:-1] + ":")
            closers[-1] += 1
            index += len(flags.group(0))
            continue
        elif char == "(":
            closers.append(0)
            out.append(char)
        elif char == ")":
            out.append(")" * closers.pop() + ")")
        else:
            out.append(char)
        index += 1
    return "".join(out) + ")" * closers[0]


def _allowlist(spec: dict[str, Any]) -> Allowlist:
    stopwords = spec.get("stopwords") or []
    return Allowlist(
        regexes=tuple(re.compile(python_regex(r)) for r in spec.get("regexes", [])),
        target=spec.get("regexTarget", "secret"),
        stopwords=_any_of(w.lower() for w in stopwords) if stopwords else None,
        all_required=spec.get("condition", "OR").upper() == "AND",
        never=not (spec.get("regexes") or stopwords)
        or (spec.get("condition", "OR").upper() == "AND" and bool(spec.get("paths"))),
    )


def _any_of(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, sorted(set(words), key=len, reverse=True))))


def _rule(spec: dict[str, Any]) -> Rule:
    kind = RENAMED_KINDS.get(spec["id"], spec["id"])
    return Rule(
        kind=kind,
        regex=python_regex(spec["regex"]),
        keywords=tuple(k.lower() for k in spec.get("keywords", [])),
        entropy=float(spec.get("entropy", 0.0)),
        secret_group=int(spec.get("secretGroup", 0)),
        allowlist_specs=tuple(spec.get("allowlists", [])),
        needs_digit=kind.startswith("generic") and bool(spec.get("entropy")),
        anchored=bool(spec.get("anchored", False)) or spec["id"] in ANCHORED_GITLEAKS,
    )


def _rule_file(name: str) -> dict[str, Any]:
    data = resources.files("agentmon").joinpath("redaction_data", name).read_text("utf-8")
    return tomllib.loads(data)


def builtin_rules() -> tuple[list[Rule], Allowlist]:
    """gitleaks' rules (content rules only: path rules say nothing about text), then
    agentmon's, then gitleaks' generic ones, so a specific kind names a secret first."""
    gitleaks = _rule_file("gitleaks.toml")
    specs = [spec for spec in gitleaks["rules"] if "regex" in spec]
    generic = [spec for spec in specs if spec["id"].startswith("generic")]
    specific = [spec for spec in specs if not spec["id"].startswith("generic")]
    ordered = specific + _rule_file("agentmon.toml")["rules"] + generic
    return [_rule(spec) for spec in ordered], _allowlist(gitleaks.get("allowlist", {}))


def user_rules(path: Path) -> list[Rule]:
    """`kind = regex` lines (blank lines and `#` comments skipped); the secret is the
    pattern's first group that matched, or the whole match."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PatternError(f"cannot read the redaction patterns in {path}: {exc}") from None
    rules = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        kind, equals, regex = (part.strip() for part in line.partition("="))
        where = f"{path} line {number}"
        if not equals or not re.fullmatch(r"[A-Za-z0-9_.-]+", kind) or not regex:
            raise PatternError(f"{where}: expected `kind = regex`, got {line.strip()!r}")
        rule = Rule(kind=kind, regex=regex, keywords=())
        try:
            rule.pattern  # noqa: B018 (compiles it, so a bad one is refused at start)
        except re.error as exc:
            raise PatternError(f"{where}: {regex!r} is not a regular expression: {exc}") from None
        rules.append(rule)
    return rules


def build_redactor(patterns: Path | None = None) -> Redactor:
    rules, allowlist = builtin_rules()
    if patterns is not None:
        rules += user_rules(patterns)
    return Redactor(rules, allowlist)


# ---------------------------------------------------------------------------------------
# Where it runs


OFFLOAD_BYTES = 64 * 1024
"""A batch with at least this much payload is redacted in a worker thread: a few
milliseconds of work and more (a 16 MiB body takes seconds) would otherwise stall every
other request on the event loop; below it the thread hop would cost more than it saves."""
REDACTION_THREADS = 2


class RedactingIntake:
    """An `Intake` that redacts the events, then hands them to the one it wraps: each batch
    whole before it goes on, so the order of a caller's batches and their exactly-once
    delivery are what the inner intake makes of them."""

    def __init__(
        self, inner: Intake, redactor: Redactor, offload_bytes: int = OFFLOAD_BYTES
    ) -> None:
        self.inner = inner
        self.redactor = redactor
        self.offload_bytes = offload_bytes
        self._threads: CapacityLimiter | None = None

    async def accept(self, events: list[Envelope]) -> None:
        if _payload_reaches(events, self.offload_bytes):
            if self._threads is None:
                self._threads = CapacityLimiter(REDACTION_THREADS)
            await to_thread.run_sync(self._redact, events, limiter=self._threads)
        else:
            self._redact(events)
        await self.inner.accept(events)

    def _redact(self, events: list[Envelope]) -> None:
        for envelope in events:
            self.redactor.envelope(envelope)

    async def health(self) -> dict[str, str]:
        return await self.inner.health()


def _payload_reaches(events: list[Envelope], limit: int) -> bool:
    """Whether the events' payloads and attributes come to `limit` bytes of JSON (counted
    at msgspec's speed, stopping as soon as they do)."""
    total = 0
    for envelope in events:
        try:
            total += len(_encode(envelope.payload)) + len(_encode(envelope.attributes))
        except (TypeError, ValueError):  # not JSON as it stands: size unknown, so big
            return True
        if total >= limit:
            return True
    return False


def with_redaction(intake: Intake, settings: Settings) -> Intake:
    """`intake` behind redaction, or `intake` itself with AGENTMON_REDACT=off; a pattern
    file that cannot be used stops the start with one line."""
    if not settings.redact:
        return intake
    try:
        redactor = build_redactor(settings.redact_patterns)
    except PatternError as exc:
        raise SystemExit(f"AGENTMON_REDACT_PATTERNS: {exc}") from None
    return RedactingIntake(intake, redactor)
