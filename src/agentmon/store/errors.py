"""The one error the adapters raise when the store cannot be reached (as opposed to data it
refuses): callers retry later instead of setting events aside."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class StoreUnavailable(Exception):
    """The database is unreachable or out of resources now; the same write may succeed later."""


@contextmanager
def unavailable_on(
    errors: tuple[type[BaseException], ...], unless: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Translate the driver's connection-level `errors` (except `unless`) to StoreUnavailable."""
    try:
        yield
    except unless:
        raise
    except errors as exc:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
