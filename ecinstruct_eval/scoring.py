"""``score()``: parse predictions, align them with the gold records, compute metrics.

:func:`score` does the expensive work once (parsing; BERTScore and BLEURT for
AG) and keeps per-item *columns* (numpy arrays) in the :class:`ScoreResult`.
Every metric is an aggregate of those columns, so
:meth:`ScoreResult.recompute` re-aggregates any subset or resample of items
cheaply: what bootstrap confidence intervals and paired tests need.

Gold answers are read in one place, :func:`gold_answer`, which accepts the
official release's outputs (``"A: very positive"``, ``"B,A,C"``) and the
older ones (``"A"``, ``"B, A, C"``) alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from ecinstruct_eval.data import load_split, read_predictions, record_options, select_predictions
from ecinstruct_eval.metrics import classification, extraction, released
from ecinstruct_eval.metrics.ranking import ESCI_GRADES, query_ndcg
from ecinstruct_eval.parsing import parse, split_options
from ecinstruct_eval.tasks import LETTERS, TaskSpec, get_task

COMPAT_MODES = ("paper", "released")
FAILED_MODES = ("wrong", "exclude")
OOD_SPLITS = ("test_ood", "test_ood_unseen")

__all__ = ["ItemResult", "ScoreResult", "gold_answer", "score"]


class ItemResult(NamedTuple):
    """What happened to one prediction.

    ``correct`` is ``None`` for AG (no right/wrong); ``score`` is the item's
    own metric value where one exists (QPR NDCG, AG BERTScore F1, AVE share
    of correct entries), else 1.0/0.0.
    """

    id: str | None
    prediction: str | None
    parsed: Any
    gold: Any
    correct: bool | None
    failed: bool
    score: float


class ScoreResult(Mapping[str, float]):
    """Read-only mapping metric name -> value, with the per-item details and settings.

    Attributes
    ----------
    task, split : str
    n : int
        Number of items scored.
    n_failed : int
        Items whose output could not be parsed.
    n_correct : int
        Items answered correctly (0 for AG, which has no right/wrong).
    primary : str
        The task's primary metric name (``result[result.primary]``).
    settings : mapping
        ``compat``, ``failed`` and, for AG, the model hashes.

    Examples
    --------
    >>> r = score(["A", "B", "x"], "SA", references=["A", "C", "E"])
    >>> round(r["accuracy"], 3), r.n, r.n_failed, r.primary
    (0.333, 3, 1, 'macro_f1')
    >>> r.recompute([0, 0])["accuracy"]
    1.0
    """

    def __init__(self, *, task: str, split: str | None, metrics: Mapping[str, float],
                 columns: Mapping[str, np.ndarray], aggregate: Callable[[Mapping], dict],
                 items: Callable[[], tuple[ItemResult, ...]], primary: str,
                 settings: Mapping[str, Any]):
        self.task = task
        self.split = split
        self._metrics = dict(metrics)
        self._columns = dict(columns)
        self._aggregate = aggregate
        self._items_factory = items
        self._items: tuple[ItemResult, ...] | None = None
        self.primary = primary
        self.settings = MappingProxyType(dict(settings))
        failed = self._columns["failed"]
        correct = self._columns["correct"]
        self.n = int(len(failed))
        self.n_failed = int(failed.sum())
        self.n_correct = int(np.sum((correct == 1) & ~failed))

    # Mapping protocol ------------------------------------------------------
    def __getitem__(self, key: str) -> float:
        return self._metrics[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.4f}" for k, v in self._metrics.items())
        return f"ScoreResult({self.task}, n={self.n}, n_failed={self.n_failed}, {body})"

    @property
    def compat(self) -> str:
        return self.settings["compat"]

    @property
    def failed(self) -> str:
        return self.settings["failed"]

    @property
    def per_item(self) -> tuple[ItemResult, ...]:
        """One :class:`ItemResult` per item, in reference order (built on first access)."""
        if self._items is None:
            self._items = self._items_factory()
        return self._items

    @property
    def columns(self) -> Mapping[str, np.ndarray]:
        """The per-item arrays the metrics aggregate (read-only views)."""
        out = {}
        for k, v in self._columns.items():
            view = v.view()
            view.flags.writeable = False
            out[k] = view
        return MappingProxyType(out)

    def recompute(self, indices: Sequence[int] | np.ndarray) -> dict[str, float]:
        """All metrics over the items at ``indices`` (repetition allowed).

        Nothing is parsed or run again: AG reuses the stored per-item
        BERTScore/BLEURT values.  ``recompute(range(result.n))`` equals
        ``dict(result)``; a bootstrap resample is
        ``recompute(rng.integers(0, result.n, result.n))``.

        Parameters
        ----------
        indices : sequence of int or integer array
            Positions in reference order.

        Returns
        -------
        dict
            Metric name -> value, same keys as the result.
        """
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1:
            raise ValueError("indices must be one-dimensional")
        if len(idx) and (idx.min() < -self.n or idx.max() >= self.n):
            raise IndexError(f"indices must lie in [0, {self.n})")
        return self._aggregate({k: v[idx] for k, v in self._columns.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: task, split, metrics, counts and settings."""
        return {
            "task": self.task,
            "split": self.split,
            "metrics": dict(self._metrics),
            "primary": self.primary,
            "n": self.n,
            "n_failed": self.n_failed,
            "settings": dict(self.settings),
        }


