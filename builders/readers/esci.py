"""Reader for the Shopping Queries Dataset (ESCI; Reddy et al., 2022).

Two Parquet files in their published schema (amazon-science/esci-data):

``shopping_queries_dataset_examples.parquet``
    example_id, query, query_id, product_id, product_locale, esci_label
    (``E``/``S``/``C``/``I``), small_version, large_version, split
    (``train``/``test``)
``shopping_queries_dataset_products.parquet``
    product_id, product_title, product_description, product_bullet_point,
    product_brand, product_color, product_locale

Both are read by record batches with column projection, so only the rows of
one locale (a few hundred MB for the US share of the full data) are held.
Rows with a missing query/product id or an unknown label are skipped and
counted in the report.

Examples
--------
>>> from builders.core import TaskReport
>>> r = TaskReport("MPC")
>>> table = read_examples("samples/sources/esci/" + EXAMPLES_FILE, r)  # doctest: +SKIP
>>> titles = read_titles("samples/sources/esci/" + PRODUCTS_FILE, set(table["product_id"].to_pylist()), r)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from builders import progress
from builders.core import TaskReport

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
#: Columns kept from the examples file, in this order.
KEPT_COLUMNS = ("example_id", "query", "query_id", "product_id", "esci_label", "split")
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
    """``"E"``/``"exact"``/``"Exact"`` -> ``"E"``; anything else -> ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    if text in LABELS:
        return text
    return LABEL_ALIASES.get(text.lower())


def read_examples(
    path: Path,
    report: TaskReport,
    *,
    locale: str = "us",
    version: str | None = "large_version",
    batch_size: int = BATCH_SIZE,
):
    """The examples of one locale as a ``pyarrow.Table`` with :data:`KEPT_COLUMNS`.

    ``version`` keeps rows whose ``small_version`` / ``large_version`` flag is
    1 (``None`` keeps all).  ``esci_label`` is normalised to one letter and
    ``split`` lower-cased; rows of other locales are counted as read but not
    as dropped (they are out of scope, not malformed).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pf = _parquet_file(path, EXAMPLES_COLUMNS)
    columns = list(dict.fromkeys([*KEPT_COLUMNS, "product_locale", *([version] if version else [])]))
    kept = []
    source = Path(path).name
    tracker = progress.track(source, total=pf.metadata.num_rows, unit="rows")
    n = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=columns, use_threads=USE_THREADS):
        report.read(source, batch.num_rows)
        n += batch.num_rows
        tracker.update(n)
        mask = pc.fill_null(pc.equal(batch.column("product_locale"), locale), False)
        n_locale = _count(mask)
        report.skip("other locale", batch.num_rows - n_locale)
        if version:
            mask = pc.and_(mask, pc.fill_null(pc.equal(batch.column(version), 1), False))
            report.skip(f"not in {version}", n_locale - _count(mask))
        batch = batch.filter(mask)
        if batch.num_rows == 0:
            continue
        rows = batch.select(list(KEPT_COLUMNS)).to_pylist()
        good = []
        for row in rows:
            label = normalise_label(row["esci_label"])
            if label is None:
                report.drop("esci: unknown label")
                continue
            if not row["query"] or not str(row["query"]).strip() or not row["product_id"]:
                report.drop("esci: missing query or product id")
                continue
            split = str(row["split"] or "").strip().lower()
            if split not in ("train", "test"):
                report.drop("esci: unknown split")
                continue
            row["esci_label"], row["split"] = label, split
            row["query"] = str(row["query"]).strip()
            good.append(row)
        if good:
            kept.append(pa.Table.from_pylist(good, schema=_kept_schema()))
    tracker.close(n)
    if not kept:
        return _kept_schema().empty_table()
    return pa.concat_tables(kept)


def _kept_schema():
    import pyarrow as pa

    return pa.schema([
        ("example_id", pa.int64()), ("query", pa.string()), ("query_id", pa.int64()),
        ("product_id", pa.string()), ("esci_label", pa.string()), ("split", pa.string()),
    ])


def read_titles(
    path: Path,
    product_ids: set[str],
    report: TaskReport,
    *,
    locale: str = "us",
    batch_size: int = BATCH_SIZE,
) -> dict[str, str]:
    """``{product_id: product_title}`` for the wanted ids of one locale, streaming the products file.

    Products without a title are left out (the task counts the examples it
    cannot render).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pf = _parquet_file(path, PRODUCTS_COLUMNS)
    wanted = pa.array(sorted(product_ids), type=pa.string())
    out: dict[str, str] = {}
    source = Path(path).name
    tracker = progress.track(source, total=pf.metadata.num_rows, unit="rows")
    n = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=["product_id", "product_title", "product_locale"],
                                   use_threads=USE_THREADS):
        report.read(source, batch.num_rows)
        n += batch.num_rows
        tracker.update(n)
        mask = pc.and_(pc.equal(batch.column("product_locale"), locale),
                       pc.is_in(batch.column("product_id"), value_set=wanted))
        batch = batch.filter(pc.fill_null(mask, False))
        for pid, title in zip(batch.column("product_id").to_pylist(), batch.column("product_title").to_pylist()):
            if title and pid not in out:
                out[pid] = title
    tracker.close(n)
    return out


def _count(mask) -> int:
    """Number of true values of a boolean Arrow array."""
    import pyarrow.compute as pc

    return int(pc.sum(pc.cast(mask, "int64")).as_py() or 0)
