"""Paired bootstrap comparison of two results files, per task and test split.

Both files carry the primary metric on the same seeded item resamples
(:func:`ecinstruct_leaderboard.results.resample_indices`), so the differences of their
replicates form the paired bootstrap distribution of the difference.  A
difference is called significant when the two-sided ``p < alpha``; the
Holm-adjusted p over all compared sets is reported too, for readers who
compare many tasks at once.

Only sets scored on the same test set are compared: both results files must
carry the same ``test_set`` fingerprint for the task/split (files written
before test-set identity was recorded carry none, and are not compared).
:func:`test_set_mismatches` lists the sets whose fingerprints differ.

Examples
--------
>>> a = {"results": {"PM": {"test": _demo_entry(0.80, [0.78, 0.81, 0.83, 0.79])}}}
>>> b = {"results": {"PM": {"test": _demo_entry(0.79, [0.77, 0.80, 0.84, 0.78])}}}
>>> [c.verdict for c in compare_results(a, b, names=("A", "B"))]
['no significant difference']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ecinstruct_leaderboard.results import test_set_of

from ecinstruct_eval.tasks import TASKS, TEST_SPLITS

__all__ = ["Comparison", "compare_results", "format_comparisons", "paired_test", "test_set_mismatches"]


@dataclass(frozen=True)
class Comparison:
    task: str
    split: str
    metric: str
    a: float
    b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    significant: bool
    verdict: str
    note: str = ""


def _demo_entry(value, reps):
    return {"n": 4, "primary_metric": "f1", "metrics": {"f1": {"value": value}},
            "ids_sha256": "x", "test_set": {"n": 4, "sha256": "ab" * 32}, "bootstrap_primary": reps}


def _shared_sets(a: Mapping, b: Mapping):
    for task in TASKS:
        for split in TEST_SPLITS:
            if a.get("results", {}).get(task, {}).get(split) and b.get("results", {}).get(task, {}).get(split):
                yield task, split


def test_set_mismatches(a: Mapping, b: Mapping) -> list[tuple[str, str, str, str]]:
    """``(task, split, sha_a, sha_b)`` for each set both documents hold on different test sets.

    >>> a = {"results": {"PM": {"test": _demo_entry(0.8, [])}}}
    >>> b = {"results": {"PM": {"test": {**_demo_entry(0.8, []), "test_set": {"n": 4, "sha256": "cd" * 32}}}}}
    >>> [(t, s) for t, s, _, _ in test_set_mismatches(a, b)]
    [('PM', 'test')]
    """
    out = []
    for task, split in _shared_sets(a, b):
        ha, hb = test_set_of(a, task, split), test_set_of(b, task, split)
        if ha and hb and ha != hb:
            out.append((task, split, ha, hb))
    return out


test_set_mismatches.__test__ = False  # not a pytest test, despite the name


def paired_test(a_reps: Sequence[float], b_reps: Sequence[float], *, confidence: float = 0.95):
    """Paired bootstrap of ``a - b`` from replicates on shared resamples.

    Returns ``(ci_low, ci_high, p_value)``; the p-value is two-sided,
    ``2 * min(P(d <= 0), P(d >= 0))`` with the usual +1 correction.

    >>> lo, hi, p = paired_test([0.6, 0.62, 0.64], [0.5, 0.52, 0.51])
    >>> lo > 0 and p < 1
    True
    """
    d = np.asarray(a_reps, dtype=float) - np.asarray(b_reps, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan"), float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    lo, hi = float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha))
    if np.all(d == 0):
        return lo, hi, 1.0
    b = d.size
    le = (np.sum(d <= 0) + 1) / (b + 1)
    ge = (np.sum(d >= 0) + 1) / (b + 1)
    return lo, hi, float(min(1.0, 2 * min(le, ge)))


def _holm(pvals: list[float]) -> list[float]:
    order = sorted(range(len(pvals)), key=lambda i: pvals[i])
    m, out, running = len(pvals), [1.0] * len(pvals), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvals[i]))
        out[i] = running
    return out


def _same_test_set(a: Mapping, b: Mapping, task: str, split: str, names: tuple[str, str]) -> str:
    ha, hb = test_set_of(a, task, split), test_set_of(b, task, split)
    if ha and hb:
        return "" if ha == hb else f"different test sets (fingerprints {ha[:12]} vs {hb[:12]})"
    unknown = " and ".join(n for n, h in zip(names, (ha, hb)) if not h)
    return (f"test set unknown in {unknown} (results file written before test-set identity "
            "was recorded; rescore it)")


def _pairable(ea: Mapping, eb: Mapping, boot_a: Mapping, boot_b: Mapping) -> str:
    if ea.get("ids_sha256") != eb.get("ids_sha256"):
        return "different test items (ids differ)"
    if (boot_a.get("seed"), boot_a.get("n_resamples")) != (boot_b.get("seed"), boot_b.get("n_resamples")):
        return "bootstrap seeds or sizes differ; rescore both with the same --seed/--resamples"
    if not ea.get("bootstrap_primary") or not eb.get("bootstrap_primary"):
        return "no bootstrap replicates in a results file"
    if ea.get("primary_metric") != eb.get("primary_metric"):
        return "different primary metrics"
    return ""


def compare_results(
    a: Mapping, b: Mapping, *, names: tuple[str, str] = ("A", "B"), alpha: float = 0.05
) -> list[Comparison]:
    """Compare two results documents on every task/split both contain.

    A set is compared only when both documents were scored on the same test
    set (equal ``test_set`` fingerprints); other sets come back with the
    verdict ``"not comparable"`` and the reason in ``note``.
    """
    rows, pvals = [], []
    ba, bb = a.get("bootstrap", {}), b.get("bootstrap", {})
    ca, cb = (d.get("evaluator", {}).get("compat", "paper") for d in (a, b))
    mode = "" if ca == cb else f"scored in different modes (compat {ca!r} vs {cb!r})"
    for task in TASKS:
        for split in TEST_SPLITS:
            ea = a.get("results", {}).get(task, {}).get(split)
            eb = b.get("results", {}).get(task, {}).get(split)
            if not ea or not eb:
                continue
            metric = ea["primary_metric"]
            va = ea["metrics"][metric]["value"]
            vb = eb["metrics"].get(metric, {}).get("value")
            why = mode or _same_test_set(a, b, task, split, names) or _pairable(ea, eb, ba, bb)
            if why or va is None or vb is None:
                rows.append((task, split, metric, va, vb, why or "missing value"))
                pvals.append(None)
                continue
            lo, hi, p = paired_test(ea["bootstrap_primary"], eb["bootstrap_primary"],
                                    confidence=1 - alpha)
            rows.append((task, split, metric, va, vb, (lo, hi, p)))
            pvals.append(p)
    valid = [p for p in pvals if p is not None and not np.isnan(p)]
    holm_iter = iter(_holm(valid))
    out = []
    for (task, split, metric, va, vb, info), p in zip(rows, pvals):
        if p is None or np.isnan(p):
            nan = float("nan")
            out.append(Comparison(task, split, metric, va if va is not None else nan,
                                  vb if vb is not None else nan, nan, nan, nan, nan, nan,
                                  False, "not comparable", info if isinstance(info, str) else ""))
            continue
        lo, hi, _ = info
        ph = next(holm_iter)
        sig = p < alpha
        if not sig:
            verdict = "no significant difference"
        else:
            verdict = f"{names[0]} better" if va > vb else f"{names[1]} better"
        out.append(Comparison(task, split, metric, va, vb, va - vb, lo, hi, p, ph, sig, verdict))
    return out


def format_comparisons(
    comps: Sequence[Comparison], names: tuple[str, str] = ("A", "B"), *, alpha: float = 0.05,
    n_resamples: int | None = None,
) -> str:
    """A plain-text table of comparisons, then a summary.

    With ``n_resamples``, the summary says when the Holm-adjusted p cannot
    reach ``alpha`` at all: a bootstrap p is at least ``2 / (B + 1)``, and
    Holm multiplies the smallest by the number of compared sets.

    Examples
    --------
    >>> c = Comparison("PM", "test", "f1", 0.8, 0.7, 0.1, 0.05, 0.15, 0.002, 0.064, True, "A better")
    >>> print(format_comparisons([c] * 32, alpha=0.05, n_resamples=1000).splitlines()[-1])
    Holm-adjusted p cannot fall below 0.064 with 1000 resamples over 32 sets: rescore both with --resamples 10000 or more to use it.
    """
    head = f"{'task':4s} {'split':16s} {'metric':13s} {names[0][:12]:>12s} {names[1][:12]:>12s} " \
           f"{'diff':>7s} {'95% CI of diff':>18s} {'p':>6s} {'p_holm':>6s}  verdict"
    lines = [head, "-" * len(head)]
    for c in comps:
        if c.verdict == "not comparable":
            lines.append(f"{c.task:4s} {c.split:16s} {c.metric:13s} {c.a:12.3f} {c.b:12.3f} "
                         f"{'':>7s} {'':>18s} {'':>6s} {'':>6s}  not comparable: {c.note}")
            continue
        ci = f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}]"
        lines.append(f"{c.task:4s} {c.split:16s} {c.metric:13s} {c.a:12.3f} {c.b:12.3f} "
                     f"{c.diff:+7.3f} {ci:>18s} {c.p_value:6.3f} {c.p_holm:6.3f}  {c.verdict}")
    compared = [c for c in comps if c.verdict != "not comparable"]
    if not compared:
        reasons = sorted({c.note for c in comps if c.note})
        lines.append("\nNo set could be compared" + (f": {'; '.join(reasons)}." if reasons else "."))
        return "\n".join(lines)
    sig = [c for c in compared if c.significant]
    if sig:
        where = ", ".join(f"{c.task}/{c.split} ({c.verdict})" for c in sig)
        lines.append(f"\nReally differ (paired bootstrap, p < {alpha:g}): {where}.")
    else:
        lines.append(f"\nNo task shows a significant difference (paired bootstrap, p < {alpha:g}).")
    lines.append(f"Not significant: {len(compared) - len(sig)} of {len(compared)} compared sets"
                 + (f" ({len(comps) - len(compared)} not comparable)." if len(compared) < len(comps) else "."))
    if n_resamples:
        floor = min(1.0, len(compared) * 2 / (n_resamples + 1))
        if floor >= alpha:
            needed = 10 ** math.ceil(math.log10(2 * len(compared) / alpha))
            lines.append(f"Holm-adjusted p cannot fall below {floor:.3f} with {n_resamples} resamples over "
                         f"{len(compared)} sets: rescore both with --resamples {needed} or more to use it.")
    return "\n".join(lines)
