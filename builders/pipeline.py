"""Run task builders, write ``BUILD/<TASK>/<split>.jsonl`` and ``BUILD/build_report.json``.

For every requested task the pipeline

1. checks that the task's source files exist (one error listing every
   missing file with its expected path and download location);
2. skips the task when ``BUILD/<TASK>/.done.json`` records a build with the
   same fingerprint (config, source files' sizes and times, builder code), so
   an interrupted or repeated build resumes where it stopped;
3. otherwise calls ``ecinstruct_builders.tasks.<task>.build(cfg, report)``, which
   follows the official release's procedure (``RELEASED_FORMAT.md``) and
   returns every split in the release's order and size; counts the release's
   known defects (evaluation records repeating training records) and, only
   with ``fix_defects``, removes them (:func:`sample_to_targets`); attaches
   instructions as the release drew them, ids and one-shot ids
   (:func:`ecinstruct_builders.core.finalize`), writes each split atomically, and
   finally the done-marker.

The task's report records, per written split, its size (``splits``), the
distribution of ``output`` (``labels``) and, under ``breakdowns``, the
categories of its records (``category``) plus every breakdown the task module
asked for (AG: ``category``, QPR: ``list_size``), recounted on the written
records.

Examples
--------
>>> from ecinstruct_builders.core import BuildConfig
>>> from ecinstruct_builders.pipeline import build
>>> report = build(BuildConfig(sources="samples/sources", out="/tmp/ecb"), ["SA"])  # doctest: +SKIP
>>> report["tasks"]["SA"]["splits"]["train"]  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ecinstruct_builders import progress
from ecinstruct_builders.core import (
    BuildConfig,
    Example,
    MissingSourceError,
    SourceError,
    SourcesFolderError,
    TaskReport,
    check_source_file,
    finalize,
    find_source,
    label_counts,
    overlap_key,
    peak_rss_mb,
    read_jsonl,
    remove_overlap,
    reset_peak_rss,
    tally,
    write_json_atomic,
    write_jsonl_atomic,
)
from ecinstruct_builders.locking import LOCK_NAME, lock_output, remove_build_leftovers
from ecinstruct_builders.readers import leipzig
from ecinstruct_builders.release import DIVERSE_FILE_ORDER

#: Source files whose header is checked before any task is built, by file name.
HEADER_CHECKS = {name: leipzig.check_header
                 for name in (leipzig.AMAZON_FILE, leipzig.GOOGLE_FILE, *leipzig.MAPPING_FILES)}

#: Build order: the paper's task order.
ALL_TASKS = ("AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG")
MARKER = ".done.json"
REPORT = "build_report.json"


def parse_tasks(tasks: str | Sequence[str] | None) -> list[str]:
    """Task codes in build order; ``None``/``"all"`` means all ten.  Unknown codes raise ``KeyError``.

    >>> parse_tasks("sr,PM")
    ['PM', 'SR']
    """
    if tasks is None or tasks == "all":
        return list(ALL_TASKS)
    if isinstance(tasks, str):
        tasks = [t for t in tasks.replace(" ", ",").split(",") if t]
    from ecinstruct_eval.tasks import get_task

    codes = {get_task(t).code for t in tasks}
    return [t for t in ALL_TASKS if t in codes]


def task_module(task: str):
    """The builder module of ``task`` (``ecinstruct_builders.tasks.<code lower>``)."""
    try:
        return importlib.import_module(f"ecinstruct_builders.tasks.{task.lower()}")
    except ModuleNotFoundError as e:
        if e.name == f"ecinstruct_builders.tasks.{task.lower()}":
            raise NotImplementedError(f"{task}: no builder module builders/tasks/{task.lower()}.py") from None
        raise


def check_sources_folder(sources: Path) -> None:
    """Raise a one-line :class:`SourcesFolderError` when ``sources`` is not an existing folder.

    Checked before the per-file check, so a mistyped ``--sources`` gets one
    sentence instead of one "missing file" entry per required file.

    >>> try:
    ...     check_sources_folder(Path("no/such/folder"))
    ... except SourcesFolderError as e:
    ...     print(str(e).split(":")[0])
    sources folder no/such/folder does not exist
    """
    from ecinstruct_builders.sources import SOURCES

    path = Path(sources)
    if path.is_dir():
        return
    what = "is not a folder" if path.exists() else "does not exist"
    layout = ", ".join(f"{s}/" for s in SOURCES)
    raise SourcesFolderError(
        f"sources folder {path} {what}: expected a folder with one subfolder per raw source ({layout})"
    )


def check_sources(tasks: Sequence[str], cfg: BuildConfig, *, verify: bool = False) -> None:
    """Raise one :class:`MissingSourceError` naming every required file that is missing.

    A missing sources folder raises a one-line :class:`SourcesFolderError` instead;
    an empty file, one not in its format or with a wrong header a one-line
    :class:`SourceError`.  With ``verify``, every compressed file is also read
    to its end, so that a truncated or corrupt stream stops the build before
    any task is built (without it, the task that reads the damage stops before
    it writes anything).
    """
    from ecinstruct_builders.sources import describe, download_hint, missing_files

    check_sources_folder(cfg.sources)
    missing = [m for m in missing_files(tasks, cfg) if m[3]]
    if not missing:
        # every file present is checked before any task is built: empty, wrong format, bad footer
        for path in sorted({p for task in tasks for p in input_files(task, cfg)}):
            check_source_file(path, full=verify)
            if path.name in HEADER_CHECKS:
                HEADER_CHECKS[path.name](path)
        return
    lines = [f"missing source files under {cfg.sources}:"]
    for task, source, alts, _ in missing:
        lines.append(f"  [{task}] {Path(cfg.sources) / source / alts[0]}{describe(alts)}")
        lines.append(f"        {download_hint(source, alts[0])}")
    raise MissingSourceError("\n".join(lines))


def input_files(task: str, cfg: BuildConfig) -> list[Path]:
    """The source files ``task`` reads under ``cfg`` (those present), sorted."""
    from ecinstruct_builders.sources import is_glob, required_files

    paths: set[Path] = set()
    for source, alts, _ in required_files(task, cfg):
        if not any(is_glob(a) for a in alts):
            p = find_source(cfg.sources, source, alts, required=False)
            if p is not None:  # every copy under the source counts (MAVE has one per split folder)
                paths.update(q for q in (Path(cfg.sources) / source).rglob(p.name) if q.is_file())
        else:  # the reader takes every matching file: every file of the source counts
            paths.update(p for p in (Path(cfg.sources) / source).rglob("*") if p.is_file() and p.suffix != ".md")
    return sorted(paths)


#: Our packages whose code can shape a task's records (the builders and the task registry's option texts).
_OWN_PACKAGES = ("ecinstruct_builders", "ecinstruct_eval")


@functools.cache
def code_files(roots: tuple[str, ...]) -> tuple[Path, ...]:
    """The source files of the modules ``roots`` and of every module of ours they import, at any depth.

    Found by reading the import statements (function-level ones included), so a
    change to any helper a task uses (``release.py``'s text forms, ``sources.py``'s
    categories, ``ecinstruct_eval.tasks``' options) invalidates the task's earlier
    build, not only the files someone remembered to list.

    Examples
    --------
    >>> names = [p.name for p in code_files(("ecinstruct_builders.tasks.pm",))]
    >>> {"pm.py", "release.py", "core.py", "leipzig.py", "tasks.py"} <= set(names)
    True
    """
    found: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # "package.function": the parent is a module, not a package
            spec = None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        path = found[name] = Path(spec.origin)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                todo += [base, *(f"{base}.{a.name}" for a in node.names)]
        todo = [n for n in todo if n.partition(".")[0] in _OWN_PACKAGES]
    return tuple(found[n] for n in sorted(found))


def fingerprint(task: str, cfg: BuildConfig) -> str:
    """Hash of everything that decides a task's output: config, source files, builder code."""
    files = []
    for p in input_files(task, cfg):
        st = p.stat()
        files.append([str(p.relative_to(cfg.sources)), st.st_size, st.st_mtime_ns])
    code = hashlib.sha256()
    for f in code_files((f"ecinstruct_builders.tasks.{task.lower()}", __name__)):
        code.update(f.read_bytes())
    data = {"config": cfg.task_fingerprint(task), "files": files, "code": code.hexdigest()}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def is_done(task: str, cfg: BuildConfig, fp: str) -> dict | None:
    """The stored report of a complete earlier build of ``task`` with fingerprint ``fp``, else ``None``."""
    marker = Path(cfg.out) / task / MARKER
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("fingerprint") != fp:
        return None
    for split, n in info.get("report", {}).get("splits", {}).items():
        path = Path(cfg.out) / task / f"{split}.jsonl"
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            if sum(1 for _ in f) != n:
                return None
    return info.get("report")


def overlap_counts(splits: Mapping[str, Sequence[Example]]) -> dict[str, int]:
    """Per evaluation split, how many examples repeat the text of a training example.

    The text is the input and options (:func:`ecinstruct_builders.core.overlap_key`).
    The release keeps such repeats (e.g. duplicate SA reviews), so a model
    trained on its train split has seen part of its test split.

    >>> overlap_counts({"train": [Example("a", "x")], "test": [Example("a", "y"), Example("b", "y")]})
    {'test': 1}
    """
    train = {overlap_key(ex) for ex in splits.get("train", ())}
    return {s: sum(overlap_key(ex) in train for ex in exs) for s, exs in splits.items() if s != "train"}


def sample_to_targets(module, task: str, cfg: BuildConfig, *, show_progress: bool = False):
    """Run ``module.build``; with ``cfg.fix_defects``, remove the release's repeats.

    The task module follows the release's procedure, sizes and order
    included.  The report's ``release_defects`` counts, per evaluation
    split, the records whose text repeats a training record's, as the module
    made them; with ``cfg.fix_defects`` such records and duplicates inside a
    split are then removed (:func:`~ecinstruct_builders.core.remove_overlap`, counted
    under ``dropped``) and the splits are left short rather than refilled.
    A module's ``rows_of(example)`` (QPR) says how many source rows an
    example stands for in the report's counts (default 1).

    Returns ``(splits, report)``.
    """
    rows = getattr(module, "rows_of", lambda ex: 1)
    report = TaskReport(task)
    with progress.session(task, enabled=show_progress):
        examples = module.build(cfg, report)
    report.release_defects = {"fixed": cfg.fix_defects, "eval_repeats_train": overlap_counts(examples)}
    if cfg.fix_defects:
        examples = remove_overlap(examples, report, rows=rows)
        report.differs("fix_defects: evaluation records that repeat a training record, and duplicates "
                       "inside a split, are removed (the release keeps them)")
    report.rows_used = sum(rows(ex) for exs in examples.values() for ex in exs)
    return examples, report


def check_usable(task: str, examples: Mapping[str, Sequence[Example]], report: TaskReport) -> None:
    """Raise :class:`SourceError` when the sources gave ``task`` no training or no test example.

    An empty or unusable source must not pass as an empty task.

    >>> check_usable("PM", {"train": [], "test": []}, TaskReport("PM", rows_read={"Amazon.csv": 0}))
    Traceback (most recent call last):
    ...
    ecinstruct_builders.core.SourceError: PM: the sources gave no usable train, test examples (rows read: Amazon.csv 0); check that its source files are complete
    """
    empty = [s for s in ("train", "test") if not examples.get(s)]
    if not empty:
        return
    read = "; ".join(f"{name} {n}" for name, n in sorted(report.rows_read.items())) or "none"
    dropped = sorted(report.dropped.items(), key=lambda kv: -kv[1])[:3]
    why = "; dropped: " + ", ".join(f"{r} {n}" for r, n in dropped) if dropped else ""
    raise SourceError(f"{task}: the sources gave no usable {', '.join(empty)} examples (rows read: {read}{why}); "
                      "check that its source files are complete")


def build_task(task: str, cfg: BuildConfig, *, log: Callable[[str], None] = print, show_progress: bool = False) -> dict:
    """Build one task now (no resume check); return its report dict.

    With ``show_progress``, every source file read shows a progress bar
    (:mod:`ecinstruct_builders.progress`) on standard error.
    """
    module = task_module(task)
    rss_reset = reset_peak_rss()
    t0 = time.perf_counter()
    examples, report = sample_to_targets(module, task, cfg, show_progress=show_progress)
    check_usable(task, examples, report)
    if sum(bool(examples.get(s)) for s in DIVERSE_FILE_ORDER) > 1:
        report.differs("instructions: the release drew them over its train, val and test files in its "
                       "directory-listing order, which is unknown (six orders are possible); we draw over "
                       "train, validation, test (the OOD test's draws come after them either way)")
    stream_start = getattr(module, "instruction_stream_start", lambda cfg: 0)(cfg)
    if not rss_reset:
        report.note("peak_rss_mb is the building process's peak so far (it could not be reset per task)")
    # The module's own breakdowns (report.tally_splits(..., by=...)) are recounted on
    # what is written, next to the label distribution and split sizes set below.
    report.recount_breakdowns(examples)
    records = finalize(task, examples, seed=cfg.seed, stream_start=stream_start)
    task_dir = Path(cfg.out) / task
    (task_dir / MARKER).unlink(missing_ok=True)
    categories = report.breakdowns.setdefault("category", {})
    from ecinstruct_eval.testsets import split_fingerprint

    for split, recs in records.items():
        report.splits[split] = write_jsonl_atomic(task_dir / f"{split}.jsonl", recs)
        if split.startswith("test"):
            report.test_sets[split] = split_fingerprint(recs)
        report.labels[split] = label_counts(recs)
        categories[split] = tally(r["category"] for r in recs)
    if not any(c for counts in categories.values() for c in counts):
        del report.breakdowns["category"]  # a task without categories (ESCI, Leipzig)
    for stale in task_dir.glob("*.jsonl"):
        if stale.stem not in records:
            stale.unlink()
    report.elapsed_s = time.perf_counter() - t0
    report.peak_rss_mb = peak_rss_mb()
    return report.to_dict()


def build(
    cfg: BuildConfig,
    tasks: str | Sequence[str] | None = None,
    *,
    force: bool = False,
    log: Callable[[str], None] = print,
    show_progress: bool | None = None,
    wait: float = 0.0,
    verify_sources: bool = False,
) -> dict:
    """Build ``tasks`` (default: all ten) from ``cfg.sources`` into ``cfg.out``; return the build report.

    Tasks already built with the same fingerprint are skipped unless ``force``.
    ``show_progress`` (default: whether standard error is a terminal) shows a
    progress bar per source file while a task reads it.  ``verify_sources``
    reads every compressed source to its end before building (:func:`check_sources`).

    One build writes a folder at a time: the build holds ``OUT/.ecinstruct.lock``
    (:mod:`ecinstruct_builders.locking`) and raises :class:`~ecinstruct_builders.locking.OutputLocked`
    when another build holds it for longer than ``wait`` seconds.  Under the lock
    the temporary files of killed builds are removed and ``build_report.json`` is
    read, updated and written back, so no build's tasks go missing from it.
    """
    if show_progress is None:
        show_progress = progress.wanted()
    codes = parse_tasks(tasks)
    for t in codes:
        task_module(t)
    check_sources(codes, cfg, verify=verify_sources)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with lock_output(out / LOCK_NAME, out, kind="build", wait=wait):
        remove_build_leftovers(out)
        return _build_locked(cfg, codes, out, force=force, log=log, show_progress=show_progress)


def _build_locked(cfg: BuildConfig, codes: Sequence[str], out: Path, *, force: bool,
                  log: Callable[[str], None], show_progress: bool) -> dict:
    """:func:`build`'s work, with the folder's lock held (the report's read-modify-write included)."""
    report_path = out / REPORT
    try:
        full = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        full = {}
    full.setdefault("tasks", {})
    for task in codes:
        fp = fingerprint(task, cfg)
        done = None if force else is_done(task, cfg, fp)
        if done is not None:
            log(f"{task}: up to date, skipped ({_sizes(done)})")
            full["tasks"][task] = done
            continue
        log(f"{task}: building ...")
        rep = build_task(task, cfg, log=log, show_progress=show_progress)
        write_json_atomic(out / task / MARKER, {"fingerprint": fp, "report": rep})
        full["tasks"][task] = rep
        log(f"{task}: {_sizes(rep)} in {rep['elapsed_s']:.1f}s")
        write_json_atomic(report_path, _ordered(full, cfg))
    write_json_atomic(report_path, _ordered(full, cfg))
    return full


def _ordered(full: dict, cfg: BuildConfig) -> dict:
    tasks = {t: full["tasks"][t] for t in ALL_TASKS if t in full["tasks"]}
    origin = {"kind": "rebuild", "sources": str(cfg.sources), "seed": cfg.seed, "sizes": cfg.sizes,
              "fix_defects": cfg.fix_defects}
    return {"tasks": tasks, "seed": cfg.seed, "sizes": cfg.sizes, "origin": origin}


def _sizes(rep: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in rep.get("splits", {}).items())


def load_split(build_dir: Path, task: str, split: str) -> list[dict]:
    """Records of one built split (a thin helper for tests and notebooks)."""
    return read_jsonl(Path(build_dir) / task / f"{split}.jsonl")
