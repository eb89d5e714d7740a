"""deploy/Dockerfile, checked without a Docker engine: its stages, what the runtime stage
contains and whom it runs as, and its HEALTHCHECK command run against a real server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.conftest import ServerProcess

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
BUILD_ONLY_PACKAGES = re.compile(
    r"\b(gcc|g\+\+|clang|make|build-essential|pkg-config|[\w.+-]+-dev)\b"
)


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        return [argument for name, argument in self.instructions if name == keyword]


def parse_stages() -> list[Stage]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append(Stage(argument.split()[-1] if " AS " in argument.upper() else ""))
        elif stages:
            stages[-1].instructions.append((keyword, " ".join(argument.split())))
    return stages


def healthcheck_command() -> list[str]:
    [healthcheck] = parse_stages()[-1].arguments("HEALTHCHECK")
    command: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    return command


def test_a_builder_stage_compiles_the_wheels_with_the_constraints() -> None:
    stages = parse_stages()
    assert [stage.name for stage in stages] == ["builder", "runtime"]
    builder = stages[0]
    assert any(
        "pip wheel" in command and "-c constraints.txt" in command
        for command in builder.arguments("RUN")
    )
    for argument in builder.arguments("COPY"):
        for source in argument.split()[:-1]:
            assert (REPO / source).exists(), source


def test_the_runtime_stage_has_no_compiler_and_installs_only_the_built_wheels() -> None:
    runtime = parse_stages()[-1]
    installs = " ".join(runtime.arguments("RUN"))
    assert BUILD_ONLY_PACKAGES.search(installs) is None, installs
    assert "from=builder" in installs and "--no-index" in installs


def test_the_build_only_check_recognises_a_compiler() -> None:
    assert BUILD_ONLY_PACKAGES.search("apt-get install -y gcc libvirt-dev")
    assert BUILD_ONLY_PACKAGES.search("apt-get install -y libvirt0") is None


def test_the_runtime_stage_runs_as_an_unprivileged_user() -> None:
    [user] = parse_stages()[-1].arguments("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, user


def test_the_build_context_lets_through_what_the_image_copies() -> None:
    ignore = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for stage in parse_stages()
        for argument in stage.arguments("COPY")
        if not argument.startswith("--from")
        for source in argument.split()[:-1]
    }
    assert copied <= allowed


@pytest.mark.parametrize("port", ["ingest", "query", "ui"])
def test_the_healthcheck_passes_against_a_healthy_service(
    embedded_server: ServerProcess, port: str
) -> None:
    url = f"{embedded_server.url(port)}/healthz"
    command = [sys.executable, *healthcheck_command()[1:]]
    result = subprocess.run(command, env={"AGENTMON_HEALTH_URL": url}, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_the_healthcheck_fails_where_nothing_answers() -> None:
    assert healthcheck_command()[0] == "python"
    command = [sys.executable, *healthcheck_command()[1:]]
    result = subprocess.run(
        command, env={"AGENTMON_HEALTH_URL": "http://127.0.0.1:9/healthz"}, capture_output=True
    )
    assert result.returncode != 0
