"""What MPC, PSI and QPR share: the release's preparation of the Shopping Queries data.

The release (RELEASED_FORMAT.md §7) prepares the ESCI examples once for the
three tasks:

1. left-join the examples to the products on (``product_locale``,
   ``product_id``), keeping the examples' order;
2. keep ``product_locale == "us"``;
3. read every missing value as ``""``;
4. in ``product_title`` only, replace ``\\n``, ``\\r``, every regex ``\\s``
   character, ``</p>``, ``<p>``, ``<br>`` and ``</br>`` (in that order) with
   one space each, without collapsing runs of spaces (:func:`clean_title`);
5. keep a row only if its query and its title are each empty or English by
   langdetect's most probable language (see *Language filter* below);
6. (a JSON round trip that changes nothing);
7. ``train`` = the rows of ESCI's train split; ESCI's test rows are halved:
   ``test`` = pandas ``sample(frac=0.5, random_state=1)`` of them and
   ``validation`` = the remaining test rows in their original order.

Query and titles are folded to ASCII when a record is rendered
(:func:`fold`: NFKD, then every non-ASCII code point dropped).  MPC and PSI
then sample each split (:func:`build_one_per_row`); QPR draws lists of one
query's products from one Python ``random`` stream (:func:`draw_lists`).

Language filter
---------------
The release ran langdetect through spacy_langdetect without a seed, so which
borderline rows it kept cannot be replayed.  The build option
``language_filter`` chooses: ``"off"`` (the default: every row is kept, no
extra dependency, fast) or ``"langdetect"`` (langdetect 1.0.9's most probable
language with ``DetectorFactory.seed = 0``; needs ``pip install langdetect``;
close to the release's selection but not equal to it; about 3 ms per text on
one core, so about an hour for the full US data's 1.2M titles).  The option is shared
by the three tasks, since MPC and PSI draw their instructions after QPR on one
stream: set it under ``"ESCI"`` (``{"options": {"ESCI": {"language_filter":
"langdetect"}}}``) or under any of ``MPC``, ``PSI``, ``QPR``; values given in
several places must agree.

Seeds: the release's seed 1 is ``cfg.seed``; MPC's row sample uses the
release's seed 2, i.e. ``cfg.seed + 1``.

Examples
--------
>>> fold("Caf\\u00e9 10' \\u00d7 13' \\u2122")
"Cafe 10'  13' TM"
>>> clean_title("a\\n<br>b\\u00a0 c")
'a  b  c'
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport
from ecinstruct_builders.readers import esci
from ecinstruct_builders.release import np_perm, pandas_sample, py_rng

SOURCE = "esci"
LOCALE = "us"
#: Splits in the release's order (QPR's list stream runs over them in this order).
SPLITS = ("train", "validation", "test")
#: The three tasks built from ESCI, in the order the release drew their instructions.
TASKS = ("QPR", "MPC", "PSI")
LANGUAGE_FILTERS = ("off", "langdetect")
DEFAULT_LANGUAGE_FILTER = "off"
#: Replaced by one space each in titles, after the whitespace (release order).
TITLE_TAGS = ("</p>", "<p>", "<br>", "</br>")
_WS = re.compile(r"\s")
#: QPR list lengths: ``randint(2, 4)``.
MIN_PRODUCTS, MAX_PRODUCTS = 2, 4

LANGUAGE_DIFFERS = {
    "off": ("language filter off: every row is kept; the release kept only rows whose query and title "
            "spacy_langdetect (unseeded, so not replayable) found English or empty, which removes many short "
            "texts (102 of 216 rows pass in the reference sample). Set options ESCI.language_filter to "
            "'langdetect' for a comparable selection"),
    "langdetect": ("language filter: langdetect 1.0.9 with DetectorFactory.seed = 0; the release ran it "
                   "unseeded through spacy_langdetect, so borderline short texts may be kept or removed "
                   "differently and row membership cannot be replayed exactly"),
}


def fold(text: str) -> str:
    """The release's ASCII folding: NFKD, then every non-ASCII code point dropped.

    >>> fold("No\\u00ebl \\u2013 \\u00bd")  # the fraction slash of NFKD's 1/2 is dropped too
    'Noel  12'
    """
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def clean_title(text: str) -> str:
    """Step 4: ``\\n``, ``\\r``, every ``\\s`` character, ``</p>``, ``<p>``, ``<br>``, ``</br>`` -> one space each.

    >>> clean_title("A</p><p>B  C")
    'A  B  C'
    """
    text = _WS.sub(" ", text.replace("\n", " ").replace("\r", " "))
    for tag in TITLE_TAGS:
        text = text.replace(tag, " ")
    return text


def language_filter(cfg: BuildConfig) -> str:
    """The ``language_filter`` option shared by MPC, PSI and QPR (see the module docstring).

    >>> from pathlib import Path
    >>> language_filter(BuildConfig(sources=Path("s"), out=Path("o"), options={"PSI": {"language_filter": "off"}}))
    'off'
    """
    given = {}
    for key in ("ESCI", *TASKS):
        value = cfg.option(key, "language_filter")
        if value is not None:
            given[key] = value
    values = set(given.values())
    if len(values) > 1:
        raise ValueError(f"options: language_filter differs between {sorted(given)} ({given}); "
                         "MPC, PSI and QPR share one value (set it under ESCI)")
    value = values.pop() if values else DEFAULT_LANGUAGE_FILTER
    if value not in LANGUAGE_FILTERS:
        raise ValueError(f"options: language_filter must be one of {list(LANGUAGE_FILTERS)}, got {value!r}")
    return value


class _Langdetect:
    """langdetect 1.0.9's top language with ``DetectorFactory.seed = 0`` (deterministic per text)."""

    def __init__(self):
        try:
            from langdetect import DetectorFactory, detect_langs
            from langdetect.lang_detect_exception import LangDetectException
        except ImportError:
            raise RuntimeError("ESCI language_filter 'langdetect' needs the langdetect package: "
                               "pip install langdetect (or set options ESCI.language_filter to 'off')") from None
        self._factory, self._detect, self._error = DetectorFactory, detect_langs, LangDetectException

    def is_english(self, text: str) -> bool:
        """Empty, or English by langdetect's most probable language (no language found: not English)."""
        if not text:
            return True
        saved = self._factory.seed
        self._factory.seed = 0
        try:
            return self._detect(text)[0].lang == "en"
        except self._error:
            return False
        finally:
            self._factory.seed = saved


