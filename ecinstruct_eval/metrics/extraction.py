"""AVE metrics: precision*, recall* and F1* of the paper's equation 1.

An *entry* is one (sample, target attribute).  A negative entry has no gold
value; a positive one has one or more (the same value may come from several
sources).  A prediction for an entry is classified as

* negative entry: ``NV`` (no value predicted) or ``IV`` (a value predicted);
* positive entry: ``CV`` (every predicted value contains a gold value),
  ``WV`` (some predicted value does not) or ``NL`` (no value predicted);

and ``precision* = (NV + CV) / (NV + IV + CV + WV)``, ``recall* = (NV + CV) / N``
with ``N`` the number of entries, ``F1*`` their harmonic mean.  A failed
output counts as a wrong prediction for each of its entries (``IV`` or
``WV``).  ``source_accuracy`` is the share of ``CV`` entries whose predicted
source names a gold source of that value.

*Contains* is whole-token containment.  The paper counts a value as correct
"when the ground truth is fully contained in the prediction (e.g. 'bright
yellow' is considered as a correct value with the ground truth of 'yellow')".
Read as a raw substring test this would also accept gold ``"M"`` in
``"small"``, ``"2"`` in ``"12"`` or ``"red"`` in ``"shredded"``, which the
example does not intend.  So both values are lower-cased and split into
tokens (runs of letters and digits: whitespace and punctuation are
boundaries), and the gold's tokens must appear contiguously, in order, among
the prediction's: ``"bright yellow"`` contains ``"yellow"``, ``"5-inch"``
contains ``"5"``, ``"12"`` does not contain ``"2"``.  (``compat="released"``
uses the released scorer's own matching, see :mod:`.released`.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

COUNT_FIELDS = ("nv", "iv", "cv", "wv", "nl", "n", "source_correct", "source_total")


def _norm(text) -> str:
    return " ".join(str(text).casefold().split())


_TOKEN = re.compile(r"[^\W_]+")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.casefold()))


def value_contains(prediction: str, gold: str) -> bool:
    """Whether ``gold``'s tokens occur contiguously in ``prediction``'s (see module docs).

    >>> value_contains("bright yellow", "yellow"), value_contains("small", "M")
    (True, False)
    >>> value_contains("12", "2"), value_contains("5-inch", "5 inch")
    (False, True)
    """
    g, p = _tokens(gold), _tokens(prediction)
    if not g:  # a gold made of punctuation only: compare as text
        return _norm(gold) == _norm(prediction)
    k = len(g)
    return any(p[i : i + k] == g for i in range(len(p) - k + 1))


_NONE = frozenset({"", "none", "null", "n/a", "nan"})


def _is_none(value) -> bool:
    return value is None or _norm(value) in _NONE


def gold_triples(record_or_output) -> list[tuple[str, str | None, str | None]]:
    """Gold ``(attribute, value, source)`` triples of an AVE record or gold output string.

    >>> gold_triples('[{"attribute": "Material", "value": "nylon", "source": "title"}]')
    [('material', 'nylon', 'title')]
    """
    if isinstance(record_or_output, Mapping):
        items = record_or_output.get("attributes") or record_or_output.get("output", "[]")
    else:
        items = record_or_output
    if isinstance(items, str):
        items = json.loads(items)
    if isinstance(items, Mapping):
        items = [items]
    out = []
    for t in items:
        if isinstance(t, Mapping):
            a, v, s = t.get("attribute"), t.get("value"), t.get("source")
        else:
            a, v, s = (list(t) + [None, None])[:3]
        out.append((_norm(a), None if _is_none(v) else str(v), None if _is_none(s) else str(s)))
    return out


def _group(triples: Iterable[Sequence]) -> dict[str, list[tuple[str, str | None]]]:
    groups: dict[str, list[tuple[str, str | None]]] = {}
    for a, v, s in triples:
        values = groups.setdefault(_norm(a), [])
        if v is not None:
            v = _norm(v)
            if v not in _NONE:
                s = None if s is None else _norm(s)
                values.append((v, None if s in _NONE else s))
    return groups


def _source_ok(pred_sources: set[str], gold_sources: set[str]) -> bool:
    return any(p and g and (p in g or g in p) for p in pred_sources for g in gold_sources)


def ave_counts(gold: Sequence[Sequence], pred: Sequence[Sequence] | None) -> dict[str, int]:
    """Entry counts (NV, IV, CV, WV, NL, N, source hits) for one sample.

    Parameters
    ----------
    gold : sequence of (attribute, value, source)
        Gold triples; ``value`` ``None`` (or ``"None"``) marks a negative entry.
    pred : sequence of (attribute, value, source) or None
        Parsed prediction (:func:`ecinstruct_eval.parse`); ``None`` = failed.

    Examples
    --------
    >>> ave_counts([("material", "nylon", "product feature")],
    ...            [("material", "durable nylon", "product feature")])["cv"]
    1
    >>> ave_counts([("style", None, None)], [("style", "airy", "product title")])["iv"]
    1
    """
    counts = dict.fromkeys(COUNT_FIELDS, 0)
    gold_by_attr = _group(gold)
    pred_by_attr = _group(pred) if pred is not None else {}
    for attr, gold_vals in gold_by_attr.items():
        counts["n"] += 1
        predicted = pred_by_attr.get(attr, [])
        if not gold_vals:
            if pred is None or predicted:
                counts["iv"] += 1
            else:
                counts["nv"] += 1
            continue
        if pred is None:
            counts["wv"] += 1
        elif not predicted:
            counts["nl"] += 1
        elif all(any(value_contains(pv, gv) for gv, _ in gold_vals) for pv, _ in predicted):
            counts["cv"] += 1
            counts["source_total"] += 1
            gold_sources = {s for _, s in gold_vals if s}
            pred_sources = {s for _, s in predicted if s}
            counts["source_correct"] += int(_source_ok(pred_sources, gold_sources))
        else:
            counts["wv"] += 1
    return counts


def ave_from_counts(nv, iv, cv, wv, nl, n, source_correct, source_total) -> dict[str, float]:
    """precision*, recall*, F1* and source accuracy from summed entry counts (eq. 1)."""
    predicted = nv + iv + cv + wv
    p = (nv + cv) / predicted if predicted else 0.0
    r = (nv + cv) / n if n else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision_star": float(p),
        "recall_star": float(r),
        "f1_star": float(f),
        "source_accuracy": float(source_correct / source_total) if source_total else 0.0,
    }


def ave_metrics(gold: Sequence[Sequence[Sequence]], pred: Sequence[Sequence[Sequence] | None], *,
                failed: str = "wrong") -> dict[str, float]:
    """Equation 1 over all samples: one list of gold triples and one parsed prediction per sample.

    >>> m = ave_metrics([[("color", "red", "title")], [("size", None, None)]],
    ...                 [[("color", "dark red", "title")], None])
    >>> m["precision_star"], m["recall_star"]
    (0.5, 0.5)
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold samples but {len(pred)} predictions")
    totals = dict.fromkeys(COUNT_FIELDS, 0)
    for g, p in zip(gold, pred):
        if failed == "exclude" and p is None:
            continue
        for k, v in ave_counts(g, p).items():
            totals[k] += v
    return ave_from_counts(**totals)
