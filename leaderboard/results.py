"""Score a validated submission into a versioned results file, with bootstrap CIs.

Results schema (``schema_version`` 2; keys are only ever added)::

    {"schema": "ecinstruct-leaderboard-results", "schema_version": 2,
     "model": {...metadata header...},
     "submission": {"file": "my-model.jsonl", "sha256": "...", "lines": 16253},
     "evaluator": {"package": "ecinstruct_eval", "version": "0.1.0", "compat": "paper",
                   "settings": {"AG": {...BERTScore/BLEURT settings...}}},
     "bootstrap": {"method": "percentile", "confidence": 0.95, "n_resamples": 1000,
                   "seed": 0, "unit": "test item"},
     "test_origin": {"kind": "release", "source": "NingLab/ECInstruct", ...} or null,
     "results": {"SR": {"test": {"n": 1000, "n_failed": 3, "primary_metric": "hr@1",
                                  "metrics": {"hr@1": {"value": 0.52, "ci_low": 0.49,
                                                       "ci_high": 0.55}, ...},
                                  "settings": {...}, "ids_sha256": "...",
                                  "test_set": {"n": 1000, "sha256": "..."},
                                  "bootstrap_primary": [0.51, ...]}}}}

Test-set identity (schema 2): ``test_set`` is
:func:`ecinstruct_eval.testsets.split_fingerprint` of the reference records
that were scored, and ``test_origin`` the ``origin`` of the data's
``build_report.json`` (a build or exported folder; ``null`` when the data
location has none, e.g. a Hub id, or when the report's fingerprints do not
match the records scored).  Scores are comparable only where the fingerprints
agree; version-1 files (without these keys) still load and count as results on
an unknown test set (see :func:`test_set_of`).

The bootstrap resamples test items with a generator seeded by ``(seed, task,
split)`` only, so two results files scored with the same seed on the same test
set share their resamples: :mod:`ecinstruct_leaderboard.compare` pairs their
``bootstrap_primary`` replicates for a paired bootstrap test without keeping
any per-item data.

Metric models given as local folders (``--bertscore-model``,
``--bleurt-checkpoint`` or their environment variables) are recorded as the
folder's name plus a hash of its files, ``NAME@sha256:0123456789abcdef`` (see
:func:`portable_model_ref`), in ``evaluator.ag_options`` and in the
BERTScore/BLEURT setting strings: results files never hold local paths, and
two machines scoring with the same model files write the same strings.  Hub
names are stored as given.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from ecinstruct_leaderboard.submission import (
    DEFAULT_LIMITS,
    Limits,
    SubmissionError,
    iter_submission,
    no_duplicate_keys,
    reject_constant,
    validate_submission,
)

from ecinstruct_eval.tasks import TASKS, TEST_SPLITS

SCHEMA = "ecinstruct-leaderboard-results"
SCHEMA_VERSION = 2
#: Versions :func:`load_results` reads; 1 has no test-set identity.
READABLE_VERSIONS = (1, 2)

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "ResultsError",
    "bootstrap",
    "check_ag_models",
    "display_names",
    "load_results",
    "portable_model_ref",
    "resample_indices",
    "results_problem",
    "results_schema",
    "score_submission",
    "test_origin_of",
    "test_set_of",
    "validate_results",
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


@functools.lru_cache(maxsize=8)
def _folder_sha256(folder: str) -> str:
    h = hashlib.sha256()
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    for p in files:
        h.update(p.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(str(p.stat().st_size).encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def portable_model_ref(model: str) -> str:
    """How a metric model is named in a results file: Hub names as given, local
    folders as ``NAME@sha256:HASH16`` (folder name plus a hash of its files).

    The hash covers every file's relative path, size and bytes (hidden entries
    such as ``.cache`` left out), so copies of one model folder on two machines
    get the same reference, and no local path is written.

    >>> portable_model_ref("roberta-large")
    'roberta-large'
    """
    path = Path(os.path.expanduser(str(model)))
    if not path.is_dir():
        return str(model)
    path = path.resolve()
    return f"{path.name}@sha256:{_folder_sha256(str(path))[:16]}"


def _metric_models(ag_options: Mapping | None) -> dict[str, str]:
    """The BERTScore model and BLEURT checkpoint the evaluator will use, as it resolves them."""
    from ecinstruct_eval.metrics import generation as g

    opts = dict(ag_options or {})
    out = {"bertscore": str(opts.get("bertscore_model") or os.environ.get(g.BERTSCORE_ENV)
                            or g.DEFAULT_BERTSCORE_MODEL)}
    if opts.get("bleurt", True):
        out["bleurt"] = str(opts.get("bleurt_checkpoint") or os.environ.get(g.BLEURT_ENV)
                            or g.DEFAULT_BLEURT_CHECKPOINT)
    return out


_MODEL_KEYS = frozenset({"bertscore", "bleurt", "bertscore_model", "bleurt_checkpoint"})


def _portable(obj, replacements: Mapping[str, str]):
    """``obj`` with local model locations in its model settings replaced by portable refs."""
    if not isinstance(obj, Mapping):
        return obj
    out = {}
    for k, v in obj.items():
        if isinstance(v, Mapping):
            v = _portable(v, replacements)
        elif k in _MODEL_KEYS and isinstance(v, str):
            # These strings start with the model location (bert-score's hash, BLEURT's name).
            for old in sorted(replacements, key=len, reverse=True):
                if v.startswith(old):
                    v = replacements[old] + v[len(old):]
                    break
        out[k] = v
    return out


def _local_model_replacements(ag_options: Mapping | None) -> dict[str, str]:
    out = {}
    for value in _metric_models(ag_options).values():
        path = Path(os.path.expanduser(value))
        if path.is_dir():
            ref = portable_model_ref(value)
            for form in {value, value.rstrip("/"), str(path), str(path.resolve())}:
                if form:
                    out[form] = ref
    return out


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~", "\\")) or os.sep in value or value.count("/") > 1


def check_ag_models(ag_options: Mapping | None = None) -> None:
    """Load the AG metric models (BERTScore, and BLEURT unless ``bleurt=False``) or fail clearly.

    Called by :func:`score_submission` before anything is scored, so a missing
    model stops the run at once instead of after the fifteen other test sets.
    The models stay cached in the process for the real scoring.

    Raises
    ------
    OSError
        A model is neither a local folder nor loadable (e.g. offline and not
        cached); the message names the option to set.
    ImportError
        bert-score or bleurt-pytorch is not installed.
    """
    from ecinstruct_eval.metrics import generation as g

    opts = dict(ag_options or {})
    models = _metric_models(opts)
    hints = {"bertscore": ("BERTScore model", "bertscore_model", g.BERTSCORE_ENV),
             "bleurt": ("BLEURT checkpoint", "bleurt_checkpoint", g.BLEURT_ENV)}
    for kind, model in models.items():
        what, option, env = hints[kind]
        skip = " Or skip BLEURT with bleurt=False." if kind == "bleurt" else ""
        folder = Path(os.path.expanduser(model))
        if _looks_like_path(model) and not folder.is_dir():
            raise OSError(f"AG cannot be scored (nothing was scored): the {what} {model!r} is not a "
                          f"folder here; point {option}= (or {env}) at a local model folder, "
                          f"or give a Hub name.{skip}")
        if folder.is_dir() and not (folder / "config.json").is_file():
            raise OSError(f"AG cannot be scored (nothing was scored): the {what} folder {model!r} "
                          f"holds no config.json, so it is not a saved model; point {option}= (or {env}) "
                          f"at a folder saved with save_pretrained(), or give a Hub name.{skip}")
        try:
            if kind == "bertscore":
                g.bertscore(["a"], ["a"], model=model, num_layers=opts.get("bertscore_layers"),
                            device=opts.get("device"))
            else:
                g.bleurt(["a"], ["a"], checkpoint=model, device=opts.get("device"))
        except (OSError, ValueError) as e:
            raise OSError(f"AG cannot be scored (nothing was scored): {e}{skip}") from e


def _default_scorer(predictions, task, references, *, split, compat, **options):
    from ecinstruct_eval import score

    return score(predictions, task, references, split=split, compat=compat, **options)


def _default_loader(task, split, location):
    from ecinstruct_eval.data import load_split

    return load_split(task, split, location)


REPORT_NAME = "build_report.json"


def data_origin(location) -> tuple[dict | None, dict]:
    """``(origin, test_sets)`` from the ``build_report.json`` of a data location.

    ``origin`` is the report's ``origin`` (``None`` when the location is not a
    local folder, e.g. a Hub id, or holds no readable report); ``test_sets``
    maps ``(task, split)`` to the fingerprint the report records.
    """
    from ecinstruct_eval.data import resolve_location

    loc = resolve_location(location)
    if loc is None:
        return None, {}
    path = Path(loc) / REPORT_NAME
    if not path.is_file():
        return None, {}
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None, {}
    if not isinstance(report, dict):
        return None, {}
    origin = report.get("origin")
    origin = _jsonable(dict(origin)) if isinstance(origin, Mapping) and origin.get("kind") else None
    recorded = {}
    tasks = report.get("tasks")
    for task, rep in (tasks.items() if isinstance(tasks, Mapping) else ()):
        sets = rep.get("test_sets") if isinstance(rep, Mapping) else None
        for split, fp in (sets.items() if isinstance(sets, Mapping) else ()):
            if isinstance(fp, Mapping) and isinstance(fp.get("sha256"), str):
                recorded[(str(task), str(split))] = fp["sha256"]
    return origin, recorded


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
    model_check: Callable[[Mapping], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Validate, then score a submission; return the results document.

    Parameters
    ----------
    path : path-like
        Submission JSONL (metadata header beside it, see
        :mod:`ecinstruct_leaderboard.submission`).
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
    model_check : callable, optional
        ``model_check(ag_options)``, run once before anything is scored when
        the submission holds AG; default :func:`check_ag_models` with the
        default scorer, none with a custom one.

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

    if any(TASKS[t].kind == "generation" for t, _ in preds):
        check = model_check or (check_ag_models if scorer is None else None)
        if check is not None:
            check(dict(ag_options or {}))
    local_models = _local_model_replacements(ag_options) if any(
        TASKS[t].kind == "generation" for t, _ in preds) else {}

    from ecinstruct_eval.testsets import split_fingerprint

    origin, recorded = data_origin(location)
    results: dict[str, dict] = {}
    ag_settings: dict[str, dict] = {}
    mismatched: list[str] = []
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
                allowed = _metric_schema(name)["properties"]["value"]  # never write what `table` refuses
                if math.isfinite(value) and not allowed["minimum"] <= value <= allowed["maximum"]:
                    why = ("; the released scorer counts a predicted triple once for every gold triple it "
                           "matches, so repeated triples count more than once: remove them or score with "
                           "compat='paper'") if compat == "released" else ""
                    raise ValueError(f"{path.name}: {task}/{split} scores {name} = {value:.6g} with "
                                     f"compat={compat!r}, which a results file cannot hold (it must be "
                                     f"{_expected(allowed)}); nothing was written{why}")
                lo, hi = ci.get(name, (math.nan, math.nan))
                metrics[name] = {"value": _r(value), "ci_low": _r(lo), "ci_high": _r(hi)}
            settings = _portable(_settings_of(res), local_models)
            if TASKS[task].kind == "generation":
                ag_settings.setdefault(task, settings)
            ids_hash = hashlib.sha256("\n".join(str(r["id"]) for r in refs).encode()).hexdigest()
            test_set = split_fingerprint(refs)
            if recorded.get((task, split)) != test_set["sha256"]:  # unlisted sets count as mismatched
                mismatched.append(f"{task}/{split}")
            results.setdefault(task, {})[split] = {
                "n": n,
                "n_failed": int(getattr(res, "n_failed", 0)),
                "primary_metric": primary,
                "metrics": metrics,
                "settings": settings,
                "ids_sha256": ids_hash,
                "test_set": test_set,
                "bootstrap_primary": [_r(v) for v in reps.get(primary, [])],
            }

    if origin is not None and mismatched:
        # the report describes other records than those scored: claim no origin
        if progress:
            progress(f"the data's {REPORT_NAME} does not describe the records scored "
                     f"({', '.join(mismatched[:3])}{' ...' if len(mismatched) > 3 else ''} differ): "
                     "test origin recorded as unknown")
        origin = None

    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "model": _jsonable(report.metadata or {}),
        "submission": {"file": path.name, "sha256": _sha256(path), "lines": report.n_lines},
        "evaluator": {
            "package": "ecinstruct_eval",
            "version": _evaluator_version(),
            "compat": compat,
            "ag_options": _portable(_jsonable(dict(ag_options or {})), local_models),
            "settings": ag_settings,
        },
        "bootstrap": {
            "method": "percentile",
            "confidence": confidence,
            "n_resamples": n_resamples,
            "seed": seed,
            "unit": "test item",
        },
        "test_origin": origin,
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


#: Largest results file :func:`load_results` reads.
MAX_RESULTS_BYTES = 64 * 1024 * 1024
#: Deepest nesting of arrays and objects a results file may have (the schema needs 6).
MAX_DEPTH = 32


class ResultsError(ValueError):
    """A results file (or document) that may not be used: one line, ``FILE: FIELD: what is wrong``."""


@functools.lru_cache(maxsize=1)
def results_schema() -> dict:
    """The JSON Schema of results files (``leaderboard/data/results.schema.json``), the contract
    :func:`validate_results` checks."""
    from importlib import resources

    return json.loads(resources.files(__package__).joinpath("data/results.schema.json").read_text("utf-8"))


def _one_line(text: str) -> str:
    """``text`` with control characters escaped, so a message stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _show(value, limit: int = 60) -> str:
    """A value as a message shows it: JSON-like, cut short, one line."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        digits = len(str(abs(value)))
        return str(value) if digits <= 30 else f"an integer of {digits} digits"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "a number too large to be finite"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=True)
        return text if len(text) <= limit else text[: limit - 4] + '..."'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    return type(value).__name__


_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_@\-]{1,64}")


def _field(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    shown = key if _SIMPLE_KEY.fullmatch(key) else _show(key, 40)
    return f"{path}.{shown}" if path else shown


def _pattern(pattern: str) -> re.Pattern:
    # JSON Schema patterns are ECMA-262: "$" ends the text (Python's "$" also matches before a
    # final newline), and they are searched, not matched.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return _compiled(pattern)


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


_TYPE_WORDS = {"object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
               "number": "a finite number", "boolean": "true or false", "null": "null"}
_KNOWN_KEYWORDS = frozenset({
    "$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "required",
    "properties", "patternProperties", "additionalProperties", "propertyNames", "maxProperties",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "items", "maxItems", "anyOf", "allOf", "if", "then"})


def _is_type(value, t: str) -> bool:
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if t == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    raise ValueError(f"results schema: unknown type {t!r}")


def _expected(schema: Mapping) -> str:
    """What a value of ``schema`` must be, in words: "a finite number in [0, 1] or null"."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    words = []
    for t in types:
        w = _TYPE_WORDS[t]
        if t in ("number", "integer"):
            lo = schema.get("minimum", schema.get("exclusiveMinimum"))
            hi = schema.get("maximum", schema.get("exclusiveMaximum"))
            if lo is not None or hi is not None:
                left = "(" if "exclusiveMinimum" in schema or lo is None else "["
                right = ")" if "exclusiveMaximum" in schema or hi is None else "]"
                show = lambda x, inf: inf if x is None else (f"{x:g}" if isinstance(x, float) else  # noqa: E731
                                                             str(x) if abs(x) < 10**12 else f"{x:.3g}")
                w += f" in {left}{show(lo, '-inf')}, {show(hi, 'inf')}{right}"
        elif t == "string":
            if "maxLength" in schema:
                w += f" of at most {schema['maxLength']} characters"
        words.append(w)
    return " or ".join(words) if words else "valid"


