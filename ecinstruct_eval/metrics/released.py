"""The authors' released scorer (ninglab/eCeLLM ``evaluate.py``), for ``compat="released"``.

Reproduces its numbers on the same inputs, without its crashes (an empty
output, a single-class confusion matrix, a non-dict AVE prediction):

* option tasks (PRP, SA, MPC): first character of the stripped output, one of
  ``A``-``E``; macro metrics over the labels that occur (sklearn's default);
* SR: the whole stripped output must be one letter ``A``-``T``;
* yes/no tasks: the lower-cased, stripped output must be ``yes`` or ``no``;
  specificity and NPR carry its ``1e-8`` in the denominator;
* for these three families failed outputs are *dropped* from the denominator;
* QPR: the output split on commas, each piece's first character looked up
  (so ``"A, C, B"`` keeps only ``A``: the other pieces start with a space);
  DCG normalised by the DCG of the predicted grades re-sorted (plus ``1e-6``),
  averaged over all items;
* AVE: predictions must be a JSON list; exact (attribute, value, source)
  matches, substring matches in OOD splits, every gold triple against every
  predicted one (no one-to-one matching); ``precision = hits / (predicted +
  1e-6)``, ``recall = hits / gold``, ``f1 = 2pr / (p + r + 1e-6)``.
"""

from __future__ import annotations

import json

import numpy as np

from ecinstruct_eval.metrics.ranking import ESCI_GRADES
from ecinstruct_eval.tasks import LETTERS

OPTION_LETTERS = "ABCDE"
SR_LETTERS = frozenset(LETTERS[:20])


def parse_option(output: str | None) -> str | None:
    """First character of the stripped output if it is ``A``-``E``."""
    text = (output or "").strip()
    return text[0] if text and text[0] in OPTION_LETTERS else None


def parse_sr(output: str | None) -> str | None:
    """The stripped output if it is exactly one letter ``A``-``T``."""
    text = (output or "").strip()
    return text if text in SR_LETTERS else None


def parse_yes_no(output: str | None) -> str | None:
    """The lower-cased stripped output if it is ``yes`` or ``no``."""
    text = (output or "").lower().strip()
    return text if text in ("yes", "no") else None


