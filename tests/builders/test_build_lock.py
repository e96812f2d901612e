"""One build per output folder: a second build refuses with one line (or waits), the lock dies
with its holder, and the next build removes what killed builds left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ecinstruct_builders.pipeline import build

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "samples" / "sources"
CONFIG = REPO / "samples" / "sample_build.json"

#: ``ecinstruct`` whose task building first says it started (file argv[1]) and then waits
#: until file argv[2] exists: two such builds into one folder surely overlap.
SLOW_BUILD = """
import os, sys, time
from pathlib import Path
import ecinstruct_builders.pipeline as p
started, release = Path(sys.argv[1]), Path(sys.argv[2])
build_task = p.build_task
def slow(*args, **kwargs):
    started.write_text(str(os.getpid()))
    deadline = time.time() + 120
    while not release.exists() and time.time() < deadline:
        time.sleep(0.02)
    return build_task(*args, **kwargs)
p.build_task = slow
from ecinstruct_eval.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _cli(out: Path, task: str, *extra: str) -> list[str]:
    return ["build", "--sources", str(SOURCES), "--out", str(out), "--config", str(CONFIG),
            "--tasks", task, "-q", *extra]


def _start(tmp: Path, name: str, release: Path, argv: list[str]) -> tuple[subprocess.Popen, Path]:
    started = tmp / f"{name}.started"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(started), str(release), *argv],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, started


def _wait_until(cond, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _report_tasks(out: Path) -> set[str]:
    return set(json.loads((out / "build_report.json").read_text(encoding="utf-8"))["tasks"])


def test_a_second_build_into_the_same_folder_refuses_with_one_line(tmp_path):
    out, release = tmp_path / "out", tmp_path / "release"
    a, a_started = _start(tmp_path, "a", release, _cli(out, "PM"))
    _wait_until(lambda: a_started.exists() or a.poll() is not None)
    b, b_started = _start(tmp_path, "b", release, _cli(out, "SA"))
    _wait_until(lambda: b_started.exists() or b.poll() is not None)  # B stops, or (unlocked) builds too
    release.touch()
    (_, a_err), (_, b_err) = a.communicate(timeout=120), b.communicate(timeout=120)
    assert a.returncode == 0, a_err
    built = {"PM"} | ({"SA"} if b.returncode == 0 else set())
    assert built <= _report_tasks(out), "the report lost a task that was built"
    assert b.returncode == 2 and not b_started.exists()
    assert b_err == (f"ecinstruct build: another ecinstruct build is writing {out} (pid {a.pid}); "
                     "wait for it or choose another --out\n")
    assert not (out / ".ecinstruct.lock").exists()  # released and removed by A


def test_with_wait_the_second_build_runs_after_the_first_and_the_report_has_both(tmp_path):
    out, release = tmp_path / "out", tmp_path / "release"
    a, a_started = _start(tmp_path, "a", release, _cli(out, "PM"))
    _wait_until(lambda: a_started.exists() or a.poll() is not None)
    b, b_started = _start(tmp_path, "b", release, _cli(out, "SA", "--wait", "120"))
    time.sleep(1.0)
    assert b.poll() is None and not b_started.exists()  # B waits for the lock, before building
    release.touch()
    (_, a_err), (_, b_err) = a.communicate(timeout=120), b.communicate(timeout=120)
    assert (a.returncode, b.returncode) == (0, 0), (a_err, b_err)
    assert _report_tasks(out) == {"PM", "SA"}
    for task in ("PM", "SA"):
        assert (out / task / "train.jsonl").is_file()


def test_a_killed_build_leaves_no_lock_and_its_leftovers_go_on_the_next_build(tmp_path):
    out, release = tmp_path / "out", tmp_path / "release"
    a, a_started = _start(tmp_path, "a", release, _cli(out, "PM"))
    _wait_until(lambda: a_started.exists() or a.poll() is not None)
    os.kill(a.pid, signal.SIGKILL)
    a.communicate(timeout=60)
    # what a build killed while writing leaves: write_jsonl_atomic / write_json_atomic temporaries
    (out / "PM").mkdir(exist_ok=True)
    leftovers = [out / "PM" / ".train.jsonl.k1ll3d_x.tmp", out / "PM" / ".done.json.abc123.tmp",
                 out / ".build_report.json.zz9q.tmp"]
    for p in leftovers:
        p.write_text("{partial")
    keep = out / "PM" / "notes.txt"
    keep.write_text("not ours")
    assert subprocess.run([sys.executable, "-m", "ecinstruct_eval", *_cli(out, "PM")], cwd=REPO,
                          capture_output=True, text=True, timeout=120).returncode == 0
    assert [p for p in leftovers if p.exists()] == []
    assert keep.exists()
    assert _report_tasks(out) == {"PM"}
    assert not (out / ".ecinstruct.lock").exists()


def test_library_build_raises_output_locked_while_another_holds_the_folder(tmp_path):
    from ecinstruct_builders.core import BuildConfig
    from ecinstruct_builders.locking import OutputLocked, lock_output

    out = tmp_path / "out"
    out.mkdir()
    cfg = BuildConfig.from_file(CONFIG, sources=SOURCES, out=out)
    with lock_output(out / ".ecinstruct.lock", out, kind="build"):
        with pytest.raises(OutputLocked, match=rf"\(pid {os.getpid()}\); wait for it or choose another --out"):
            build(cfg, ["PM"], log=lambda _m: None)
        assert not (out / "PM").exists()
    build(cfg, ["PM"], log=lambda _m: None)
    assert _report_tasks(out) == {"PM"}