# --------------------------------------------------------------------------- alignment


def _normalise_references(references: Any) -> list[dict]:
    if isinstance(references, (str, bytes)):
        raise TypeError("references must be a sequence of records or gold strings, not a string")
    if type(references).__name__ == "DataFrame" and hasattr(references, "to_dict"):
        references = references.to_dict("records")
    out = []
    for i, ref in enumerate(references):
        if type(ref) is dict and "output" in ref:
            out.append(ref)
        elif isinstance(ref, str):
            out.append({"output": ref})
        elif isinstance(ref, Mapping):
            if "output" not in ref:
                raise ValueError(f"reference {i} has no 'output' field")
            out.append(ref)
        else:
            raise TypeError(f"reference {i} must be a record (dict) or a gold string, "
                            f"got {type(ref).__name__}")
    return out


def scored_split(references: Sequence[Mapping], split: str) -> str:
    """The split being scored: the references' own ``split`` when they all name one, else ``split``.

    Predictions that name another split are ignored (:func:`select_predictions`).
    """
    splits = {r.get("split") for r in references}
    return splits.pop() if len(splits) == 1 and None not in splits else split


def _show(ids: Sequence[str], limit: int = 5) -> str:
    ids = list(ids)
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(map(repr, ids[:limit])) + more


def _align(preds: list[dict], refs: list[dict]) -> list[str | None]:
    """Predictions in reference order; by id when predictions carry ids, else by position."""
    pred_ids = [p["id"] for p in preds]
    with_ids = sum(i is not None for i in pred_ids)
    if with_ids == 0:
        if len(preds) != len(refs):
            raise ValueError(f"{len(preds)} predictions for {len(refs)} references; without ids "
                             "they are aligned by position and must be as many")
        return [p["prediction"] for p in preds]
    if with_ids != len(preds):
        raise ValueError(f"{len(preds) - with_ids} of {len(preds)} predictions have no id; "
                         "give every prediction an id or none")
    ref_ids = [None if r.get("id") is None else str(r["id"]) for r in refs]
    if pred_ids == ref_ids and len(set(ref_ids)) == len(ref_ids):
        return [p["prediction"] for p in preds]  # already in reference order
    if any(i is None for i in ref_ids):
        raise ValueError("predictions carry ids but the references do not; pass the "
                         "dataset records as references (or drop the ids to align by position)")
    seen: dict[str, int] = {}
    dups = []
    for i in pred_ids:
        if i in seen:
            dups.append(i)
        seen[i] = seen.get(i, 0) + 1
    if dups:
        raise ValueError(f"duplicate prediction ids: {_show(sorted(set(dups)))}")
    ref_dups = sorted({i for i in ref_ids if ref_ids.count(i) > 1}) if len(set(ref_ids)) != \
        len(ref_ids) else []
    if ref_dups:
        raise ValueError(f"duplicate reference ids: {_show(ref_dups)}")
    by_id = {p["id"]: p["prediction"] for p in preds}
    missing = [i for i in ref_ids if i not in by_id]
    ref_set = set(ref_ids)
    extra = [i for i in pred_ids if i not in ref_set]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing predictions for {len(missing)} ids: {_show(missing)}")
        if extra:
            parts.append(f"{len(extra)} predictions with unknown ids: {_show(extra)}")
        raise ValueError("; ".join(parts))
    return [by_id[i] for i in ref_ids]


