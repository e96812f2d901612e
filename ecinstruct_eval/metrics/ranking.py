"""Ranking metrics: HR@1 (SR) and NDCG with ESCI gains (QPR)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ecinstruct_eval.tasks import LETTERS

#: ESCI grade of each Shopping Queries label (paper, QPR; released scorer).
ESCI_GRADES: Mapping[str, float] = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}


def hit_rate_at_1(y_true: Sequence[str], y_pred: Sequence[str | None], *,
                  failed: str = "wrong") -> float:
    """Share of items whose predicted letter is the gold one (HR@1).

    ``None`` predictions are misses unless ``failed="exclude"`` drops them.

    >>> hit_rate_at_1(["A", "B"], ["A", None])
    0.5
    >>> hit_rate_at_1(["A", "B"], ["A", None], failed="exclude")
    1.0
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    pairs = [(t, p) for t, p in zip(y_true, y_pred) if not (failed == "exclude" and p is None)]
    return float(np.mean([t == p for t, p in pairs])) if pairs else 0.0


_GAINS = {k: 2.0**v - 1.0 for k, v in ESCI_GRADES.items()}
_DISCOUNT = [1.0 / math.log2(i + 2) for i in range(64)]


def _gain(grade: str | float) -> float:
    if isinstance(grade, str):
        return _GAINS[grade]
    return 2.0 ** float(grade) - 1.0


def _dcg(gains: Sequence[float]) -> float:
    return sum(g * (_DISCOUNT[i] if i < 64 else 1.0 / math.log2(i + 2))
               for i, g in enumerate(gains))


def query_ndcg(relevance: Sequence[str | float], ranking: Sequence[str] | None) -> float:
    """NDCG of one predicted ranking of option letters.

    Parameters
    ----------
    relevance : sequence of str or float
        ESCI grade of every option in option order (``["E", "I", "S"]``) or
        numeric grades.
    ranking : sequence of str or None
        Predicted option letters, best first; products missing from it get no
        gain; ``None`` (failed) scores 0.

    Gains are ``2**grade - 1`` (E = 1, S = 0.1, C = 0.01, I = 0), the
    discount ``log2(rank + 1)``, and the ideal DCG ranks the *gold* grades.

    >>> query_ndcg(["S", "E"], ["B", "A"])
    1.0
    >>> round(query_ndcg(["S", "E"], ["B"]), 3)
    0.957
    """
    if not ranking:
        return 0.0
    gains = [_gain(g) for g in relevance]
    ideal = _dcg(sorted(gains, reverse=True))
    if ideal <= 0:
        return 0.0
    n = len(gains)
    got = []
    for letter in ranking:
        k = ord(letter[:1] or "?") - 65
        got.append(gains[k] if 0 <= k < n and letter == LETTERS[k] else 0.0)
    return _dcg(got) / ideal


def ndcg(relevance: Sequence[Sequence[str | float]], rankings: Sequence[Sequence[str] | None], *,
         failed: str = "wrong") -> float:
    """Mean :func:`query_ndcg` over queries (``None`` rankings score 0 or are excluded).

    >>> ndcg([["E", "S"], ["E", "S"]], [["A", "B"], None])
    0.5
    """
    if len(relevance) != len(rankings):
        raise ValueError(f"{len(relevance)} relevance lists but {len(rankings)} rankings")
    scores = [query_ndcg(rel, rk) for rel, rk in zip(relevance, rankings)
              if not (failed == "exclude" and rk is None)]
    return float(np.mean(scores)) if scores else 0.0
