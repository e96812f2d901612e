"""Score a validated submission into a versioned results file, with bootstrap CIs.

Results schema (``schema_version`` 1; keys are only ever added)::

    {"schema": "ecinstruct-leaderboard-results", "schema_version": 1,
     "model": {...metadata header...},
     "submission": {"file": "my-model.jsonl", "sha256": "...", "lines": 16253},
     "evaluator": {"package": "ecinstruct_eval", "version": "0.1.0", "compat": "paper",
                   "settings": {"AG": {...BERTScore/BLEURT settings...}}},
     "bootstrap": {"method": "percentile", "confidence": 0.95, "n_resamples": 1000,
                   "seed": 0, "unit": "test item"},
     "results": {"SR": {"test": {"n": 1000, "n_failed": 3, "primary_metric": "hr@1",
                                  "metrics": {"hr@1": {"value": 0.52, "ci_low": 0.49,
                                                       "ci_high": 0.55}, ...},
                                  "settings": {...}, "ids_sha256": "...",
                                  "bootstrap_primary": [0.51, ...]}}}}

The bootstrap resamples test items with a generator seeded by ``(seed, task,
split)`` only, so two results files scored with the same seed on the same test
set share their resamples: :mod:`leaderboard.compare` pairs their
``bootstrap_primary`` replicates for a paired bootstrap test without keeping
any per-item data.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from ecinstruct_eval.tasks import TASKS, TEST_SPLITS
from leaderboard.submission import (
    DEFAULT_LIMITS,
    Limits,
    SubmissionError,
    iter_submission,
    validate_submission,
)

SCHEMA = "ecinstruct-leaderboard-results"
SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "bootstrap",
    "load_results",
    "resample_indices",
    "score_submission",
    "write_results",
]


def resample_indices(n: int, n_resamples: int, seed: int, task: str, split: str) -> np.ndarray:
    """The ``(n_resamples, n)`` bootstrap index matrix for one test set.

    Depends only on its arguments, so every model scored with the same seed on
    the same test set gets the same resamples (what makes tests paired).

    >>> resample_indices(3, 2, 0, "SR", "test").shape
    (2, 3)
    """
    ss = np.random.SeedSequence([int(seed), zlib.crc32(f"{task}/{split}".encode())])
    return np.random.default_rng(ss).integers(0, n, size=(n_resamples, n))


def bootstrap(
    recompute: Callable[[np.ndarray], Mapping[str, float]],
    n: int,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    task: str = "",
    split: str = "",
    confidence: float = 0.95,
) -> tuple[dict[str, tuple[float, float]], dict[str, list[float]]]:
    """Percentile bootstrap over test items.

    Parameters
    ----------
    recompute : callable
        ``recompute(indices) -> {metric: value}`` over the items at
        ``indices`` (repetition allowed), e.g. ``ScoreResult.recompute``.
    n : int
        Number of items.

    Returns
    -------
    ci : dict
        metric -> (low, high).
    replicates : dict
        metric -> list of the ``n_resamples`` resampled values.

    Examples
    --------
    >>> correct = np.array([1, 0, 1, 1])
    >>> ci, reps = bootstrap(lambda i: {"acc": correct[i].mean()}, 4, n_resamples=50)
    >>> 0 <= ci["acc"][0] <= 0.75 <= ci["acc"][1] <= 1
    True
    """
    reps: dict[str, list[float]] = {}
    if n == 0 or n_resamples == 0:
        return {}, {}
    for idx in resample_indices(n, n_resamples, seed, task, split):
        for k, v in recompute(idx).items():
            reps.setdefault(k, []).append(float(v))
    alpha = (1 - confidence) / 2
    ci = {}
    for k, vals in reps.items():
        arr = np.asarray(vals, dtype=float)
        arr = arr[~np.isnan(arr)]
        if arr.size == 0:
            ci[k] = (math.nan, math.nan)
        else:
            ci[k] = (float(np.quantile(arr, alpha)), float(np.quantile(arr, 1 - alpha)))
    return ci, reps


def _r(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, 6)


def _jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, float):
        return _r(obj)
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return str(obj)


def _settings_of(result) -> dict:
    for name in ("settings", "config"):
        s = getattr(result, name, None)
        if s is not None:
            return _jsonable(dict(s) if isinstance(s, Mapping) else vars(s) if hasattr(s, "__dict__") else s)
    return {}


def _default_scorer(predictions, task, references, *, split, compat, **options):
    from ecinstruct_eval import score

    return score(predictions, task, references, split=split, compat=compat, **options)


def _default_loader(task, split, location):
    from ecinstruct_eval.data import load_split

    return load_split(task, split, location)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _evaluator_version() -> str:
    try:
        from ecinstruct_eval import __version__
    except ImportError:  # pragma: no cover
        return "unknown"
    return __version__


def score_submission(
    path: str | os.PathLike,
    *,
    location: str | os.PathLike | None = None,
    compat: str = "paper",
    tasks: Iterable[str] | None = None,
    meta_path: str | os.PathLike | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    ag_options: Mapping | None = None,
    limits: Limits = DEFAULT_LIMITS,
    scorer: Callable | None = None,
    loader: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Validate, then score a submission; return the results document.

    Parameters
    ----------
    path : path-like
        Submission JSONL (metadata header beside it, see
        :mod:`leaderboard.submission`).
    location : path-like or str, optional
        Reference data (default ``$ECINSTRUCT_DATA``).
    compat : {"paper", "released"}
        Scoring mode of :func:`ecinstruct_eval.score`: the paper's (failed
        outputs count as wrong) or the authors' released scorer's.
    n_resamples, seed, confidence :
        Bootstrap settings; ``n_resamples=0`` skips the intervals.
    ag_options : mapping, optional
        Options for the generation task's metrics, passed to
        :func:`ecinstruct_eval.score` (``bertscore_model``,
        ``bertscore_layers``, ``bleurt_checkpoint``, ``bleurt``, ``device``,
        ``batch_size``); they are recorded in the results file.
    scorer, loader : callable, optional
        Replacements for :func:`ecinstruct_eval.score` and
        :func:`ecinstruct_eval.data.load_split` (tests).

    Raises
    ------
    SubmissionError
        If the submission is invalid; nothing is scored then.

    Examples
    --------
    >>> res = score_submission("my-model.jsonl", location="build")  # doctest: +SKIP
    >>> res["results"]["SR"]["test"]["metrics"]["hr@1"]["value"]  # doctest: +SKIP
    0.213
    """
    if compat not in ("paper", "released"):
        raise ValueError(f"compat must be 'paper' or 'released', got {compat!r}")
    path = Path(path)
    load = loader or _default_loader
    score = scorer or _default_scorer
    refs_cache: dict[tuple[str, str], list] = {}

    def cached_loader(task, split, loc):
        key = (task, split)
        if key not in refs_cache:
            refs_cache[key] = list(load(task, split, loc))
        return refs_cache[key]

    tasks = None if tasks is None else list(tasks)
    report = validate_submission(path, location=location, tasks=tasks, meta_path=meta_path,
                                 limits=limits, loader=cached_loader)
    if not report.ok:
        raise SubmissionError(report)

    selected = set(TASKS) if tasks is None else {TASKS[t].code for t in tasks}
    preds: dict[tuple[str, str], dict[str, str]] = {}
    for row in iter_submission(path):
        if row["task"] not in selected:
            continue
        preds.setdefault((row["task"], row["split"]), {})[row["id"]] = row["prediction"]

    results: dict[str, dict] = {}
    ag_settings: dict[str, dict] = {}
    for task in TASKS:
        for split in TEST_SPLITS:
            if (task, split) not in preds:
                continue
            refs = cached_loader(task, split, location)
            by_id = preds[(task, split)]
            ordered = [by_id[str(r["id"])] for r in refs]
            if progress:
                progress(f"scoring {task}/{split} ({len(refs)} items)")
            opts = dict(ag_options or {}) if TASKS[task].kind == "generation" else {}
            res = score(ordered, task, refs, split=split, compat=compat, **opts)
            n = int(getattr(res, "n", len(refs)))
            primary = getattr(res, "primary", None) or TASKS[task].primary_metric
            if not isinstance(primary, str):
                primary = TASKS[task].primary_metric
            ci, reps = bootstrap(res.recompute, n, n_resamples=n_resamples, seed=seed,
                                 task=task, split=split, confidence=confidence)
            metrics = {}
            for name in sorted(res.keys()) if hasattr(res, "keys") else sorted(dict(res)):
                value = float(res[name])
                lo, hi = ci.get(name, (math.nan, math.nan))
                metrics[name] = {"value": _r(value), "ci_low": _r(lo), "ci_high": _r(hi)}
            settings = _settings_of(res)
            if TASKS[task].kind == "generation":
                ag_settings.setdefault(task, settings)
            ids_hash = hashlib.sha256("\n".join(str(r["id"]) for r in refs).encode()).hexdigest()
            results.setdefault(task, {})[split] = {
                "n": n,
                "n_failed": int(getattr(res, "n_failed", 0)),
                "primary_metric": primary,
                "metrics": metrics,
                "settings": settings,
                "ids_sha256": ids_hash,
                "bootstrap_primary": [_r(v) for v in reps.get(primary, [])],
            }

    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "model": _jsonable(report.metadata or {}),
        "submission": {"file": path.name, "sha256": _sha256(path), "lines": report.n_lines},
        "evaluator": {
            "package": "ecinstruct_eval",
            "version": _evaluator_version(),
            "compat": compat,
            "ag_options": _jsonable(dict(ag_options or {})),
            "settings": ag_settings,
        },
        "bootstrap": {
            "method": "percentile",
            "confidence": confidence,
            "n_resamples": n_resamples,
            "seed": seed,
            "unit": "test item",
        },
        "results": results,
    }