def _where(i: int, ref: Mapping) -> str:
    rid = ref.get("id")
    return f"reference {i}" + ("" if rid is None else f" (id {rid!r})")


#: A gold output that opens with its option letter, as the release writes SA/MPC outputs.
_LEADING_LETTER = re.compile(r"^([A-Z])\s*:")


def _gold_option_letter(spec: TaskSpec, ref: Mapping, out: str) -> str | None:
    """The option letter a gold output names: one of the options' texts, ``"X: ..."`` or ``"X"``."""
    text = out.strip()
    lettered = record_options(ref) or spec.lettered_options()
    for letter, (opt, body) in zip(LETTERS, zip(lettered, split_options(lettered).values())):
        if text == opt.strip() or text == body:
            return letter
    m = _LEADING_LETTER.match(text)
    if m:
        return m.group(1)
    return text.upper() if len(text) == 1 and text.isalpha() and text.isascii() else None


def _gold_ranking(out: str, n: int) -> list[str] | None:
    """The letters of a gold ranking, ``"B,A,C"`` (release) or ``"B, A, C"`` (older builds)."""
    letters = [piece.strip() for piece in out.split(",")]
    valid = LETTERS[:n]
    if not all(len(x) == 1 and x in valid for x in letters) or len(set(letters)) != len(letters):
        return None
    return letters