class _Checker:
    """Checks a document against the results schema (the keywords it uses; see _KNOWN_KEYWORDS)."""

    def __init__(self, root: Mapping):
        self.root = root

    def resolve(self, schema: Mapping) -> Mapping:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"results schema: only local $ref are supported, got {ref!r}")
            node = self.root
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def errors(self, value, schema: Mapping, path: str) -> str | None:
        """The first problem of ``value`` at ``path``, as ``"FIELD: message"``, or ``None``."""
        schema = self.resolve(schema)
        unknown = set(schema) - _KNOWN_KEYWORDS
        if unknown:
            raise ValueError(f"results schema: keywords {sorted(unknown)} are not understood by the checker")
        where = path or "document"
        if "const" in schema and not _same(value, schema["const"]):
            return f"{where}: must be {_show(schema['const'])}, got {_show(value)}"
        if "enum" in schema and not any(_same(value, c) for c in schema["enum"]):
            return f"{where}: must be one of {', '.join(_show(c) for c in schema['enum'])}, got {_show(value)}"
        if "type" in schema:
            types = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
            if not any(_is_type(value, t) for t in types):
                return f"{where}: must be {_expected(schema)}, got {_show(value)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, hi = schema.get("minimum"), schema.get("maximum")
            xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
            if ((lo is not None and value < lo) or (hi is not None and value > hi)
                    or (xlo is not None and value <= xlo) or (xhi is not None and value >= xhi)):
                return f"{where}: must be {_expected(schema)}, got {_show(value)}"
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                return f"{where}: must be at least {schema['minLength']} characters, got {_show(value)}"
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                return f"{where}: must be at most {schema['maxLength']} characters, got {len(value)}"
            if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
                what = schema.get("description") or f"match {schema['pattern']}"
                return f"{where}: must be {what}, got {_show(value)}"
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                return f"{where}: must hold at most {schema['maxItems']} items, got {len(value)}"
            if "items" in schema:
                for i, item in enumerate(value):
                    if err := self.errors(item, schema["items"], _field(path, i)):
                        return err
        if isinstance(value, dict):
            if err := self._object(value, schema, path):
                return err
        for sub in schema.get("allOf", ()):
            if err := self.errors(value, sub, path):
                return err
        if "if" in schema and self.errors(value, schema["if"], path) is None and "then" in schema:
            if err := self.errors(value, schema["then"], path):
                return err
        if "anyOf" in schema:
            found = [self.errors(value, sub, path) for sub in schema["anyOf"]]
            if all(found):
                # the branch of the value's own type says best what is wrong
                for sub, err in zip(schema["anyOf"], found):
                    t = self.resolve(sub).get("type")
                    if t and any(_is_type(value, x) for x in ([t] if isinstance(t, str) else t)):
                        return err
                words = " or ".join(_expected(self.resolve(sub)) for sub in schema["anyOf"])
                return f"{where}: must be {words}, got {_show(value)}"
        return None

    def _object(self, value: dict, schema: Mapping, path: str) -> str | None:
        where = path or "document"
        for key in schema.get("required", ()):
            if key not in value:
                return f"{where}: missing required key {_show(key)}"
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            return f"{where}: must hold at most {schema['maxProperties']} keys, got {len(value)}"
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, item in value.items():
            here = _field(path, key)
            if names is not None and self.errors(key, names, here):
                names = self.resolve(names)
                allowed = (f"known keys: {', '.join(names['enum'])}" if "enum" in names
                           else f"keys must match {names.get('pattern')}")
                return f"{here}: unknown key ({allowed})"
            matched = False
            if key in props:
                matched = True
                if err := self.errors(item, props[key], here):
                    return err
            for pat, sub in patterns.items():
                if _pattern(pat).search(key):
                    matched = True
                    if err := self.errors(item, sub, here):
                        return err
            if not matched:
                if extra is False:
                    return f"{here}: unknown key (allowed: {', '.join(props)})"
                if isinstance(extra, Mapping) and (err := self.errors(item, extra, here)):
                    return err
        return None


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b or (
        not isinstance(a, bool) and not isinstance(b, bool)
        and isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _metric_schema(name: str) -> Mapping:
    props = results_schema()["$defs"]["entry"]["properties"]["metrics"]
    checker = _Checker(results_schema())
    for pat, sub in props.get("patternProperties", {}).items():
        if _pattern(pat).search(name):
            return checker.resolve(sub)
    return checker.resolve(props["additionalProperties"])


def _too_deep(doc, limit: int = MAX_DEPTH) -> str | None:
    """The field path of the first array or object nested deeper than ``limit``, or ``None``.

    >>> _too_deep({"a": [[{"b": []}]]}, limit=3)
    'a[0][0]'
    """
    stack: list = [(doc, 1, None)]  # (node, depth, (parent chain, key) or None)
    while stack:
        node, depth, chain = stack.pop()
        if depth > limit:
            keys = []
            while chain is not None:
                chain, key = chain
                keys.append(key)
            out = ""
            for key in reversed(keys[-8:]):  # the first eight steps name the place well enough
                out = _field(out, key)
            return (out + ("..." if len(keys) > 8 else "")) or "document"
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((v, depth + 1, (chain, k)) for k, v in items if isinstance(v, (dict, list)))
    return None


def results_problem(doc) -> str | None:
    """The first reason a results document may not be used, as ``"FIELD: message"``, or ``None``.

    Checks the shipped JSON Schema (:func:`results_schema`) and the rules it
    cannot state: each entry's ``bootstrap_primary`` holds exactly
    ``bootstrap.n_resamples`` replicates (or none) within its primary metric's
    range, ``primary_metric`` names one of the entry's metrics, ``n_failed <=
    n``, ``ci_low <= ci_high``, and the ``model`` header follows the
    submission metadata rules (:func:`ecinstruct_leaderboard.submission.metadata_problems`).

    >>> results_problem({"schema": "ecinstruct-leaderboard-results", "schema_version": "1"})
    'schema_version: must be one of 1, 2, got "1"'
    """
    from ecinstruct_leaderboard.submission import metadata_problems

    if not isinstance(doc, dict):
        return f"document: must be an object, got {_show(doc)}"
    if (deep := _too_deep(doc)) is not None:
        return f"{deep}: nested more than {MAX_DEPTH} levels deep"
    if doc.get("schema") != SCHEMA:
        return f"schema: not an ECInstruct leaderboard results file (schema must be {SCHEMA!r})"
    version = doc.get("schema_version", 1)
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return (f"schema_version: results schema version {_show(version)} is newer than this toolkit "
                f"understands ({SCHEMA_VERSION}); upgrade ecinstruct")
    schema = results_schema()
    checker = _Checker(schema)
    if "schema_version" in doc and (err := checker.errors(doc["schema_version"],
                                                           schema["properties"]["schema_version"],
                                                           "schema_version")):
        return err
    if err := checker.errors(doc, schema, ""):
        return err
    model = doc["model"]
    for key, msg in metadata_problems(model, required=False):
        return f"{_field('model', key or 'model')}: {msg}"
    n_resamples = doc["bootstrap"]["n_resamples"]
    for task, splits in doc["results"].items():
        for split, e in splits.items():
            where = f"results.{task}.{split}"
            if e["primary_metric"] not in e["metrics"]:
                return (f"{where}.primary_metric: names no metric of the entry, got "
                        f"{_show(e['primary_metric'])}")
            if e["n_failed"] > e["n"]:
                return f"{where}.n_failed: must be at most n ({e['n']}), got {e['n_failed']}"
            for name, m in e["metrics"].items():
                lo, hi = m["ci_low"], m["ci_high"]
                if lo is not None and hi is not None and lo > hi:
                    return f"{_field(where + '.metrics', name)}.ci_low: must be at most ci_high ({hi!r}), got {lo!r}"
            reps = e["bootstrap_primary"]
            if reps and len(reps) != n_resamples:
                return (f"{where}.bootstrap_primary: must hold exactly bootstrap.n_resamples "
                        f"({n_resamples}) replicates, or none, got {len(reps)}")
            rng = _metric_schema(e["primary_metric"])["properties"]["value"]
            for i, v in enumerate(reps):
                if v is not None and not rng["minimum"] <= v <= rng["maximum"]:
                    return f"{where}.bootstrap_primary[{i}]: must be {_expected(rng)}, got {_show(v)}"
    return None


def validate_results(doc, source: str | os.PathLike = "<results>") -> dict:
    """``doc`` if it is a usable results document, else :class:`ResultsError` naming
    ``source`` and the field (see :func:`results_problem`)."""
    problem = results_problem(doc)
    if problem:
        problem = _one_line(problem)
        if len(problem) > 400:
            problem = problem[:397] + "..."
        raise ResultsError(f"{_one_line(str(source))}: {problem}")
    return doc


def load_results(path: str | os.PathLike) -> dict:
    """Read a results file and check it completely (:func:`validate_results`) before any use.

    The one gate of ``leaderboard table``, ``compare`` and ``plot``: a file
    over :data:`MAX_RESULTS_BYTES`, not UTF-8 JSON, with ``NaN``/``Infinity``
    or duplicate keys, nested deeper than :data:`MAX_DEPTH`, or off the
    schema, raises :class:`ResultsError` (a ``ValueError``) with one line
    ``FILE: FIELD: what is wrong``.
    """
    path = Path(path)
    shown = _one_line(str(path))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_RESULTS_BYTES + 1)
    except OSError as e:
        raise ResultsError(f"{shown}: cannot read results file ({_one_line(e.strerror or str(e))})") from None
    if len(data) > MAX_RESULTS_BYTES:
        raise ResultsError(f"{shown}: cannot read results file (over {MAX_RESULTS_BYTES} bytes)")
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=reject_constant,
                         object_pairs_hook=no_duplicate_keys)
    except UnicodeDecodeError as e:
        raise ResultsError(f"{shown}: cannot read results file (not UTF-8: {e.reason} at byte {e.start})") from None
    except RecursionError:
        raise ResultsError(f"{shown}: cannot read results file (nested too deeply)") from None
    except ValueError as e:  # JSONDecodeError, and integers over Python's digit limit
        raise ResultsError(f"{shown}: cannot read results file ({_one_line(str(e))[:200]})") from None
    return validate_results(doc, path)


