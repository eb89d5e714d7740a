"""Versioned schema migrations: `<dialect>/<NNN>_<name>.sql`, applied in order on start."""

from __future__ import annotations

from importlib import resources


def migration_scripts(dialect: str) -> list[tuple[int, str, str]]:
    """[(version, name, sql)] for a dialect, oldest first."""
    folder = resources.files(__name__).joinpath(dialect)
    scripts = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            scripts.append((version, entry.name, entry.read_text()))
    return sorted(scripts)