def gold_answer(task: str | TaskSpec, ref: Mapping) -> Any:
    """The gold answer of one reference record, in the form :func:`parse` returns answers.

    This is the one place where gold outputs are read.  What the output may
    look like follows the task registry (:attr:`TaskSpec.kind`, the options):
    the official release's forms (``"A: very positive"``, ``"B,A,C"``, an AVE
    JSON list) and the older ones (``"A"``, ``"B, A, C"``).

    Parameters
    ----------
    task : str or TaskSpec
    ref : mapping
        A record with ``output`` (QPR: also ``relevance``; option tasks: its
        ``options`` when they are not the task's fixed ones; AVE: ``attributes``
        is used when present).

    Returns
    -------
    str, list
        ``"yes"``/``"no"``; the option letter (PRP, SA, SR, MPC: the option
        whose text the output is, or its leading ``"X:"``, or a bare letter);
        the ranked letters (QPR); the gold triples as dicts (AVE); the answer
        text (AG).

    Raises
    ------
    ValueError
        Saying what is wrong with the gold (not where: :func:`score` adds that).

    Examples
    --------
    >>> gold_answer("SA", {"output": "A: very positive"}), gold_answer("SA", {"output": "B"})
    ('A', 'B')
    >>> gold_answer("QPR", {"output": "B,A,C", "relevance": ["S", "E", "I"]})
    ['B', 'A', 'C']
    """
    spec = get_task(task)
    out = ref["output"]
    if not isinstance(out, str):
        raise ValueError(f"'output' must be a string, got {type(out).__name__}")
    kind = spec.kind
    if kind == "binary":
        answer = out.strip().lower()
        if answer not in ("yes", "no"):
            raise ValueError(f"gold output must be 'yes' or 'no', got {out!r}")
        return answer
    if kind in ("multiclass", "pick"):
        letter = _gold_option_letter(spec, ref, out)
        opts = record_options(ref)
        if letter not in spec.labels or (opts and LETTERS.index(letter) >= len(opts)):
            n = len(opts) if opts else len(spec.labels)
            raise ValueError(f"gold output {out!r} is not one of the {n} option letters")
        return letter
    if kind == "ranking":
        rel = ref.get("relevance")
        if not rel or isinstance(rel, str):
            raise ValueError("no 'relevance' (the ESCI grade of every option); pass the dataset "
                             "records, not gold strings (records imported from the release get their "
                             "grades from its QPR label file: `ecinstruct import ... --qpr-labels label.json`)")
        bad = [g for g in rel if not (g in ESCI_GRADES or (
            isinstance(g, (int, float)) and not isinstance(g, bool) and 0 <= g < float("inf")))]
        if bad:
            raise ValueError(f"relevance grades must be one of {'/'.join(ESCI_GRADES)} (or "
                             f"non-negative numbers), got {bad[0]!r}")
        opts = record_options(ref)
        if opts and len(opts) != len(rel):
            raise ValueError(f"{len(rel)} relevance grades for {len(opts)} options")
        ranking = _gold_ranking(out, len(rel))
        if ranking is None:
            raise ValueError(f"gold output {out!r} is not a ranking of the {len(rel)} option "
                             "letters (e.g. 'B,A,C')")
        return ranking
    if kind == "extraction":
        attrs = ref.get("attributes")
        gold = attrs if isinstance(attrs, list) and attrs else out
        if isinstance(gold, str):
            try:
                gold = json.loads(gold)
            except (json.JSONDecodeError, RecursionError):
                raise ValueError(f"gold output is not a JSON list of attribute triples: "
                                 f"{out[:60]!r}") from None
        if isinstance(gold, Mapping):
            gold = [gold]
        if not isinstance(gold, list) or not all(
                isinstance(t, Mapping) and "attribute" in t and "value" in t for t in gold):
            raise ValueError("gold must be a list of {\"attribute\", \"value\", \"source\"} "
                             f"objects, got {str(gold)[:60]!r}")
        return gold
    return out


def _check_references(spec: TaskSpec, refs: Sequence[Mapping]) -> list:
    """The one input check of the gold side: every reference's :func:`gold_answer`.

    Raises
    ------
    ValueError
        Naming the first bad reference's index and id and what is wrong with it.
    """
    golds = []
    for i, ref in enumerate(refs):
        try:
            golds.append(gold_answer(spec, ref))
        except ValueError as e:
            raise ValueError(f"{spec.code} {_where(i, ref)}: {e}") from None
    return golds


# --------------------------------------------------------------------------- families


def _options(ref: Mapping) -> list[str] | None:
    return record_options(ref) or None


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def _classification(spec, preds, refs, compat, failed, gold):
    if spec.kind == "binary":
        labels = ["no", "yes"]
        if compat == "released":
            parsed = [released.parse_yes_no(p) for p in preds]
        else:
            parsed = [parse(p, spec) for p in preds]
    else:
        labels = list(spec.labels)
        if compat == "released":
            labels = list(released.OPTION_LETTERS) if spec.kind == "multiclass" else labels
            fn = released.parse_option if spec.kind == "multiclass" else released.parse_sr
            parsed = [fn(p) for p in preds]
        else:
            parsed = [parse(p, spec, _options(r)) for p, r in zip(preds, refs)]
    t = classification.encode(gold, labels)
    p = classification.encode(parsed, labels)
    fail = p < 0
    columns = {"y_true": t, "y_pred": p, "failed": fail, "correct": (t == p).astype(np.int8)}
    exclude = failed == "exclude"

    if spec.kind == "binary":
        if compat == "released":
            def agg(c):
                return released.binary_from_codes(c["y_true"], c["y_pred"])
        else:
            def agg(c):
                return classification.binary_from_codes(
                    c["y_true"], c["y_pred"], exclude=c["failed"] if exclude else None)
    elif spec.kind == "multiclass":
        if compat == "released":
            def agg(c):
                return released.multiclass_from_codes(c["y_true"], c["y_pred"])
        else:
            k = len(labels)

            def agg(c):
                return classification.multiclass_from_codes(
                    c["y_true"], c["y_pred"], k, exclude=c["failed"] if exclude else None)
    else:  # pick (SR)
        def agg(c):
            hits = c["correct"][~c["failed"]] if exclude else c["correct"]
            return {"hr@1": _mean(hits.astype(float))}
    scores = columns["correct"].astype(float)
    return columns, agg, parsed, gold, scores