@dataclass(frozen=True, slots=True)
class Row:
    """One prepared ESCI row (missing values already ``""``)."""

    example_id: int
    query: str
    product_id: str
    label: str


@dataclass
class Prepared:
    """The release's prepared ESCI rows (steps 1-7), shared by MPC, PSI and QPR.

    ``table`` holds the kept rows in file order; ``splits`` the positions of
    each split's rows in the release's order; ``reads``/``skipped``/``dropped``
    what preparing counted, replayed into every task's report.
    """

    table: object
    splits: dict[str, object]  # numpy int64 arrays
    language_filter: str
    reads: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def rows(self, positions) -> list[Row]:
        """The rows at ``positions`` of :attr:`table`, in that order."""
        import pyarrow as pa

        if len(positions) == 0:
            return []
        cols = self.table.take(pa.array(positions, type=pa.int64()))
        return [Row(*vals) for vals in zip(*(cols.column(c).to_pylist()
                                             for c in ("example_id", "query", "product_id", "esci_label")))]

    def replay(self, report: TaskReport) -> None:
        for source, n in self.reads.items():
            report.read(source, n)
        for reason, n in self.skipped.items():
            report.skip(reason, n)
        for reason, n in self.dropped.items():
            report.drop(reason, n)


_PREPARED: dict[tuple, Prepared] = {}
_LISTS: dict[tuple, dict[str, list[tuple[int, ...]]]] = {}


def clear_cache() -> None:
    """Forget the prepared rows and drawn lists (they are kept for the process's later ESCI tasks)."""
    _PREPARED.clear()
    _LISTS.clear()


def _paths(cfg: BuildConfig) -> tuple[Path, Path]:
    folder = cfg.sources / SOURCE
    return folder / esci.EXAMPLES_FILE, folder / esci.PRODUCTS_FILE


