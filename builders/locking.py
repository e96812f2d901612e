"""One writer per output folder, and the leftovers of killed runs.

``ecinstruct build`` and ``ecinstruct export`` hold an exclusive
:func:`fcntl.flock` on a lock file while they write their ``--out``:

* a build locks ``OUT/.ecinstruct.lock`` (the build folder stays where it is);
* an export locks ``.NAME.ecinstruct.lock`` beside ``OUT`` (the export folder
  itself is swapped for a new one, so a lock inside it would move away).

A second run stops at once with one line (:class:`OutputLocked`: "another
ecinstruct build is writing OUT (pid N); wait for it or choose another --out"),
or, given ``wait`` seconds, polls for the lock that long first.  The lock
belongs to the open file, so the kernel releases it when the holder exits or is
killed: a lock is never left stale.  The pid written into the file serves the
message only.  The file is removed on release; a killed holder leaves it behind,
unlocked, and the next run simply takes it.

While the lock is held no other run writes the folder, so every temporary
file or folder of its kind found there is a leftover of a killed run
(:func:`remove_build_leftovers`).

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> with lock_output(out / ".ecinstruct.lock", out, kind="build"):
...     (out / ".ecinstruct.lock").is_file()
True
>>> (out / ".ecinstruct.lock").exists()
False
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None

#: Name of a build folder's lock file (inside the folder).
LOCK_NAME = ".ecinstruct.lock"
#: Seconds between two tries while waiting for a held lock.
POLL_S = 0.1


class OutputLocked(RuntimeError):
    """Another ecinstruct run holds the lock of the output folder (the message is one line)."""

    def __init__(self, folder: str | os.PathLike, pid: int | None, kind: str = "build"):
        self.folder, self.pid, self.kind = Path(folder), pid, kind
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another ecinstruct {kind} is writing {folder} ({who}); wait for it or choose another --out"
        )


def _holder_pid(path: Path) -> int | None:
    """The pid the holder wrote into the lock file (it may not have written it yet: retry briefly)."""
    for _ in range(10):
        try:
            text = path.read_text(encoding="utf-8").split()
        except OSError:
            return None
        if text and text[0].isdigit():
            return int(text[0])
        time.sleep(0.02)
    return None


@contextlib.contextmanager
def lock_output(
    lock_path: str | os.PathLike, folder: str | os.PathLike, *, kind: str = "build", wait: float = 0.0
) -> Iterator[Path]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the ``with`` block.

    ``folder`` and ``kind`` name what is locked in the :class:`OutputLocked`
    message, raised when another process holds the lock for longer than
    ``wait`` seconds (default: do not wait).  The lock file's parent must exist.
    """
    lock_path = Path(lock_path)
    if fcntl is None:  # pragma: no cover
        yield lock_path
        return
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise OutputLocked(folder, _holder_pid(lock_path), kind) from None
            time.sleep(POLL_S)
            continue
        except BaseException:
            os.close(fd)
            raise
        # The holder before us removes the file when it releases: if the path now names
        # another file (or none), our lock guards nothing -- take the lock again.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {kind}\n".encode())
        yield lock_path
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)  # releases the lock


#: Temporary files of ``ecinstruct_builders.core.write_jsonl_atomic`` / ``write_json_atomic``:
#: ``.<name>.jsonl.<random>.tmp`` and ``.<name>.json.<random>.tmp``.
_BUILD_TMP = re.compile(r"^\..+\.jsonl?\.[^.]+\.tmp$")


def remove_build_leftovers(out: str | os.PathLike) -> list[Path]:
    """Remove the temporary files killed builds left in ``out`` and its task folders; return them.

    Call it with the build folder's lock held: no live build then writes there.
    """
    out = Path(out)
    removed = []
    for folder in [out, *(p for p in sorted(out.iterdir()) if p.is_dir() and not p.is_symlink())]:
        for p in sorted(folder.iterdir()):
            if _BUILD_TMP.match(p.name) and p.is_file():
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                removed.append(p)
    return removed


def remove_tree(path: Path) -> None:
    """Remove a file or folder; a missing one is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