def _ranking(spec, preds, refs, compat, failed, gold):
    rels = [list(r["relevance"]) for r in refs]  # checked by _check_references
    if compat == "released":
        pairs = [released.qpr_item(p, rel) for p, rel in zip(preds, rels)]
        values = np.array([v for v, _ in pairs], dtype=float)
        fail = np.array([s > 0 for _, s in pairs], dtype=bool)
        parsed = [[piece[:1] for piece in (p or "").strip().split(",")] for p in preds]
        correct = np.array([released.qpr_perfect(p, rel) for p, rel in zip(preds, rels)],
                           dtype=np.int8)
    else:
        parsed = [parse(p, spec, _options(r) or [f"{chr(65 + j)}: " for j in range(len(rel))])
                  for p, r, rel in zip(preds, refs, rels)]
        values = np.array([query_ndcg(rel, pr) for rel, pr in zip(rels, parsed)], dtype=float)
        fail = np.array([pr is None for pr in parsed], dtype=bool)
        correct = (values >= 1.0 - 1e-9).astype(np.int8)  # perfect = NDCG 1
    columns = {"ndcg": values, "failed": fail, "correct": correct}
    exclude = failed == "exclude" and compat != "released"

    def agg(c):
        v = c["ndcg"][~c["failed"]] if exclude else c["ndcg"]
        return {"ndcg": _mean(v)}

    return columns, agg, parsed, gold, values


def _extraction(spec, preds, refs, compat, failed, split, golds):
    if compat == "released":
        # OOD matching follows each record's own split (the authors' "OOD" in the setting), the
        # split argument only for records that do not say
        rows = [released.ave_item(p, g, ood=r.get("split", split) in OOD_SPLITS)
                for p, g, r in zip(preds, golds, refs)]
        arr = np.array([r[:3] for r in rows], dtype=np.int64).reshape(-1, 3)
        fail = np.array([r[3] for r in rows], dtype=bool)
        columns = {"hits": arr[:, 0], "n_gold": arr[:, 1], "n_pred": arr[:, 2], "failed": fail,
                   "correct": ((arr[:, 0] >= arr[:, 1]) & (arr[:, 1] > 0)).astype(np.int8)}

        def agg(c):
            return released.ave_from_counts(int(c["hits"].sum()), int(c["n_gold"].sum()),
                                            int(c["n_pred"].sum()))

        parsed = [released._load_list(p) for p in preds]
        scores = np.where(arr[:, 1] > 0, arr[:, 0] / np.maximum(arr[:, 1], 1), 0.0)
        return columns, agg, parsed, golds, scores
    gold = [extraction.gold_triples(g) for g in golds]  # read by gold_answer
    parsed = [parse(p, spec) for p in preds]
    counts = [extraction.ave_counts(g, p) for g, p in zip(gold, parsed)]
    columns = {k: np.array([c[k] for c in counts], dtype=np.int64)
               for k in extraction.COUNT_FIELDS}
    columns["failed"] = np.array([p is None for p in parsed], dtype=bool)
    good = columns["nv"] + columns["cv"]
    columns["correct"] = ((good == columns["n"]) & ~columns["failed"]).astype(np.int8)
    exclude = failed == "exclude"

    def agg(c):
        keep = ~c["failed"] if exclude else slice(None)
        return extraction.ave_from_counts(**{k: int(c[k][keep].sum())
                                             for k in extraction.COUNT_FIELDS})

    scores = np.where(columns["n"] > 0, good / np.maximum(columns["n"], 1), 0.0)
    return columns, agg, parsed, [[list(t) for t in g] for g in gold], scores