def test_set_of(doc: Mapping, task: str, split: str) -> str | None:
    """The sha256 of the test set ``task``/``split`` was scored on, ``None`` when unknown
    (schema-1 files) or absent."""
    entry = doc.get("results", {}).get(task, {}).get(split)
    ts = entry.get("test_set") if isinstance(entry, Mapping) else None
    sha = ts.get("sha256") if isinstance(ts, Mapping) else None
    return sha if isinstance(sha, str) else None


def test_origin_of(doc: Mapping) -> dict | None:
    """The ``origin`` of the data a results document was scored on, ``None`` when unknown."""
    origin = doc.get("test_origin")
    return dict(origin) if isinstance(origin, Mapping) and origin.get("kind") else None


test_set_of.__test__ = False  # not pytest tests, despite the name
test_origin_of.__test__ = False


def primary_value(doc: Mapping, task: str, split: str) -> float | None:
    """The primary metric of ``task``/``split`` in a results document, or ``None``."""
    entry = doc.get("results", {}).get(task, {}).get(split)
    if not entry:
        return None
    m = entry["metrics"].get(entry["primary_metric"])
    return None if m is None else m["value"]


def model_name(doc: Mapping, default: str = "submission") -> str:
    return str(doc.get("model", {}).get("model") or doc.get("submission", {}).get("file") or default)


