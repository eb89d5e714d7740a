"""A one-line progress bar on stderr, for commands that read or write a lot (export, import).

Standard library only: the importer runs in the producer install.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`label [#####-----] 42%`, plus `done/total unit, rate/s, elapsed` when `unit` is given;
    redrawn at most every `every` seconds. The share is capped at 100% (a total counted at the
    start can be passed by what arrives meanwhile)."""

    WIDTH = 30

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str | None = None,
        out: TextIO | None = None,
        quiet: bool = False,
        every: float = 0.25,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.out = out or sys.stderr
        self.quiet, self.every = quiet, every
        self.count = 0
        self.started = time.monotonic()
        self.drawn = 0.0

    def add(self, amount: int) -> None:
        self.count += amount
        now = time.monotonic()
        if now - self.drawn >= self.every:
            self.drawn = now
            self._draw()

    def done(self, *, complete: bool = False) -> None:
        if complete:
            self.count = max(self.count, self.total)
        self._draw()
        if not self.quiet:
            self.out.write("\n")
            self.out.flush()

    def _draw(self) -> None:
        if self.quiet:
            return
        share = min(self.count / self.total, 1.0) if self.total else 1.0
        filled = round(share * self.WIDTH)
        line = f"\r{self.label} [{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:4.0%}"
        if self.unit is not None:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            line += (
                f" {self.count:,}/{self.total:,} {self.unit}, "
                f"{self.count / elapsed:,.0f}/s, {elapsed:.1f}s"
            )
        self.out.write(line)
        self.out.flush()