_AG_OPTIONS = {"bertscore_model", "bertscore_layers", "rescale_with_baseline", "bleurt_checkpoint",
               "batch_size", "device", "bleurt"}


def _generation(spec, preds, refs, compat, failed, options, gold):
    from ecinstruct_eval.metrics import generation

    parsed = [parse(p, spec) for p in preds]
    fail = np.array([p is None for p in parsed], dtype=bool)
    # A failed (empty) answer is scored as the empty string: 0 BERTScore, the
    # model's BLEURT for "" (what the released scorer computes too).
    cands = [p or "" for p in parsed] if compat == "paper" else [(p or "").strip() for p in preds]
    batch = options.get("batch_size")
    bs, bs_hash = generation.bertscore(
        cands, gold, model=options.get("bertscore_model"),
        num_layers=options.get("bertscore_layers"),
        rescale_with_baseline=bool(options.get("rescale_with_baseline", False)),
        batch_size=batch or 64, device=options.get("device"))
    columns = dict(bs)
    settings = {"bertscore": bs_hash}
    if options.get("bleurt", True):
        columns["bleurt"], settings["bleurt"] = generation.bleurt(
            cands, gold, checkpoint=options.get("bleurt_checkpoint"), batch_size=batch or 32,
            device=options.get("device"))
    columns["failed"] = fail
    columns["correct"] = np.full(len(gold), -1, dtype=np.int8)
    exclude = failed == "exclude"
    keys = [k for k in columns if k not in ("failed", "correct")]

    def agg(c):
        keep = ~c["failed"] if exclude else slice(None)
        return {k: _mean(c[k][keep]) for k in keys}

    return columns, agg, parsed, gold, columns["bertscore_f1"], settings


# --------------------------------------------------------------------------- entry point


