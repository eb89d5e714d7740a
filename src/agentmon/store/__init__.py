"""Storage: the raw `events` table plus read models maintained at write time."""

from __future__ import annotations

from agentmon.config import Settings
from agentmon.pricing import use_price_file
from agentmon.store.base import NotFound, Store, WriteResult
from agentmon.store.budgets import use_budget_file
from agentmon.store.errors import StoreUnavailable
from agentmon.store.queries import Attention
from agentmon.store.search import LONGEST_SEARCH_TEXT


def open_store(settings: Settings) -> Store:
    """PostgreSQL when DATABASE_URL is set, else SQLite in the data directory (not yet opened)."""
    use_price_file(settings.prices_file)
    use_budget_file(settings.budgets_file)
    store = _new_store(settings)
    store.attention = Attention(
        int(settings.stuck_after * 1000), settings.loop_repeats, int(settings.lost_after * 1000)
    )
    store.search_max_chars = min(settings.search_max_chars, LONGEST_SEARCH_TEXT)
    return store


def _new_store(settings: Settings) -> Store:
    if settings.database_url:
        from agentmon.store.postgres import PostgresStore

        return PostgresStore(
            settings.database_url,
            settings.session_idle_timeout,
            partition_period=settings.partition_period,
            statement_cache_size=settings.pg_statement_cache_size,
        )
    from agentmon.store.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path, settings.session_idle_timeout)


__all__ = ["NotFound", "Store", "StoreUnavailable", "WriteResult", "open_store"]