def _key(cfg: BuildConfig) -> tuple:
    parts: list = [language_filter(cfg), cfg.seed]
    for p in _paths(cfg):
        st = p.stat() if p.is_file() else None
        parts += [str(p.resolve()), st and st.st_size, st and st.st_mtime_ns]
    return tuple(parts)


def prepare(cfg: BuildConfig) -> Prepared:
    """Steps 1-7 of the release's preparation, computed once per process for the same files and options."""
    key = _key(cfg)
    if key not in _PREPARED:
        if len(_PREPARED) >= 4:
            clear_cache()
        _PREPARED[key] = _prepare(cfg, key[0])
    return _PREPARED[key]


def _prepare(cfg: BuildConfig, mode: str) -> Prepared:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    examples_path, products_path = _paths(cfg)
    counter = TaskReport("ESCI")
    detector = _Langdetect() if mode == "langdetect" else None  # fail before reading anything
    table = esci.read_examples(examples_path, counter, locale=LOCALE)
    if detector is not None:
        queries = pc.unique(table.column("query")).to_pylist()
        english = pa.array([q for q in queries if detector.is_english(q)], type=pa.string())
        foreign: list[str] = []
        wanted = set(pc.unique(table.column("product_id")).to_pylist())
        for pid, title in esci.iter_titles(products_path, wanted, counter, locale=LOCALE):
            if not detector.is_english(clean_title(title)):
                foreign.append(pid)
        keep = pc.and_(pc.is_in(table.column("query"), value_set=english),
                       pc.invert(pc.is_in(table.column("product_id"), value_set=pa.array(foreign, type=pa.string()))))
        n = table.num_rows
        table = table.filter(keep)
        counter.drop("not English", n - table.num_rows)
    split = table.column("split")
    train = np.flatnonzero(pc.equal(split, "train").to_numpy(zero_copy_only=False))
    held = np.flatnonzero(pc.equal(split, "test").to_numpy(zero_copy_only=False))
    picked = np.asarray(pandas_sample(range(len(held)), seed=cfg.seed, frac=0.5), dtype=np.int64)
    rest = np.ones(len(held), dtype=bool)
    rest[picked] = False
    splits = {"train": train, "validation": held[rest], "test": held[picked]}
    return Prepared(table, splits, mode, reads=dict(counter.rows_read), skipped=dict(counter.skipped),
                    dropped=dict(counter.dropped))


def titles_of(cfg: BuildConfig, report: TaskReport, rows) -> dict[str, str]:
    """``{product_id: cleaned title}`` of the rows' products (a product without a title reads ``""``)."""
    _, products_path = _paths(cfg)
    wanted = {r.product_id for r in rows}
    found = esci.read_titles(products_path, wanted, report, locale=LOCALE) if wanted else {}
    return {pid: clean_title(found.get(pid, "")) for pid in wanted}


def sample_sizes(cfg: BuildConfig, prep: Prepared) -> dict[str, int]:
    """MPC's and PSI's per-split sizes: the target, or every row where the split is smaller.

    The release's pandas ``sample(n=...)`` raises when a split is smaller than
    ``n``; the reference files were made with the size lowered to the split's
    length, which is what this gives.
    """
    out = {}
    for split in SPLITS:
        target = cfg.target(split)
        n = len(prep.splits[split])
        out[split] = n if target is None else min(target, n)
    return out


def build_one_per_row(
    cfg: BuildConfig,
    report: TaskReport,
    seed: int,
    example_of: Callable[[str, str, Row], Example],
) -> dict[str, list[Example]]:
    """MPC and PSI: each split is pandas ``sample(n=size, random_state=seed)`` of its rows.

    ``example_of(folded_query, folded_title, row)`` renders one record.
    """
    prep = prepare(cfg)
    prep.replay(report)
    report.differs(LANGUAGE_DIFFERS[prep.language_filter])
    sizes = sample_sizes(cfg, prep)
    picked: dict[str, list[Row]] = {}
    for split in SPLITS:
        positions = prep.splits[split]
        k = sizes[split]
        picked[split] = prep.rows(pandas_sample(positions, seed=seed, n=k))
        report.skip(NOT_SAMPLED, len(positions) - k)
        target = cfg.target(split)
        if target is not None and k < target:
            report.note(f"{split}: {k} rows available, fewer than the target {target}")
            report.differs(f"{split}: fewer rows than the target {target}: every row is used, in the order of "
                           f"the release's sample (its pandas sample(n={target}) would raise)")
    titles = titles_of(cfg, report, [r for rows in picked.values() for r in rows])
    splits = {split: [example_of(fold(r.query), fold(titles[r.product_id]), r) for r in rows]
              for split, rows in picked.items()}
    report.tally_splits(splits)
    return splits


