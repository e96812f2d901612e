"""Metric families of the ten tasks (paper, Table A1 and Appendix A).

Each family module exposes sklearn-like functions (truth first, keyword-only
options) that take per-item columns and return a ``dict`` of metric name ->
float.  :func:`ecinstruct_eval.score` builds the columns once (parsing,
neural models) and calls these functions, so that
:meth:`ecinstruct_eval.ScoreResult.recompute` can re-aggregate any subset of
items without parsing again.

* :mod:`~ecinstruct_eval.metrics.classification`: PRP, SA, MPC (macro over
  the label set, classes never predicted included) and PM, PSI, AP (positive = yes).
* :mod:`~ecinstruct_eval.metrics.ranking`: SR (HR@1) and QPR (NDCG with ESCI gains).
* :mod:`~ecinstruct_eval.metrics.extraction`: AVE (precision*, recall*, F1* of eq. 1).
* :mod:`~ecinstruct_eval.metrics.generation`: AG (BERTScore, BLEURT; optional extras).
* :mod:`~ecinstruct_eval.metrics.released`: the authors' released scorer, for
  ``compat="released"``.
"""

from ecinstruct_eval.metrics.classification import binary_metrics, multiclass_metrics
from ecinstruct_eval.metrics.extraction import ave_counts, ave_metrics
from ecinstruct_eval.metrics.ranking import ESCI_GRADES, hit_rate_at_1, ndcg, query_ndcg

__all__ = [
    "ESCI_GRADES",
    "ave_counts",
    "ave_metrics",
    "binary_metrics",
    "hit_rate_at_1",
    "multiclass_metrics",
    "ndcg",
    "query_ndcg",
]