def score(predictions: Any, task: str | TaskSpec, references: Any = None, *,
          split: str = "test", compat: str = "paper", **metric_options: Any) -> ScoreResult:
    """Score model outputs on one ECInstruct task.

    Parameters
    ----------
    predictions : sequence, mapping, pandas Series or path
        Raw model outputs: a sequence of strings (``None`` allowed), a mapping
        id -> string, a Series (index = ids unless a default ``RangeIndex``),
        records ``{"id", "prediction"}``, a pandas DataFrame with a
        ``prediction`` column (and optionally ``id``), or a JSONL/JSON file of
        them.  Aligned to the references by ``id`` when ids are given, else by
        position.  Records that carry ``task``/``split`` (what ``ecinstruct
        predict`` writes for many tasks at once) are kept only when they match
        the task and split being scored.
    task : str
        Task code, case-insensitive (``"SR"``).
    references : sequence, optional
        The split's records (dicts with at least ``output``; QPR needs
        ``relevance``; ``options`` are used for parsing; a pandas DataFrame or
        ``datasets.Dataset`` of them works too) or plain gold output strings,
        in the official release's form (``"A: very positive"``, ``"B,A,C"``)
        or the older one (``"A"``, ``"B, A, C"``); :func:`gold_answer` reads
        them.  Default: ``load_split(task, split)`` from ``$ECINSTRUCT_DATA``.
    split : str
        Split to load when ``references`` is None (and, for references that
        carry no ``split``, whether the released AVE scorer matches as OOD).
    compat : {"paper", "released"}
        ``"paper"``: the paper's definitions (failed outputs count as wrong,
        macro over the label set with never-predicted classes included, NDCG
        with the ideal gold ranking, F1* of eq. 1 with whole-token containment).  ``"released"``: reproduce the authors' released scorer.
    **metric_options
        ``failed`` (``"wrong"``, default, or ``"exclude"``; paper mode only);
        for AG: ``bertscore_model``, ``bertscore_layers``,
        ``rescale_with_baseline``, ``bleurt_checkpoint``, ``bleurt`` (False to
        skip BLEURT), ``batch_size``, ``device``.

    Returns
    -------
    ScoreResult

    Raises
    ------
    ValueError
        Misaligned predictions (missing, extra or duplicate ids; wrong length),
        a bad option value, no references, or a bad gold reference (the
        message names its index and id: a label outside the task's labels, a
        QPR grade outside E/S/C/I or an output that is not a ranking of the
        option letters, an AVE gold that is not a JSON list of triples).
    TypeError
        ``predictions`` of an unsupported type (the message lists the
        accepted ones).
    KeyError
        Unknown task code.
    ecinstruct_eval.data.DataNotFoundError
        ``references`` is None and no dataset is configured.

    Examples
    --------
    >>> r = score(["yes", "No.", ""], "PM", references=["yes", "no", "no"])
    >>> r["accuracy"], r.n_failed
    (0.6666666666666666, 1)
    >>> score(["yes", "No.", ""], "PM", references=["yes", "no", "no"], failed="exclude")["accuracy"]
    1.0
    """
    spec = get_task(task)
    if compat not in COMPAT_MODES:
        raise ValueError(f"compat must be one of {COMPAT_MODES}, got {compat!r}")
    failed = metric_options.pop("failed", None)
    if failed is not None and failed not in FAILED_MODES:
        raise ValueError(f"failed must be one of {FAILED_MODES}, got {failed!r}")
    if compat == "released":
        if failed is not None:
            raise ValueError("failed= applies to compat='paper'; the released scorer's own "
                             "handling is fixed (dropped for option, SR and yes/no tasks)")
        failed = "exclude" if spec.kind in ("multiclass", "binary", "pick") else "wrong"
    failed = failed or "wrong"
    unknown = set(metric_options) - (_AG_OPTIONS if spec.kind == "generation" else set())
    if unknown:
        raise TypeError(f"unknown metric option(s) for {spec.code}: {', '.join(sorted(unknown))}")

    preds_in = read_predictions(predictions)
    refs = _normalise_references(load_split(spec.code, split) if references is None
                                 else references)
    if not refs:
        raise ValueError(f"no references to score {spec.code} against (0 items); pass the "
                         "split's records or point at a dataset that holds them")
    golds = _check_references(spec, refs)
    split = scored_split(refs, split)  # the references' own split names the result, not the argument
    preds_in, _ = select_predictions(preds_in, spec.code, split)
    preds = _align(preds_in, refs)
    ids = [None if r.get("id") is None else str(r["id"]) for r in refs]

    settings: dict[str, Any] = {"compat": compat, "failed": failed}
    if spec.kind in ("multiclass", "binary", "pick"):
        columns, agg, parsed, gold, scores = _classification(spec, preds, refs, compat, failed,
                                                             golds)
    elif spec.kind == "ranking":
        columns, agg, parsed, gold, scores = _ranking(spec, preds, refs, compat, failed, golds)
    elif spec.kind == "extraction":
        columns, agg, parsed, gold, scores = _extraction(spec, preds, refs, compat, failed, split,
                                                             golds)
    else:
        columns, agg, parsed, gold, scores, extra = _generation(
            spec, preds, refs, compat, failed, metric_options, golds)
        settings.update(extra)

    def items() -> tuple[ItemResult, ...]:
        fail, corr = columns["failed"], columns["correct"]
        return tuple(
            ItemResult(ids[i], preds[i], parsed[i], gold[i],
                       None if corr[i] < 0 else bool(corr[i]) and not fail[i], bool(fail[i]),
                       float(scores[i]))
            for i in range(len(refs)))

    return ScoreResult(task=spec.code, split=split, metrics=agg(columns), columns=columns, aggregate=agg, items=items,
                       primary=spec.primary_metric, settings=settings)


def result_to_json(result: ScoreResult) -> str:
    """The result summary as a JSON string (sorted keys, 2-space indent)."""
    return json.dumps(result.to_dict(), indent=2, sort_keys=True)
