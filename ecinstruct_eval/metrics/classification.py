"""Classification metrics: multi-class (PRP, SA, MPC) and yes/no (PM, PSI, AP).

Macro averages are over every class of the task's label set that *occurs*
(has a gold item or a prediction), with
:func:`sklearn.metrics.precision_recall_fscore_support`'s per-class
definitions and ``zero_division=0``: a class the model never predicts still
counts (precision 0), and a prediction outside the label set (or a failed one)
is no class at all, only a miss of its item's gold class.  A class with
neither gold items nor predictions is 0/0 in every metric and is left out of
the macro average.  So the result equals sklearn with ``labels`` = the
classes that occur; it equals sklearn with ``labels`` = the full label set
whenever every class occurs, as in any full ECInstruct test set, but can be
higher on a tiny sample or a bootstrap resample that misses a class (sklearn
would add a 0 for it).  The metrics come from one confusion matrix, so that
bootstrap re-aggregation stays cheap.  A failed output (``None``) is wrong by
default: for a multi-class task it matches no class (a false negative of its
true class); for a yes/no task it is the opposite of the gold label, in every
metric.  ``failed="exclude"`` drops failed items instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FAILED_MODES = ("wrong", "exclude")


def _check_failed(failed: str) -> None:
    if failed not in FAILED_MODES:
        raise ValueError(f"failed must be one of {FAILED_MODES}, got {failed!r}")


def encode(values: Sequence, labels: Sequence[str]) -> np.ndarray:
    """Integer codes of ``values`` in ``labels``; ``-1`` for ``None`` or an unknown value."""
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> np.ndarray:
    """``(n_labels, n_labels + 1)`` counts; column 0 holds failed predictions (code -1)."""
    flat = y_true * (n_labels + 1) + (y_pred + 1)
    return np.bincount(flat, minlength=n_labels * (n_labels + 1)).reshape(n_labels, n_labels + 1)


def _per_class(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 with ``zero_division=0`` (sklearn's definitions)."""
    tp = np.diagonal(cm[:, 1:]).astype(float)
    n_pred = cm[:, 1:].sum(axis=0)
    n_true = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 0.0)
        recall = np.where(n_true > 0, tp / n_true, 0.0)
        denom = n_pred + n_true
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return precision, recall, f1


# The aggregations below work on integer codes through one ``np.bincount``
# confusion matrix, so that re-aggregating a bootstrap resample costs
# microseconds (``sklearn.metrics.precision_recall_fscore_support`` costs
# milliseconds per call).  They equal sklearn's results with ``labels`` set to
# the classes that occur and ``zero_division=0`` (see the module docstring);
# the tests check that.


def multiclass_from_codes(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int, *,
                          exclude: np.ndarray | None = None) -> dict[str, float]:
    """Accuracy and macro P/R/F1 from integer codes (``-1`` in ``y_pred`` = failed, wrong).

    ``exclude`` is a boolean mask of items to drop (failed items under
    ``failed="exclude"``).
    """
    if exclude is not None and exclude.any():
        keep = ~exclude
        y_true, y_pred = y_true[keep], y_pred[keep]
    if len(y_true) == 0:
        return dict.fromkeys(("accuracy", "macro_precision", "macro_recall", "macro_f1"), 0.0)
    cm = _confusion(y_true, y_pred, n_labels)
    precision, recall, f1 = _per_class(cm)
    # Every class with a gold item or a prediction counts (a never-predicted
    # class scores precision 0); a class with neither is 0/0 in every metric
    # and is left out, so perfect answers score 1 on any subset of a test set.
    seen = (cm.sum(axis=1) > 0) | (cm[:, 1:].sum(axis=0) > 0)
    return {
        "accuracy": float(np.trace(cm[:, 1:]) / len(y_true)),
        "macro_precision": float(precision[seen].mean()),
        "macro_recall": float(recall[seen].mean()),
        "macro_f1": float(f1[seen].mean()),
    }