def compat_of(doc: Mapping) -> str:
    """The scoring mode a results document was made with: ``"paper"`` or ``"released"``."""
    return str(doc.get("evaluator", {}).get("compat") or "paper")


def display_names(docs: Sequence[Mapping], sources: Sequence[str | os.PathLike] | None = None) -> list[str]:
    """Model names for a board or a plot, told apart when two would read the same.

    Two documents with the same model name and scoring mode get the stem of
    their file (``sources``, else the submission file) appended in brackets.

    >>> a = {"model": {"model": "m"}, "evaluator": {"compat": "paper"}}
    >>> display_names([a, a], ["results/a.json", "results/b.json"])
    ['m [a]', 'm [b]']
    >>> display_names([a, {**a, "evaluator": {"compat": "released"}}])
    ['m', 'm']
    """
    names = [model_name(d, f"submission {i + 1}") for i, d in enumerate(docs)]
    keys = [(n, compat_of(d)) for n, d in zip(names, docs)]
    out = []
    for i, (name, doc) in enumerate(zip(names, docs)):
        if keys.count(keys[i]) == 1:
            out.append(name)
            continue
        src = sources[i] if sources else doc.get("submission", {}).get("file") or f"{i + 1}"
        out.append(f"{name} [{Path(str(src)).stem}]")
    for i, label in enumerate(out):  # same stems in different folders
        if out.count(label) > 1 and keys.count(keys[i]) > 1:
            out[i] = f"{label[:-1]} #{i + 1}]" if label.endswith("]") else f"{label} [#{i + 1}]"
    return out
