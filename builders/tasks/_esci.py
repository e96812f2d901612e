"""What MPC, PSI and QPR share: reading the Shopping Queries files, the
validation split, title cleaning and deterministic sampling.

The published data is split into ``train`` and ``test`` by query; the paper
also has a validation set, so a fixed 10% of the *training queries* (the same
for all three tasks, seeded) becomes ``validation``.  Queries never cross
splits.  Only US-locale rows are used (paper, A.3), and texts are
HTML-cleaned, folded to ASCII (NFKD) and must pass :func:`builders.text.is_english`.

Which ESCI version a task reads follows the dataset's own task definitions:
QPR (ranking, ESCI task 1) reads ``small_version``, MPC and PSI (ESCI tasks 2
and 3) read ``large_version``.  The paper does not say; see :data:`VERSION`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport, task_rng
from builders.readers import esci
from builders.text import clean_html, is_english, normalise_ws, to_ascii

SOURCE = "esci"
LOCALE = "us"
VALIDATION_FRACTION = 0.1
VERSION = {"MPC": "large_version", "PSI": "large_version", "QPR": "small_version"}
SPLITS = ("test", "validation", "train")  # filled in this order so train drops test overlaps


@dataclass(frozen=True, slots=True)
class Row:
    example_id: int
    query: str
    query_id: int
    product_id: str
    label: str


def clean(text: str) -> str:
    """HTML-free, whitespace-normalised ASCII text."""
    return normalise_ws(to_ascii(clean_html(text)))


def load_rows(cfg: BuildConfig, report: TaskReport, code: str) -> dict[str, list[Row]]:
    """US rows of the task's ESCI version, split into train / validation / test."""
    folder = cfg.sources / SOURCE
    table = esci.read_examples(folder / esci.EXAMPLES_FILE, report, locale=LOCALE, version=VERSION[code])
    cols = {name: table.column(name).to_pylist() for name in esci.KEPT_COLUMNS}
    rows: dict[str, list[Row]] = {"train": [], "test": []}
    for eid, query, qid, pid, label, split in zip(*(cols[c] for c in esci.KEPT_COLUMNS)):
        rows[split].append(Row(eid, query, qid, pid, label))
    # validation: a seeded 10% of the training queries, the same for MPC/PSI/QPR
    train_queries = sorted({r.query_id for r in rows["train"]})
    rng = task_rng(cfg.seed, "ESCI", "validation")
    n_val = round(len(train_queries) * VALIDATION_FRACTION)
    val_queries = set(rng.sample(train_queries, n_val)) if train_queries else set()
    out = {
        "train": [r for r in rows["train"] if r.query_id not in val_queries],
        "validation": [r for r in rows["train"] if r.query_id in val_queries],
        "test": rows["test"],
    }
    for split in out:
        out[split].sort(key=lambda r: r.example_id)
    return out


def group_by_query(rows: Sequence[Row]) -> list[list[Row]]:
    """Rows grouped per query, queries and rows in ``example_id`` order."""
    groups: dict[int, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.query_id, []).append(r)
    return list(groups.values())


def sample(
    cfg: BuildConfig,
    report: TaskReport,
    code: str,
    units: dict[str, list[list[Row]]],
    make: Callable[[list[Row], dict[str, str], object], Example | None],
    rows_of: Callable[[Example], int] = lambda ex: 1,
) -> dict[str, list[Example]]:
    """Walk each split's units in a seeded random order and keep the first
    ``cfg.size(split)`` that ``make`` turns into an example.

    A unit is a list of rows (one row for MPC/PSI, a query's rows for QPR).
    Product titles are read for a window of candidate units at a time (twice
    the target, growing when rows are dropped) so the products file is
    streamed a few times at most, never loaded whole.  ``make(unit, titles,
    rng)`` returns ``None`` for a unit it drops (after recording why).
    An example whose input already occurs in any split is dropped
    ("overlap between splits" / "duplicate input"); test and validation are
    filled first, so overlaps are removed from train.
    """
    folder = cfg.sources / SOURCE
    order = {}
    for split, us in units.items():
        idx = list(range(len(us)))
        task_rng(cfg.seed, code, f"order/{split}").shuffle(idx)
        order[split] = idx
    target = {s: cfg.size(s) for s in units}
    pos = dict.fromkeys(units, 0)
    out: dict[str, list[Example]] = {s: [] for s in units}
    titles: dict[str, str] = {}
    fetched: set[str] = set()
    input_split: dict[str, str] = {}
    rng = task_rng(cfg.seed, code, "make")
    window = {s: (len(order[s]) if target[s] is None else 2 * target[s] + 64) for s in units}
    while True:
        wanted = set()
        for s in units:
            for i in order[s][pos[s] : pos[s] + window[s]]:
                wanted.update(r.product_id for r in units[s][i])
        wanted -= fetched
        if wanted:
            titles.update(esci.read_titles(folder / esci.PRODUCTS_FILE, wanted, report, locale=LOCALE))
            fetched |= wanted
        more = False
        for s in SPLITS:
            if s not in units:
                continue
            end = min(len(order[s]), pos[s] + window[s])
            while pos[s] < end and (target[s] is None or len(out[s]) < target[s]):
                ex = make(units[s][order[s][pos[s]]], titles, rng)
                pos[s] += 1
                if ex is None:
                    continue
                if ex.input in input_split:
                    same = input_split[ex.input] == s
                    report.drop("duplicate input" if same else "overlap between splits", rows_of(ex))
                    continue
                input_split[ex.input] = s
                out[s].append(ex)
            if pos[s] < len(order[s]) and (target[s] is None or len(out[s]) < target[s]):
                more = True
                window[s] *= 2
        if not more:
            break
    for s in units:
        report.skip(NOT_SAMPLED, sum(len(units[s][i]) for i in order[s][pos[s]:]))
        if target[s] is not None and len(out[s]) < cfg.target(s):
            report.notes.append(f"{s}: {len(out[s])} examples available, fewer than the target {cfg.target(s)}")
    return {s: out[s] for s in ("train", "validation", "test") if s in out}


def title_of(row: Row, titles: dict[str, str], report: TaskReport) -> str | None:
    """The cleaned, English title of ``row``'s product, or ``None`` (drop recorded)."""
    raw = titles.get(row.product_id)
    if not raw:
        report.drop("esci: product without title")
        return None
    if not is_english(raw):
        report.drop("not English")
        return None
    title = clean(raw)
    if not title:
        report.drop("esci: product without title")
        return None
    return title


def query_of(row: Row, report: TaskReport) -> str | None:
    """The cleaned, English query of ``row``, or ``None`` (drop recorded)."""
    if not is_english(row.query):
        report.drop("not English")
        return None
    return clean(row.query) or None


def build_one_per_row(
    cfg: BuildConfig,
    report: TaskReport,
    code: str,
    example_of: Callable[[str, str, Row], Example],
) -> dict[str, list[Example]]:
    """MPC and PSI: one sample per ESCI row, made by ``example_of(query, title, row)``."""
    rows = load_rows(cfg, report, code)

    def make(unit, titles, rng):
        (row,) = unit
        query = query_of(row, report)
        title = None if query is None else title_of(row, titles, report)  # one drop per row
        if title is None:
            return None
        return example_of(query, title, row)

    units = {s: [[r] for r in rs] for s, rs in rows.items()}
    splits = sample(cfg, report, code, units, make)
    report.tally_splits(splits)
    return splits
