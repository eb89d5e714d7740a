"""The spool: claims, order, and its bounds by files, bytes and age; refused events aside."""

from __future__ import annotations

import os
import time
from pathlib import Path

from client_helpers import client_config, envelope

from agentmon.client.spool import REJECTED_MAX_FILES, Spool


def sessions(batches: list[tuple[str, list[dict]]]) -> list[str]:
    return [batch[0]["correlation"]["session_id"] for _, batch in batches]


def test_claims_each_file_once_in_order_and_can_put_it_back(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    spool.write([envelope("a")])
    spool.write([envelope("b")])
    claimed = spool.claim()
    assert sessions(claimed) == ["a", "b"]
    assert Spool(str(tmp_path)).claim() == []
    spool.unclaim(claimed[0][0])
    Spool.release([claimed[1][0]])
    assert sessions(spool.claim()) == ["a"]
    assert spool.count() == 0


def test_a_claim_left_by_a_crashed_process_is_taken_over_after_a_minute(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    spool.write([envelope("a")])
    ((path, _),) = spool.claim()
    assert spool.claim() == []
    old = time.time() - 120
    os.utime(path, (old, old))
    assert sessions(spool.claim()) == ["a"]


def test_drops_the_oldest_beyond_its_file_bound(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), max_files=3)
    paths = [spool.write([{"n": n}]) for n in range(5)]
    assert spool.trim() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in paths[2:])
    assert spool.trim() == 0


def test_drops_the_oldest_beyond_its_byte_bound(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), max_bytes=2500)
    paths = [spool.write([{"pad": "x" * 990}]) for _ in range(4)]
    assert all(os.path.getsize(path) > 1000 for path in paths)
    assert spool.trim() == 2
    assert [Path(p).exists() for p in paths] == [False, False, True, True]


def test_drops_batches_older_than_its_age_bound(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), max_age=0.2)
    old = spool.write([{"n": 1}])
    time.sleep(0.3)
    recent = spool.write([{"n": 2}])
    assert spool.trim() == 1
    assert (Path(old).exists(), Path(recent).exists()) == (False, True)


def test_the_bounds_come_from_the_configuration(tmp_path: Path) -> None:
    config = client_config(
        tmp_path,
        "http://127.0.0.1:9",
        AGENTMON_SPOOL_MAX_FILES="5",
        AGENTMON_SPOOL_MAX_BYTES="64k",
        AGENTMON_SPOOL_MAX_AGE="1d",
    )
    spool = Spool.configured(config)
    assert (spool.directory, spool.max_files, spool.max_bytes, spool.max_age) == (
        config.spool_dir,
        5,
        65_536,
        86_400.0,
    )
    assert Spool.configured(config, "/elsewhere").directory == "/elsewhere"


def test_refused_events_are_set_aside_with_the_reason_and_bounded(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    spool.write([envelope("waiting")])
    for n in range(REJECTED_MAX_FILES + 3):
        spool.reject([envelope(f"bad{n}")], f"reason {n}")
    aside = spool.rejected()
    assert len(aside) == REJECTED_MAX_FILES
    assert aside[-1][0] == f"reason {REJECTED_MAX_FILES + 2}"
    assert aside[0][0] == "reason 3"
    assert spool.count() == 1
    assert sessions(spool.claim()) == ["waiting"]
