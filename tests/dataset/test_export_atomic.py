"""Replacing an export survives kills and concurrent runs.

A kill is real: the export runs in a subprocess that SIGKILLs itself at the N-th
file-system change (rename, replace, unlink, rmdir, rmtree) from the moment it
first touches the output folder -- wherever the old export is swapped for the
new one.  Afterwards ``datasets.load_dataset`` must load every config of the
old export or of the new one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ecinstruct_dataset import export
from ecinstruct_dataset.exporter import loaded_split_sizes
from ecinstruct_eval.cli import main

from .conftest import make_build

REPO = Path(__file__).resolve().parents[2]

#: argv: BUILD OUT N MODE.  Export BUILD to OUT, killing itself at the N-th file-system change
#: counted from the first one that names OUT (N=0: never; prints the count).  MODE "fallback":
#: as on a file system that cannot exchange two paths in one step.
KILLABLE_EXPORT = """
import os, shutil, signal, sys
from ecinstruct_dataset import exporter
build, out, kill_at, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if mode == "fallback":
    exporter._rename_exchange = lambda a, b: False
state = {"on": False, "n": 0}
def wrap(mod, name):
    orig = getattr(mod, name)
    def changed(*args, **kwargs):
        if not state["on"]:
            state["on"] = any(isinstance(a, (str, os.PathLike)) and os.path.abspath(a) == out for a in args)
        if state["on"]:
            state["n"] += 1
            if state["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return orig(*args, **kwargs)
    setattr(mod, name, changed)
for name in ("rename", "replace", "unlink", "remove", "rmdir"):
    wrap(os, name)
wrap(shutil, "rmtree")
if hasattr(exporter, "_rename_exchange"):
    wrap(exporter, "_rename_exchange")
exporter.export(build, out)
print(state["n"])
"""

OLD_TASKS, NEW_TASKS = ("PM", "SR"), ("PM", "SR", "SA")


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    """An old export (PM, SR) and the build of a new one (PM, SR, SA; other sizes)."""
    root = tmp_path_factory.mktemp("atomic")
    old_build = make_build(root / "old_build", tasks=OLD_TASKS)
    new_build = make_build(root / "new_build", sizes={"train": 7, "validation": 2, "test": 3, "test_ood": 1},
                           tasks=NEW_TASKS)
    old_export = root / "old_export"
    export(old_build, old_export)
    cache = root / "cache"
    old_sizes = loaded_split_sizes(old_export, cache_dir=cache / "old")
    new_export = root / "new_export"
    export(new_build, new_export)
    new_sizes = loaded_split_sizes(new_export, cache_dir=cache / "new")
    assert old_sizes != new_sizes
    return {"old_export": old_export, "new_build": new_build, "old": old_sizes, "new": new_sizes, "cache": cache}


def _killable(build: Path, out: Path, kill_at: int, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", KILLABLE_EXPORT, str(build), str(out), str(kill_at), mode],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_points(two_builds, tmp_path: Path, mode: str) -> list[tuple[int, Path, subprocess.Popen]]:
    """Run the export once to count its changes, then once per kill point (in parallel)."""
    dry = tmp_path / "dry" / "ECInstruct"
    shutil.copytree(two_builds["old_export"], dry)
    proc = _killable(two_builds["new_build"], dry, 0, mode)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    total = int(stdout.split()[-1])
    points = sorted({*range(1, min(total, 8) + 1), total // 2, total - 1, total} - {0})
    runs = []
    for n in points:
        out = tmp_path / f"kill{n}" / "ECInstruct"
        shutil.copytree(two_builds["old_export"], out)
        runs.append((n, out, _killable(two_builds["new_build"], out, n, mode)))
    for n, _, proc in runs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == -9, f"kill point {n} of {total}: {stderr}"
    return runs


def _loads_old_or_new(two_builds, out: Path, tag: str) -> str:
    sizes = loaded_split_sizes(out, cache_dir=two_builds["cache"] / tag)
    assert sizes in (two_builds["old"], two_builds["new"]), f"{tag}: {sizes}"
    return "old" if sizes == two_builds["old"] else "new"


def test_a_kill_at_any_point_of_a_replacing_export_leaves_old_or_new_loadable(two_builds, tmp_path):
    seen = set()
    runs = _kill_points(two_builds, tmp_path, "exchange")
    for n, out, _ in runs:
        seen.add(_loads_old_or_new(two_builds, out, f"x{n}"))
    assert seen == {"old", "new"}  # the kills fell before and after the swap
    # the next export removes what the killed one left beside the folder
    for _, out, _ in runs:
        export(two_builds["new_build"], out)
        assert sorted(p.name for p in out.parent.iterdir()) == ["ECInstruct"]


def test_without_an_atomic_exchange_the_next_run_restores_the_old_export(two_builds, tmp_path):
    from ecinstruct_dataset.exporter import recover_export

    missing = 0
    for n, out, _ in _kill_points(two_builds, tmp_path, "fallback"):
        if not out.exists():  # killed between the two renames: the old export waits beside it
            missing += 1
            assert [p.name for p in out.parent.iterdir() if p.name.startswith(".ECInstruct.old-")]
        recover_export(out)
        _loads_old_or_new(two_builds, out, f"f{n}")
        assert sorted(p.name for p in out.parent.iterdir()) == ["ECInstruct"]  # no leftover
    assert missing == 1


def test_the_next_export_removes_leftovers_of_killed_ones(two_builds, tmp_path):
    out = tmp_path / "ECInstruct"
    shutil.copytree(two_builds["old_export"], out)
    ours = [".ECInstruct.k1ll3d_1.tmp", ".ECInstruct.staging-ab_12xyz.tmp", ".ECInstruct.old-4242"]
    for name in ours[:2]:
        (tmp_path / name / "SA").mkdir(parents=True)
        (tmp_path / name / "SA" / "train-00000-of-00001.parquet").write_bytes(b"PAR1 partial")
    shutil.copytree(two_builds["old_export"], tmp_path / ours[2])  # a kept old export, `out` present
    others = [".ECInstruct.b.k1ll3d_1.tmp", ".ECInstructX.k1ll3d_1.tmp", "ECInstruct.old-1"]
    for name in others:  # another export's (``ECInstruct.b``, ``ECInstructX``) and a user's folder
        (tmp_path / name).mkdir()
    export(two_builds["new_build"], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ECInstruct", *others])
    assert _loads_old_or_new(two_builds, out, "leftovers") == "new"


def test_an_export_refuses_with_one_line_while_another_writes_the_folder(two_builds, tmp_path, capsys):
    from ecinstruct_builders.locking import lock_output

    out = tmp_path / "ECInstruct"
    shutil.copytree(two_builds["old_export"], out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    argv = ["export", "--from", str(two_builds["new_build"]), "--out", str(out)]
    with lock_output(tmp_path / ".ECInstruct.ecinstruct.lock", out, kind="export"):
        assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"ecinstruct export: error: another ecinstruct export is writing {out} "
                            f"(pid {os.getpid()}); wait for it or choose another --out\n")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # --wait outlasts a holder that finishes
    held = threading.Event()

    def hold():
        with lock_output(tmp_path / ".ECInstruct.ecinstruct.lock", out, kind="export"):
            held.set()
            time.sleep(0.5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    assert main([*argv, "--wait", "30"]) == 0
    t.join()
    assert _loads_old_or_new(two_builds, out, "waited") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ECInstruct"]
