"""`agentmon reprice` as a user runs it, on an embedded (SQLite) data directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agentmon.events import new_event
from agentmon.query import views
from agentmon.store.sqlite import SQLiteStore


def agentmon(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentmon", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


async def test_reprice_prices_stored_calls_with_the_users_new_prices(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = SQLiteStore(data / "agentmon.db")
    await store.open()
    usage = {"input_tokens": 2_000_000, "output_tokens": 0}
    call = new_event(
        "metric.snapshot",
        framework="hermes",
        session_id="s",
        payload={"model": "house-model-7", "usage": usage},
    )
    await store.write([call])
    await store.close()
    prices = tmp_path / "prices.json"
    prices.write_text('{"models": {"house-model-7": {"input": 0.5, "output": 1}}}')

    done = agentmon(
        "reprice", "--data-dir", str(data), "--prices", str(prices), "--since", "2020-01-01"
    )
    assert done.returncode == 0, done.stderr
    assert "1 model calls priced again" in done.stdout

    store = SQLiteStore(data / "agentmon.db")
    await store.open()
    try:
        session = views.session_detail(await store.get_session("s")).session
    finally:
        await store.close()
    assert (session.cost_usd, session.cost_source) == (1.0, "estimated")


def test_reprice_refuses_a_bad_date_and_a_bad_price_file(tmp_path: Path) -> None:
    bad_date = agentmon("reprice", "--data-dir", str(tmp_path), "--since", "last tuesday")
    assert bad_date.returncode == 2
    assert "--since 'last tuesday' is not a date or time" in bad_date.stderr
    prices = tmp_path / "prices.toml"
    prices.write_text("[models.x]\ninput = 1\n")
    bad_file = agentmon("reprice", "--data-dir", str(tmp_path), "--prices", str(prices))
    assert bad_file.returncode == 2 and "--prices" in bad_file.stderr
