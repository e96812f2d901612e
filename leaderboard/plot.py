"""Bar chart of the per-task primary metric of chosen models (matplotlib, Agg).

Examples
--------
>>> fig = plot_results([], setting="IND", paper_models=["eCeLLM-L", "GPT-4 Turbo"])  # doctest: +SKIP
>>> fig.savefig("board.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence

from ecinstruct_leaderboard.reference import SETTING_SPLIT, paper_table
from ecinstruct_leaderboard.results import compat_of, display_names
from ecinstruct_leaderboard.table import _finite


def paper_rows_left_out(results: Sequence[Mapping], *, setting: str = "IND") -> str:
    """Why the paper's rows may not be drawn beside ``results`` ("" when they may).

    The paper measured on the official test sets; its rows go only beside
    results on them (and alone when there are none).
    """
    from ecinstruct_leaderboard.table import group_by_test_set

    groups = group_by_test_set(results, setting=setting)
    if not groups or (len(groups) == 1 and groups[0].official):
        return ""
    return ("the paper's rows are left out: not every result is on the official test sets "
            "the paper measured on (scores on different test sets are not comparable)")


def test_sets_note(results: Sequence[Mapping], *, setting: str = "IND") -> str:
    """A warning when ``results`` span several test sets ("" when they do not)."""
    from ecinstruct_leaderboard.table import group_by_test_set

    n = len(group_by_test_set(results, setting=setting))
    return "" if n < 2 else (f"the results are on {n} different test sets: scores on different "
                             "test sets are not comparable")


paper_rows_left_out.__test__ = False
test_sets_note.__test__ = False

__all__ = ["plot_results", "save_plot"]


def _plain(label: str) -> str:
    """A legend label drawn as the text it is: ``$`` escaped (no mathtext), control characters
    as spaces, no leading ``_`` (which matplotlib would hide).

    >>> print(_plain("_m $x$\\n!"))
    m \\$x\\$ !
    """
    text = "".join(c if c.isprintable() else " " for c in str(label)).replace("$", r"\$")
    return text.lstrip("_") or "?"


def plot_results(
    results: Sequence[Mapping],
    *,
    setting: str = "IND",
    paper_models: Sequence[str] = (),
    sources: Sequence[str | os.PathLike] | None = None,
    title: str | None = None,
    warn: Callable[[str], None] | None = None,
):
    """Grouped bars: one group per task, one bar per model; CIs as error bars.

    Parameters
    ----------
    results : sequence of results documents
    setting : {"IND", "OOD"}
    paper_models : names of the paper's rows to draw beside the submissions
        (e.g. ``["eCeLLM-L", "GPT-4 Turbo"]``); drawn only when every result
        is on the official test sets (or there are no results).
    warn : callable, optional
        Told (one line each) when the paper's rows are left out or the
        results span several test sets; default :func:`warnings.warn`.
    sources : the results files ``results`` were read from; their stems tell
        apart submissions with the same model name and scoring mode.

    Legend entries read as the table's rows: a paper row as ``NAME (Table 3)``,
    a submission as ``NAME (paper)`` or ``NAME (released)`` (its scoring mode),
    with ``[file stem]`` added where two would otherwise be the same.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    setting = setting.upper()
    ref = paper_table(setting)
    split = SETTING_SPLIT[setting]
    say = warn or (lambda msg: warnings.warn(msg, stacklevel=3))
    if note := test_sets_note(results, setting=setting):
        say(note)
    for name in paper_models:
        ref.row(name)  # an unknown name is an error even where the rows are left out
    if paper_models and (why := paper_rows_left_out(results, setting=setting)):
        say(why)
        paper_models = ()
    series = []  # (label, values, (lo_err, hi_err) or None)
    for name in paper_models:
        row = ref.row(name)
        series.append((f"{name} ({ref.table})", list(row.values), None))
    for doc, name in zip(results, display_names(results, sources)):
        vals, lo, hi = [], [], []
        for task in ref.columns:
            e = doc.get("results", {}).get(task, {}).get(split)
            m = e["metrics"].get(e["primary_metric"], {}) if e else {}
            v, cl, ch = (_finite(m.get(k)) for k in ("value", "ci_low", "ci_high"))
            vals.append(float("nan") if v is None else v)
            lo.append(0.0 if v is None or cl is None else max(0.0, v - cl))
            hi.append(0.0 if v is None or ch is None else max(0.0, ch - v))
        series.append((_plain(f"{name} ({compat_of(doc)})"), vals, (lo, hi)))

    n_cols = len(ref.columns)
    fig = Figure(figsize=(max(6.0, 1.1 * n_cols + 2), 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(series))
    for k, (label, vals, err) in enumerate(series):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(n_cols)]
        ax.bar(xs, vals, width=width, label=label,
               yerr=None if err is None else [err[0], err[1]], capsize=2 if err else 0)
    ax.set_xticks(range(n_cols))
    ax.set_xticklabels([f"{c}\n{m}" for c, m in zip(ref.columns, ref.metrics)], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("primary metric")
    ax.set_title(title or f"ECInstruct {setting} ({split}), primary metric per task")
    if series:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def save_plot(fig, path: str | os.PathLike) -> None:
    """Save as PNG without the software tag, so the bytes depend only on the figure."""
    fig.savefig(path, format="png", metadata={"Software": None})
