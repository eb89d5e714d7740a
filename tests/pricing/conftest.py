"""The query app over a real store of each kind (the fixture of tests/query)."""

from tests.query.conftest import query

__all__ = ["query"]
