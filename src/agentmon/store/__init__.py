"""Storage: the raw `events` table plus read models maintained at write time."""

from __future__ import annotations

from agentmon.config import Settings
from agentmon.pricing import use_price_file
from agentmon.store.base import NotFound, Store, WriteResult
from agentmon.store.errors import StoreUnavailable


def open_store(settings: Settings) -> Store:
    """PostgreSQL when DATABASE_URL is set, else SQLite in the data directory (not yet opened)."""
    use_price_file(settings.prices_file)
    if settings.database_url:
        from agentmon.store.postgres import PostgresStore

        return PostgresStore(settings.database_url, settings.session_idle_timeout)
    from agentmon.store.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path, settings.session_idle_timeout)


__all__ = ["NotFound", "Store", "StoreUnavailable", "WriteResult", "open_store"]
