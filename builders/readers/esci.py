"""Reader for the Shopping Queries Dataset (ESCI; Reddy et al., 2022).

Two Parquet files in their published schema (amazon-science/esci-data):

``shopping_queries_dataset_examples.parquet``
    example_id, query, query_id, product_id, product_locale, esci_label
    (``E``/``S``/``C``/``I``), small_version, large_version, split
    (``train``/``test``)
``shopping_queries_dataset_products.parquet``
    product_id, product_title, product_description, product_bullet_point,
    product_brand, product_color, product_locale

Both are read by record batches with column projection.  The examples of one
locale are kept as an Arrow table in file order (the release's left join keeps
the examples' order); product titles are streamed and only those of wanted
product ids are held.  As in the release, a missing query, product id or title
is read as ``""`` (``fillna("")``), not dropped; rows with a label or split
outside ESCI's are dropped and counted.

Examples
--------
>>> from ecinstruct_builders.core import TaskReport
>>> r = TaskReport("MPC")
>>> table = read_examples("samples/sources/esci/" + EXAMPLES_FILE, r)
>>> table.column_names
['example_id', 'query', 'product_id', 'esci_label', 'small_version', 'split']
>>> titles = read_titles("samples/sources/esci/" + PRODUCTS_FILE, {"B08VSJGP1N"}, r)
>>> titles["B08VSJGP1N"][:35]
'Apple Carplay Double Din Car Stereo'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ecinstruct_builders import progress
from ecinstruct_builders.core import TaskReport

EXAMPLES_FILE = "shopping_queries_dataset_examples.parquet"
PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"

EXAMPLES_COLUMNS = (
    "example_id", "query", "query_id", "product_id", "product_locale",
    "esci_label", "small_version", "large_version", "split",
)
PRODUCTS_COLUMNS = (
    "product_id", "product_title", "product_description", "product_bullet_point",
    "product_brand", "product_color", "product_locale",
)
#: ESCI labels, most relevant first (the QPR ranking order).
LABELS = ("E", "S", "C", "I")
#: Spelled-out labels some redistributions use.
LABEL_ALIASES = {"exact": "E", "substitute": "S", "complement": "C", "irrelevant": "I"}
#: Columns of the table :func:`read_examples` returns, in this order.
KEPT_COLUMNS = ("example_id", "query", "product_id", "esci_label", "small_version", "split")
#: Rows per record batch: each batch becomes Python rows for the filters, so this bounds that transient.
BATCH_SIZE = 8_192
#: Parquet decoding on one thread: the per-row Python work dominates, and every decoding thread keeps
#: its own allocator arenas (measured: +16 MB peak at 20x the sample, for no gain in speed).
USE_THREADS = False


def _parquet_file(path: Path, required: Iterable[str]):
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Shopping Queries file not found: expected {path}")
    pf = pq.ParquetFile(path)
    missing = [c for c in required if c not in pf.schema_arrow.names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected the published schema {list(required)}")
    return pf


def normalise_label(value) -> str | None:
    """``"E"``/``"exact"``/``"Exact"`` -> ``"E"``; anything else -> ``None``.

    >>> normalise_label("Substitute"), normalise_label("X")
    ('S', None)
    """
    if value is None:
        return None
    text = str(value).strip()
    if text in LABELS:
        return text
    return LABEL_ALIASES.get(text.lower())


def read_examples(path: Path, report: TaskReport, *, locale: str = "us", batch_size: int = BATCH_SIZE):
    """The examples of one locale, in file order, as a ``pyarrow.Table`` with :data:`KEPT_COLUMNS`.

    A missing ``query`` or ``product_id`` becomes ``""`` and a missing
    ``small_version`` 0; ``esci_label`` is normalised to one letter and
    ``split`` lower-cased.  Rows of other locales are counted as read and
    skipped (out of scope); rows with an unknown label or split are dropped.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pf = _parquet_file(path, EXAMPLES_COLUMNS)
    columns = ["example_id", "query", "product_id", "product_locale", "esci_label", "small_version", "split"]
    kept = []
    source = Path(path).name
    tracker = progress.track(source, total=pf.metadata.num_rows, unit="rows")
    n = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=columns, use_threads=USE_THREADS):
        report.read(source, batch.num_rows)
        n += batch.num_rows
        tracker.update(n)
        mask = pc.fill_null(pc.equal(batch.column("product_locale"), locale), False)
        n_batch = batch.num_rows
        batch = batch.filter(mask)
        report.skip("other locale", n_batch - batch.num_rows)
        good = []
        for row in batch.to_pylist():
            label = normalise_label(row["esci_label"])
            if label is None:
                report.drop("esci: unknown label")
                continue
            split = str(row["split"] or "").strip().lower()
            if split not in ("train", "test"):
                report.drop("esci: unknown split")
                continue
            good.append({
                "example_id": row["example_id"], "query": row["query"] or "",
                "product_id": row["product_id"] or "", "esci_label": label,
                "small_version": int(row["small_version"] or 0), "split": split,
            })
        if good:
            kept.append(pa.Table.from_pylist(good, schema=_kept_schema()))
    tracker.close(n)
    if not kept:
        return _kept_schema().empty_table()
    return pa.concat_tables(kept)


def _kept_schema():
    import pyarrow as pa

    return pa.schema([
        ("example_id", pa.int64()), ("query", pa.string()), ("product_id", pa.string()),
        ("esci_label", pa.string()), ("small_version", pa.int64()), ("split", pa.string()),
    ])


def iter_titles(
    path: Path,
    product_ids: set[str] | None,
    report: TaskReport,
    *,
    locale: str = "us",
    batch_size: int = BATCH_SIZE,
) -> Iterator[tuple[str, str]]:
    """``(product_id, product_title)`` of one locale's products, streaming the products file.

    Only the wanted ids (every id when ``product_ids`` is ``None``), each at
    its first occurrence; products without a title are left out (the caller
    reads them as ``""``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pf = _parquet_file(path, PRODUCTS_COLUMNS)
    wanted = None if product_ids is None else pa.array(sorted(product_ids), type=pa.string())
    seen: set[str] = set()
    source = Path(path).name
    tracker = progress.track(source, total=pf.metadata.num_rows, unit="rows")
    n = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=["product_id", "product_title", "product_locale"],
                                 use_threads=USE_THREADS):
        report.read(source, batch.num_rows)
        n += batch.num_rows
        tracker.update(n)
        mask = pc.equal(batch.column("product_locale"), locale)
        if wanted is not None:
            mask = pc.and_(mask, pc.is_in(batch.column("product_id"), value_set=wanted))
        batch = batch.filter(pc.fill_null(mask, False))
        for pid, title in zip(batch.column("product_id").to_pylist(), batch.column("product_title").to_pylist()):
            if pid in seen:
                continue
            seen.add(pid)
            if title:
                yield pid, title
    tracker.close(n)


def read_titles(
    path: Path,
    product_ids: set[str],
    report: TaskReport,
    *,
    locale: str = "us",
    batch_size: int = BATCH_SIZE,
) -> dict[str, str]:
    """``{product_id: product_title}`` for the wanted ids of one locale (see :func:`iter_titles`)."""
    return dict(iter_titles(path, product_ids, report, locale=locale, batch_size=batch_size))
