"""Helpers of the client layer's tests: envelopes, configurations, reading the store back,
and the state of the scripted gateway (see conftest.py)."""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentmon.client.config import ClientConfig

POISON = "poison.test"


@dataclass
class ScriptedGateway:
    """``answers`` are consumed one per POST as (status, headers); once they run out every
    batch is accepted, unless it holds an event of type ``POISON`` (then 400, as a strict
    gateway refusing the whole batch would)."""

    url: str = ""
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[tuple[float, list[dict[str, Any]]]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)

    def accepted_ids(self) -> list[str]:
        return [event["event"]["id"] for event in self.accepted]

    def gaps(self) -> list[float]:
        times = [moment for moment, _ in self.received]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


def client_config(tmp_path: Path, url: str, **extra: str) -> ClientConfig:
    """A configuration with private spool, state and log locations."""
    env = {
        "AGENTMON_INGEST_URL": url,
        "AGENTMON_SPOOL_DIR": str(tmp_path / "spool"),
        "AGENTMON_STATE_DIR": str(tmp_path / "state"),
        "AGENTMON_HOOK_LOG": str(tmp_path / "hooks.log"),
        "AGENTMON_HOOK_TIMEOUT": "2",
        "AGENTMON_CLIENT_ID": "client-test",
        "AGENTMON_HOST": "client-test",
        **extra,
    }
    return ClientConfig(env)


def envelope(session: str, event_type: str = "session.start") -> dict[str, Any]:
    """A valid envelope with a fresh id."""
    return {
        "schema": {"name": "agentmon.event", "version": 1},
        "event": {
            "id": os.urandom(16).hex(),
            "type": event_type,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
            "source": {"framework": "client-test", "client_id": "box", "host": "box"},
        },
        "correlation": {"session_id": session},
        "attributes": {},
        "payload": {},
    }


def stored_ids(query_url: str, session: str, expected: int) -> list[str]:
    """Ids the query API holds for ``session``, waiting (briefly) for ``expected`` of them."""
    deadline = time.monotonic() + 15
    ids: list[str] = []
    while time.monotonic() < deadline:
        query = urllib.parse.urlencode({"session_id": session, "limit": 1000})
        with urllib.request.urlopen(f"{query_url}/v1/events?{query}", timeout=10) as answer:
            ids = [event["event"]["id"] for event in json.loads(answer.read())["events"]]
        if len(ids) >= expected:
            return ids
        time.sleep(0.05)
    return ids
