"""The paper's reported rows (Tables 3 and 4) as data, and its improvement row.

The numbers live in ``leaderboard/data/paper_tables.json`` with the table they
come from; nothing here is typed in twice.

Examples
--------
>>> t3 = paper_table("IND")
>>> t3.table, t3.columns[:3]
('Table 3', ('AVE', 'PRP', 'PM'))
>>> per_task, avg = improvement(t3)
>>> round(avg, 1)
10.7
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: Which test split each setting of the paper's tables is measured on.
SETTING_SPLIT = {"IND": "test", "OOD": "test_ood"}


@dataclass(frozen=True)
class PaperRow:
    model: str
    kind: str  # "baseline" or "eCeLLM"
    values: tuple[float, ...]


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's overall tables (primary metric per task)."""

    table: str
    caption: str
    setting: str
    split: str
    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: tuple[PaperRow, ...]
    improvement_printed: tuple[float, ...]
    improvement_avg_printed: float
    note: str = ""

    def row(self, model: str) -> PaperRow:
        for r in self.rows:
            if r.model == model:
                return r
        raise KeyError(f"{self.table} has no row {model!r}; rows: {[r.model for r in self.rows]}")


@lru_cache(maxsize=1)
def _raw() -> dict:
    text = resources.files(__package__).joinpath("data/paper_tables.json").read_text("utf-8")
    return json.loads(text)


def paper_source() -> str:
    """Bibliographic source of the reference rows."""
    return _raw()["source"]


@lru_cache(maxsize=4)
def paper_table(setting: str) -> PaperTable:
    """The paper's table for ``setting`` (``"IND"`` = Table 3, ``"OOD"`` = Table 4)."""
    setting = setting.upper()
    raw = _raw()
    for t in raw["tables"]:
        if t["setting"] == setting:
            return PaperTable(
                table=t["table"],
                caption=t["caption"],
                setting=t["setting"],
                split=t["split"],
                columns=tuple(t["columns"]),
                metrics=tuple(t["metrics"]),
                rows=tuple(PaperRow(r["model"], r["kind"], tuple(r["values"])) for r in t["rows"]),
                improvement_printed=tuple(t["improvement_printed"]),
                improvement_avg_printed=t["improvement_avg_printed"],
                note=raw.get("notes", {}).get(t["table"], ""),
            )
    raise KeyError(f"unknown setting {setting!r}; use one of {sorted(SETTING_SPLIT)}")


def improvement(
    table: PaperTable, *, ours: str = "eCeLLM", others: str = "baseline"
) -> tuple[tuple[float, ...], float]:
    """The paper's improvement row: best ``ours`` row over best ``others`` row, in %.

    Per column ``100 * (max ours - max others) / max others``; the average is
    the mean of the unrounded per-column values (the paper prints both to one
    decimal).

    Returns
    -------
    per_column : tuple of float
    average : float

    Examples
    --------
    >>> per, avg = improvement(paper_table("IND"))
    >>> [round(x, 1) for x in per][:5]
    [21.2, 3.9, 0.0, 13.1, 40.1]
    """
    per = []
    for j in range(len(table.columns)):
        best_ours = max(r.values[j] for r in table.rows if r.kind == ours)
        best_other = max(r.values[j] for r in table.rows if r.kind == others)
        per.append(100.0 * (best_ours - best_other) / best_other)
    return tuple(per), sum(per) / len(per)