def multiclass_from_codes(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro P/R/F1 over the labels present, failed (``-1``) dropped."""
    from ecinstruct_eval.metrics.classification import _confusion, _per_class

    keep = y_pred >= 0
    t, p = y_true[keep], y_pred[keep]
    if len(t) == 0:
        return dict.fromkeys(("accuracy", "macro_precision", "macro_recall", "macro_f1"), 0.0)
    n_labels = int(max(t.max(), p.max())) + 1
    precision, recall, f1 = _per_class(_confusion(t, p, n_labels))
    # sklearn's default label set: the labels that occur in y_true or y_pred.
    present = np.zeros(n_labels, dtype=bool)
    present[t] = True
    present[p] = True
    return {"accuracy": float(np.mean(t == p)),
            "macro_precision": float(precision[present].mean()),
            "macro_recall": float(recall[present].mean()),
            "macro_f1": float(f1[present].mean())}


def binary_from_codes(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Yes/no metrics over valid outputs only (1 = yes, 0 = no, -1 = failed, dropped)."""
    keep = y_pred >= 0
    t, p = y_true[keep], y_pred[keep]
    if len(t) == 0:
        return dict.fromkeys(("accuracy", "precision", "recall", "f1", "specificity", "npr"), 0.0)
    tp = int(np.sum((t == 1) & (p == 1)))
    tn = int(np.sum((t == 0) & (p == 0)))
    fp = int(np.sum((t == 0) & (p == 1)))
    fn = int(np.sum((t == 1) & (p == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"accuracy": (tp + tn) / len(t), "precision": precision, "recall": recall, "f1": f1,
            "specificity": tn / (tn + fp + 1e-8), "npr": tn / (tn + fn + 1e-8)}


def _dcg(scores: list[float]) -> float:
    return float(sum((2**s - 1) / np.log2(i + 2) for i, s in enumerate(scores)))


def _qpr_scores(output: str | None, relevance) -> tuple[list[float], int]:
    """The grades of the pieces the released scorer reads, and the number it skipped."""
    grades = {LETTERS[i]: g for i, g in enumerate(relevance)}
    scores, skipped = [], 0
    for piece in (output or "").strip().split(","):
        if piece and piece[0] in grades and grades[piece[0]] in ESCI_GRADES:
            scores.append(ESCI_GRADES[grades[piece[0]]])
        else:
            skipped += 1
    return scores, skipped


def qpr_item(output: str | None, relevance) -> tuple[float, int]:
    """Released NDCG of one item and the number of pieces it skipped."""
    scores, skipped = _qpr_scores(output, relevance)
    ideal = sorted(scores, reverse=True)
    return _dcg(scores) / (_dcg(ideal) + 1e-6), skipped


def qpr_perfect(output: str | None, relevance) -> bool:
    """Whether the released scorer sees a perfect ranking: every piece read, some gain, and
    the grades already in best-first order (its NDCG is then just below 1 because of its
    ``1e-6``, further below for lists of small gains: 0.99999 for an S product alone).

    >>> qpr_perfect("B,A", ["I", "S"]), qpr_perfect("A,B", ["I", "S"]), qpr_perfect("A", ["I", "S"])
    (True, False, False)
    """
    scores, skipped = _qpr_scores(output, relevance)
    return (not skipped and any(scores)
            and all(a >= b for a, b in zip(scores, scores[1:])))


def _load_list(text):
    """``json.loads`` as the released scorer uses it: ``None`` if unreadable, ``[]`` if not a list."""
    if isinstance(text, list):
        return text
    if not isinstance(text, str):
        return None
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, list) else []


def ave_item(output: str | None, gold_output, *, ood: bool) -> tuple[int, int, int, bool]:
    """``(hits, gold triples, predicted triples, prediction unreadable)`` for one item.

    As in the released scorer, a predicted triple hits once for every gold
    triple it matches and a repeated one hits again, so ``hits`` can exceed
    the gold count and recall* exceed 1 (under the paper's definition,
    ``compat="paper"``, the scores stay within [0, 1]).

    >>> t = {"attribute": "color", "value": "red", "source": "product title"}
    >>> ave_item(json.dumps([t, t]), json.dumps([t]), ood=False)
    (2, 1, 2, False)
    """
    preds = _load_list(output)
    unreadable = preds is None
    preds = [p for p in (preds or []) if isinstance(p, dict)]
    labels = _load_list(gold_output)
    if not labels:
        return 0, 0, sum("attribute" in p for p in preds), unreadable
    labels = [g for g in labels if isinstance(g, dict)]
    hits = 0
    for g in labels:
        for p in preds:
            if not ("attribute" in p and "value" in p and "source" in p):
                continue
            if (p["attribute"] == g.get("attribute") and p["value"] == g.get("value")
                    and p["source"] == g.get("source")):
                hits += 1
            elif (ood and p["attribute"] == g.get("attribute") and p["value"] is not None
                  and p["source"] is not None):
                pv, gv = str(p["value"]), str(g.get("value"))
                ps, gs = str(p["source"]), str(g.get("source"))
                if (pv in gv or gv in pv) and (ps in gs or gs in ps):
                    hits += 1
    return hits, len(labels), sum("attribute" in p for p in preds), unreadable


def ave_from_counts(hits: int, n_gold: int, n_pred: int) -> dict[str, float]:
    recall = hits / n_gold if n_gold else 0.0
    precision = hits / (n_pred + 1e-6)
    f1 = 2 * recall * precision / (recall + precision + 1e-6)
    return {"precision_star": float(precision), "recall_star": float(recall), "f1_star": float(f1)}
