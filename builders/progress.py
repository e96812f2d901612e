"""Progress of a running build: one tqdm bar per source file with the rows read so far.

Readers ask for a tracker per file and update it every few thousand rows
(:data:`EVERY`), so the cost per row is one bit test.  Nothing is shown
unless the pipeline switched progress on (:func:`session`), which it does
only when standard error is a terminal and the build is not ``--quiet``; the
rest of the time :func:`track` hands back a tracker that does nothing.

Examples
--------
>>> from ecinstruct_builders import progress
>>> t = progress.track("reviews.json.gz", total=None)   # no session: a no-op tracker
>>> t.update(4096); t.close(5000)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import IO, Any

#: Readers update their tracker when ``rows & EVERY == 0`` (every 4,096 rows).
EVERY = 4095

_active: dict[str, Any] | None = None


class _NullTracker:
    def update(self, rows: int, pos: int | None = None) -> None:
        pass

    def close(self, rows: int) -> None:
        pass


NULL = _NullTracker()


class _BarTracker:
    """A tqdm bar over a file's bytes (or rows, for row-counted files), with the rows read as postfix."""

    def __init__(self, label: str, total: int | None, unit: str, stream: IO[str]):
        from tqdm.auto import tqdm

        self._rows_are_pos = unit != "B"
        self._bar = tqdm(total=total, desc=label, unit=unit, unit_scale=True, unit_divisor=1024 if unit == "B" else 1000,
                         file=stream, leave=True, mininterval=0.5, dynamic_ncols=True)

    def update(self, rows: int, pos: int | None = None) -> None:
        if self._rows_are_pos:
            pos = rows
        if pos is not None and pos > self._bar.n:
            self._bar.update(pos - self._bar.n)
        self._bar.set_postfix_str(f"{rows:,} rows", refresh=False)

    def close(self, rows: int) -> None:
        self.update(rows, self._bar.total)
        self._bar.set_postfix_str(f"{rows:,} rows", refresh=False)
        self._bar.close()  # the final state stays on screen: one line per file read


@contextlib.contextmanager
def session(task: str, *, enabled: bool, stream: IO[str] | None = None) -> Iterator[None]:
    """Show progress bars for the files read inside this block (when ``enabled``)."""
    global _active
    previous = _active
    _active = {"task": task, "stream": stream or sys.stderr} if enabled else None
    try:
        yield
    finally:
        _active = previous


def wanted(quiet: bool = False, stream: IO[str] | None = None) -> bool:
    """Whether to show progress: not ``quiet`` and ``stream`` (standard error) is a terminal."""
    stream = stream or sys.stderr
    return not quiet and bool(getattr(stream, "isatty", lambda: False)())


def track(label: str, *, total: int | None = None, unit: str = "B"):
    """A tracker for one source file: ``update(rows, pos)`` now and then, ``close(rows)`` at the end.

    ``total`` is the file's size in bytes (``unit="B"``, ``pos`` = bytes
    consumed) or its row count (``unit="rows"``, ``pos`` ignored).
    """
    if _active is None:
        return NULL
    return _BarTracker(f"{_active['task']}: {label}", total, unit, _active["stream"])


def raw_position(f) -> int | None:
    """Bytes of the (possibly compressed) file on disk consumed so far by reader ``f``, if known."""
    inner = getattr(f, "fileobj", None) or getattr(f, "_fp", None) or f
    try:
        return inner.tell()
    except (AttributeError, OSError, ValueError):
        return None