def possible_lists(n_labels: int) -> int:
    """Distinct QPR lists one query with ``n_labels`` distinct labels can give (2 to 4 of them).

    >>> possible_lists(1), possible_lists(3), possible_lists(4)
    (0, 4, 11)
    """
    return sum(math.comb(n_labels, k) for k in range(MIN_PRODUCTS, min(MAX_PRODUCTS, n_labels) + 1))


def draw_lists(cfg: BuildConfig) -> dict[str, list[tuple[int, ...]]]:
    """QPR's lists per split, each a tuple of row positions (in :attr:`Prepared.table`) in draw order.

    The release's procedure (RELEASED_FORMAT.md §7), on one Python ``random``
    stream seeded with 1 and run over train, validation and test in turn,
    restricted to ``small_version == 1`` rows: pick a query uniformly among
    the split's distinct queries (first-appearance order), draw a length
    ``randint(2, 4)`` and start over if the query has fewer distinct labels;
    else draw labels without replacement from ``[E, S, C, I]`` until the
    length is reached, each label present contributing the row at
    NP-PERM(1, m)[0] of its ``m`` rows; a list whose set of example ids was
    drawn before is rejected.

    The release loops until a split has its target number of lists; here a
    split also stops once every distinct list it can give has been drawn (the
    release would loop forever; the reference files were made with sizes
    lowered to those counts).  Cached per process like :func:`prepare`.
    """
    key = (_key(cfg), tuple(cfg.target(s) for s in SPLITS))
    if key in _LISTS:
        return _LISTS[key]
    import pyarrow as pa

    prep = prepare(cfg)
    small = prep.table.column("small_version").to_numpy() == 1
    queries_col = prep.table.column("query")
    labels_col = prep.table.column("esci_label")
    rng = py_rng(cfg.seed)
    seen: set[tuple[int, ...]] = set()
    out: dict[str, list[tuple[int, ...]]] = {}
    for split in SPLITS:
        idx = prep.splits[split][small[prep.splits[split]]]
        positions = idx.tolist()
        by_query: dict[str, dict[str, list[int]]] = {}
        for p, q, lab in zip(positions, queries_col.take(pa.array(idx)).to_pylist(),
                             labels_col.take(pa.array(idx)).to_pylist()):
            by_query.setdefault(q, {}).setdefault(lab, []).append(p)
        queries = list(by_query)  # first-appearance order (dicts keep insertion order)
        target = cfg.target(split)
        available = sum(possible_lists(len(labels)) for labels in by_query.values())
        want = available if target is None else min(target, available)
        lists: list[tuple[int, ...]] = []
        while len(lists) < want:
            labels = by_query[queries[rng.randrange(len(queries))]]
            size = rng.randint(MIN_PRODUCTS, MAX_PRODUCTS)
            if len(labels) < size:
                continue
            pool = list(esci.LABELS)
            drawn: list[int] = []
            while len(drawn) < size:
                lab = pool[rng.randrange(len(pool))]
                if lab in labels:
                    rows = labels[lab]
                    drawn.append(rows[int(np_perm(cfg.seed, len(rows))[0])])
                pool.remove(lab)
            ids = tuple(sorted(drawn))  # positions stand for example ids: one position per example row
            if ids in seen:
                continue
            seen.add(ids)
            lists.append(tuple(drawn))
        out[split] = lists
    _LISTS[key] = out
    return out


def qpr_record_count(cfg: BuildConfig) -> int:
    """Records QPR's release procedure makes under ``cfg`` (train, validation and test together)."""
    return sum(len(v) for v in draw_lists(cfg).values())


def mpc_record_count(cfg: BuildConfig) -> int:
    """Records MPC's (and PSI's) release procedure makes under ``cfg``."""
    return sum(sample_sizes(cfg, prepare(cfg)).values())
