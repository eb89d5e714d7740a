"""One sample of each secret kind agentmon must redact, built at random (so no rule's
allowlist of published examples can let it through), with the marker it must leave."""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass
from typing import Any

ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Sample:
    kind: str
    text: str  # how the secret appears in agent telemetry
    secret: str  # what must never be stored

    @property
    def marker(self) -> str:
        return f"[redacted:{self.kind}]"


def _random(alphabet: str, length: int, rng: random.Random) -> str:
    # at least one digit and one letter, as real keys have (gitleaks checks entropy)
    while True:
        text = "".join(rng.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in text) or not any(c.isdigit() for c in alphabet):
            return text


def _jwt(rng: random.Random) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"sub": _random(ALNUM, 12, rng), "name": "Ada Lovelace", "iat": 1733400000}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{_random(ALNUM, 43, rng)}"


def samples(seed: int = 7) -> list[Sample]:
    rng = random.Random(seed)
    aws = "AKIA" + _random(string.ascii_uppercase + "234567", 16, rng)
    ghp = "ghp_" + _random(ALNUM, 36, rng)
    glpat = "glpat-" + _random(ALNUM, 20, rng)
    openai = f"sk-proj-{_random(ALNUM, 74, rng)}T3BlbkFJ{_random(ALNUM, 74, rng)}"
    anthropic = f"sk-ant-api03-{_random(ALNUM, 93, rng)}AA"
    google = "AIza" + _random(ALNUM, 35, rng)
    slack = f"xoxb-{_random(string.digits, 10, rng)}-{_random(string.digits, 13, rng)}-" + (
        _random(ALNUM, 24, rng)
    )
    jwt = _jwt(rng)
    key_lines = [_random(ALNUM + "+/", 64, rng) for _ in range(4)]
    key_body = "\n".join(key_lines)
    basic = _random(ALNUM, 28, rng)
    password = _random(ALNUM, 14, rng)
    db_password = _random(ALNUM, 16, rng)
    return [
        Sample("aws-access-key", f"aws configure set aws_access_key_id {aws}", aws),
        Sample("github-pat", f"git clone https://github.com/o/r && export GH={ghp}", ghp),
        Sample("gitlab-pat", f"glab auth login --token {glpat}", glpat),
        Sample("openai-api-key", f"OPENAI key {openai} in .env", openai),
        Sample("anthropic-api-key", f"using {anthropic} for claude", anthropic),
        Sample("gcp-api-key", f"https://maps.example/api?k {google} done", google),
        Sample("slack-bot-token", f"SLACK {slack}", slack),
        Sample("jwt", f"cookie session={jwt}; Path=/", jwt),
        Sample(
            "private-key",
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{key_body}\n-----END OPENSSH PRIVATE KEY-----",
            key_lines[1],  # one line: stored JSON escapes the newlines between them
        ),
        Sample(
            "authorization-header", f"GET / HTTP/1.1\r\nAuthorization: Basic {basic}\r\n", basic
        ),
        Sample("secret-assignment", f"mysql -u root --password={password} app", password),
        Sample(
            "connection-string-password",
            f"DATABASE_URL is postgresql://agent:{db_password}@db.internal:5432/app",
            db_password,
        ),
    ]


def payload_with_every_sample(found: list[Sample]) -> dict[str, Any]:
    """Each secret somewhere an agent would put it: tool input and output, a prompt, a nested
    list, a dictionary key."""
    return {
        "kind": "tool",
        "name": "Bash",
        "input": {"command": found[0].text, "args": [s.text for s in found[1:4]]},
        "output": "\n".join(s.text for s in found[4:8]),
        "prompt": found[8].text,
        "messages": [{"role": "user", "content": s.text} for s in found[9:]],
        "env": {found[1].secret: "a key as a key"},
    }
