"""deploy/docker-compose.yml, checked without a Docker engine: against the Compose
Specification's JSON schema (compose-spec.json, from github.com/compose-spec/compose-spec,
Apache-2.0, see compose-spec.LICENSE), for what `make up` on a fresh clone needs, and with
`docker compose config` where the Compose plugin is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
SHARED_ENVIRONMENT = {"DATABASE_URL", "NATS_URL", "AGENTMON_QUERY_BASE", "AGENTMON_INGEST_URL"}
# Services whose container has no HTTP endpoint to probe.
NO_HEALTH_ENDPOINT = {"migrate", "openclaw-monitor"}


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def agentmon_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == "agentmon:latest"
    }


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(load_compose()) == []


def test_the_schema_check_catches_a_misspelt_key() -> None:
    compose = load_compose()
    compose["services"]["web-ui"]["healthcheck"] = {"tset": ["CMD", "true"]}
    assert schema_errors(compose) != []


def test_no_env_file_is_needed() -> None:
    makefile = (REPO / "Makefile").read_text().splitlines()
    [compose_command] = [line for line in makefile if line.startswith("COMPOSE ?=")]
    assert "--env-file" not in compose_command
    for name, service in agentmon_services(load_compose()).items():
        for entry in service.get("env_file", []):
            assert isinstance(entry, dict) and entry["required"] is False, name


def test_every_service_gets_the_shared_environment_the_monitor_included() -> None:
    services = agentmon_services(load_compose())
    assert {"ingest-gateway", "event-processor", "query-api", "web-ui", "openclaw-monitor"} <= set(
        services
    )
    for name, service in services.items():
        assert set(service["environment"]) >= SHARED_ENVIRONMENT, name


def test_the_monitor_mounts_the_libvirt_socket_and_the_registry() -> None:
    monitor = load_compose()["services"]["openclaw-monitor"]
    targets = {volume["target"] for volume in monitor["volumes"]}
    assert "/var/run/libvirt/libvirt-sock-ro" in targets
    registry = monitor["environment"]["OPENCLAW_REGISTRY"]
    assert any(registry.startswith(target + "/") for target in targets)


def test_health_checks_and_start_order_on_health() -> None:
    compose = load_compose()
    services = compose["services"]
    agentmon = agentmon_services(compose)
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name in NO_HEALTH_ENDPOINT:
            continue
        assert not check.get("disable"), f"{name} has its health check disabled"
        # agentmon containers use the image's HEALTHCHECK (tests/deploy/test_dockerfile.py)
        assert (name in agentmon) != ("test" in check), f"{name}'s health check"
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition["condition"] == expected, f"{name} -> {dependency}"


def test_data_lives_in_named_volumes() -> None:
    compose = load_compose()
    declared = set(compose["volumes"])
    for name in ("postgres", "nats"):
        sources = {volume.split(":")[0] for volume in compose["services"][name]["volumes"]}
        assert sources <= declared, name


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the Docker Compose plugin is not installed (the schema test above still runs)",
)
def test_docker_compose_config_accepts_it_without_a_dotenv(tmp_path: Path) -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "--profile", "monitor", "config", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