def binary_from_codes(y_true: np.ndarray, y_pred: np.ndarray, *,
                      exclude: np.ndarray | None = None) -> dict[str, float]:
    """Yes/no metrics from codes (1 = positive/yes, 0 = no, -1 = failed).

    Failed predictions become the opposite of the gold label unless excluded.
    """
    if exclude is not None and exclude.any():
        keep = ~exclude
        y_true, y_pred = y_true[keep], y_pred[keep]
    y_pred = np.where(y_pred < 0, 1 - y_true, y_pred)
    if len(y_true) == 0:
        return dict.fromkeys(("accuracy", "precision", "recall", "f1", "specificity", "npr"), 0.0)
    # Per-class scores for [no, yes]: the "no" class's precision is the
    # negative predictive rate and its recall the specificity.
    cm = _confusion(y_true, y_pred, 2)
    precision, recall, f1 = _per_class(cm)
    return {
        "accuracy": float(np.trace(cm[:, 1:]) / len(y_true)),
        "precision": float(precision[1]),
        "recall": float(recall[1]),
        "f1": float(f1[1]),
        "specificity": float(recall[0]),
        "npr": float(precision[0]),
    }


def multiclass_metrics(y_true: Sequence[str], y_pred: Sequence[str | None], *,
                       labels: Sequence[str], failed: str = "wrong") -> dict[str, float]:
    """Accuracy, macro precision, macro recall and macro F1 over ``labels``.

    Every label with a gold item or a prediction counts in the macro average,
    including labels the model never predicts; a label with neither is left
    out (it matters only on samples that miss a class).  Failed outputs
    (``None`` or a value outside ``labels``) are wrong.

    Parameters
    ----------
    y_true : sequence of str
        Gold labels (option letters).
    y_pred : sequence of str or None
        Parsed predictions; ``None`` marks a failed output.
    labels : sequence of str
        The task's full label set (``TASKS["SA"].labels``).
    failed : {"wrong", "exclude"}
        Count failed outputs as wrong (the paper) or drop them.

    Examples
    --------
    >>> m = multiclass_metrics(["A", "B", "C"], ["A", "B", None], labels="ABC")
    >>> round(m["accuracy"], 3), round(m["macro_recall"], 3)
    (0.667, 0.667)
    >>> multiclass_metrics(["A", "B", "C"], ["A", "B", None], labels="ABC",
    ...                    failed="exclude")["accuracy"]
    1.0
    """
    _check_failed(failed)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    labels = list(labels)
    t, p = encode(y_true, labels), encode(y_pred, labels)
    if (t < 0).any():
        bad = sorted({str(v) for v, c in zip(y_true, t) if c < 0})
        raise ValueError(f"gold labels {bad} are not in the label set {labels}")
    fail = np.array([v is None or v not in labels for v in y_pred], dtype=bool)
    return multiclass_from_codes(t, p, len(labels), exclude=fail if failed == "exclude" else None)


def binary_metrics(y_true: Sequence[str], y_pred: Sequence[str | None], *,
                   positive: str = "yes", negative: str = "no",
                   failed: str = "wrong") -> dict[str, float]:
    """Accuracy, precision, recall, F1, specificity and NPR with ``positive`` as positive.

    A failed prediction (``None``) is the opposite of the gold label in every
    metric unless ``failed="exclude"``.

    Examples
    --------
    >>> m = binary_metrics(["yes", "no", "no"], ["yes", None, "no"])
    >>> m["accuracy"], m["precision"], m["specificity"]
    (0.6666666666666666, 0.5, 0.5)
    """
    _check_failed(failed)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    labels = [negative, positive]  # codes: no = 0, yes = 1
    t, p = encode(y_true, labels), encode(y_pred, labels)
    if (t < 0).any():
        bad = sorted({str(v) for v, c in zip(y_true, t) if c < 0})
        raise ValueError(f"gold labels {bad} are not {positive!r}/{negative!r}")
    return binary_from_codes(t, p, exclude=(p < 0) if failed == "exclude" else None)
