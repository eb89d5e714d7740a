"""`agentmon export` as a user runs it, over a seeded SQLite data directory (and PostgreSQL
through DATABASE_URL): every kind in every format, filters, progress, refusals."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from agentmon.store import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore
from tests.conftest import BIN
from tests.store.test_contract import conversation, other_sessions

SEED = conversation() + other_sessions()


def seed(store: Store) -> None:
    async def write() -> None:
        await store.open()
        try:
            await store.write(SEED)
        finally:
            await store.close()

    asyncio.run(write())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("export-data")
    seed(SQLiteStore(directory / "agentmon.db"))
    return directory


def export(
    *args: str, data_dir: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env or {})
    where = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run(
        [str(BIN / "agentmon"), "--env-file", "/dev/null", "export", *args, *where],
        capture_output=True,
        env=environment,
        timeout=120,
    )


def test_events_as_json_lines_are_the_stored_envelopes(data_dir: Path) -> None:
    done = export("events", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(e["event"]["id"] for e in lines) == sorted(e.event.id for e in SEED)
    assert f"100% {len(SEED)}/{len(SEED)} exported" in done.stderr.decode()


def test_events_csv_with_filters(data_dir: Path) -> None:
    done = export("events", "--format", "csv", "--event-type", "run.end", data_dir=data_dir)
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert [r["type"] for r in rows] == ["run.end", "run.end"]
    assert {r["run_id"] for r in rows} == {"r1", "r2"}
    assert json.loads(rows[0]["envelope"])["event"]["id"] == rows[0]["event_id"]


def test_sessions_csv_is_the_api_shape_flattened(data_dir: Path) -> None:
    done = export("sessions", "--format", "csv", "--host", "devbox", data_dir=data_dir)
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert sorted(r["session_id"] for r in rows) == ["s2", "s3"]
    assert {"tokens_total", "status", "run_count"} <= set(rows[0])


def test_runs_and_spans_to_parquet(data_dir: Path, tmp_path: Path) -> None:
    runs_file, spans_file = tmp_path / "runs.parquet", tmp_path / "spans.parquet"
    done = export("runs", "--format", "parquet", "--out", str(runs_file), data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    runs = pq.read_table(runs_file).to_pylist()
    assert [r["run_id"] for r in runs] == ["r1", "r2", "r3"]
    assert runs[0]["tokens_total"] == 1200 and runs[0]["span_count"] == 2
    done = export(
        "spans", "--format", "parquet", "--session-id", "s1", "--out", str(spans_file),
        data_dir=data_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    spans = pq.read_table(spans_file).to_pylist()
    assert [s["span_id"] for s in spans] == ["t1", "t2", "t3"]
    assert json.loads(spans[0]["input"]) == {"command": "pytest"}
    assert isinstance(spans[0]["duration_ms"], float) and isinstance(
        spans[0]["reconstructed"], bool
    )


def test_from_postgres_through_database_url(make_database: Callable[[], str]) -> None:
    url = make_database()
    seed(PostgresStore(url))
    done = export("sessions", "--status", "waiting", env={"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    [waiting] = [json.loads(line) for line in done.stdout.splitlines()]
    assert waiting["session_id"] == "s2" and waiting["tokens"]["total"] == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["runs", "--host", "x"], "--host does not filter runs"),
        (["events", "--since", "0001-01-01T00:00:00+01:00"], "'since'"),
        (["spans", "--format", "parquet"], "needs --out"),
    ],
)
def test_refusals_say_why(data_dir: Path, args: list[str], says: str) -> None:
    done = export(*args, data_dir=data_dir)
    assert done.returncode == 2 and says in done.stderr.decode()