def write_results(results: Mapping, path: str | os.PathLike) -> None:
    """Write a results document (byte-stable: fixed key order, no timestamps)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, ensure_ascii=False, allow_nan=False)
    # Keep long replicate lists on one line each.
    path.write_text(_compact_lists(text) + "\n", encoding="utf-8")


def _compact_lists(text: str) -> str:
    out, buf, depth = [], [], 0
    for line in text.split("\n"):
        s = line.strip()
        if depth == 0 and s.endswith('"bootstrap_primary": ['):
            buf, depth = [line], 1
            continue
        if depth:
            if s in ("]", "],"):
                out.append(buf[0] + " ".join(b.strip() for b in buf[1:]) + s)
                depth = 0
            else:
                buf.append(line)
            continue
        out.append(line)
    return "\n".join(out)


def load_results(path: str | os.PathLike) -> dict:
    """Read a results file and check its schema; errors name the file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{path}: cannot read results file ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not an ECInstruct leaderboard results file (schema {SCHEMA!r})")
    if doc.get("schema_version", 0) > SCHEMA_VERSION:
        raise ValueError(
            f"{path}: results schema version {doc['schema_version']} is newer than this "
            f"toolkit understands ({SCHEMA_VERSION}); upgrade ecinstruct"
        )
    if not isinstance(doc.get("results"), dict):
        raise ValueError(f"{path}: results file has no 'results' object")
    return doc


def primary_value(doc: Mapping, task: str, split: str) -> float | None:
    """The primary metric of ``task``/``split`` in a results document, or ``None``."""
    entry = doc.get("results", {}).get(task, {}).get(split)
    if not entry:
        return None
    m = entry["metrics"].get(entry["primary_metric"])
    return None if m is None else m["value"]


def model_name(doc: Mapping, default: str = "submission") -> str:
    return str(doc.get("model", {}).get("model") or doc.get("submission", {}).get("file") or default)
