"""Build the FIXTURE Shopping Queries parquet files of the bundled sample sources.

The full Shopping Queries Dataset (amazon-science/esci-data) is not bundled.
This script writes ``shopping_queries_dataset_examples.parquet`` and
``shopping_queries_dataset_products.parquet`` into ``samples/sources/esci/``
in the exact published schema, from the real files next to them (see
``samples/sources/PROVENANCE.md``):

* ``examples_with_products_us_200.csv`` -- 200 real US examples with their
  real products (one product per query).  Real rows; the ``split`` column is
  not in that CSV, so it is FIXTURE-assigned (seeded, 80% train / 20% test
  by query).
* ``vespa_test-sample.parquet`` + ``vespa_sample-products.jsonl.zstd`` -- 16
  real examples of one query with their real products; real split (test).
* ``opensearch_esci_us_judgments.json`` -- real (query, product_id, grade)
  judgments (grade 100/10/1/0 = E/S/C/I), but *no product texts*: at most
  two products per grade per query are kept, their titles are FIXTURE
  placeholders ``"[fixture] product <ASIN>"`` (unless the product is one of
  the real ones above), query ids / example ids are FIXTURE numbers (>= 900000
  / >= 9000000), both version flags are 1 and the split is FIXTURE-assigned
  by query.  They give QPR its lists of 2-4 products.
* A handful of FIXTURE rows that exercise the filters: other locales,
  a non-English title, a title with accents/typographic quotes, a null
  query and an unknown label.

Run from the repository root: ``python samples/make_esci_fixtures.py``.  The
output is deterministic (same inputs -> identical files).
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent / "sources" / "esci"
SEED = 1
GRADE = {"100.000": "E", "10.000": "S", "1.000": "C", "0.000": "I"}
LABEL = {"Exact": "E", "Substitute": "S", "Complement": "C", "Irrelevant": "I"}
PER_GRADE = 2
FIXTURE_QUERY_ID0, FIXTURE_EXAMPLE_ID0 = 900_000, 9_000_000

EXAMPLES_SCHEMA = pa.schema([
    ("example_id", pa.int64()), ("query", pa.string()), ("query_id", pa.int64()),
    ("product_id", pa.string()), ("product_locale", pa.string()), ("esci_label", pa.string()),
    ("small_version", pa.int64()), ("large_version", pa.int64()), ("split", pa.string()),
])
PRODUCTS_SCHEMA = pa.schema([
    (name, pa.string()) for name in (
        "product_id", "product_title", "product_description", "product_bullet_point",
        "product_brand", "product_color", "product_locale",
    )
])


def _none(value):
    return None if value in (None, "", "None", "nan") else value


def _split_of(query: str) -> str:
    # FIXTURE split: seeded per query text, 80% train / 20% test
    return "test" if random.Random(f"{SEED}/{query}").random() < 0.2 else "train"


def main() -> None:
    examples: list[dict] = []
    products: dict[tuple[str, str], dict] = {}

    def add_product(pid, locale, title, description=None, bullets=None, brand=None, color=None):
        products.setdefault((pid, locale), {
            "product_id": pid, "product_title": _none(title), "product_description": _none(description),
            "product_bullet_point": _none(bullets), "product_brand": _none(brand),
            "product_color": _none(color), "product_locale": locale,
        })

    # 1. the 200 real examples with products (split FIXTURE-assigned)
    with open(HERE / "examples_with_products_us_200.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            examples.append({
                "example_id": int(row["example_id"]), "query": row["query"], "query_id": int(row["query_id"]),
                "product_id": row["product_id"], "product_locale": row["product_locale"],
                "esci_label": LABEL[row["esci_label"]], "small_version": int(row["small_version"]),
                "large_version": int(row["large_version"]), "split": _split_of(row["query"]),
            })
            add_product(row["product_id"], row["product_locale"], row["product_title"],
                        row["product_description"], row["product_bullet_point"],
                        row["product_brand"], row["product_color"])

    # 2. the 16 real Vespa examples and products
    import zstandard

    with open(HERE / "vespa_sample-products.jsonl.zstd", "rb") as f:
        text = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8")
    for line in io.StringIO(text):
        if line.strip():
            p = json.loads(line)["fields"]
            add_product(p["id"], p.get("locale", "us"), p.get("title"), p.get("description"),
                        p.get("bullets"), p.get("brand"), p.get("color"))
    vespa = pq.read_table(HERE / "vespa_test-sample.parquet").to_pylist()
    for row in vespa:
        examples.append({k: row[k] for k in EXAMPLES_SCHEMA.names})

    # 3. real judgments, FIXTURE titles/ids/splits
    real_queries = {e["query"]: e["query_id"] for e in examples}
    judgments = json.loads((HERE / "opensearch_esci_us_judgments.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    next_example = FIXTURE_EXAMPLE_ID0
    for qi, item in enumerate(sorted(judgments["judgmentRatings"], key=lambda j: j["query"])):
        query = item["query"]
        qid = real_queries.get(query, FIXTURE_QUERY_ID0 + qi)
        by_grade: dict[str, list[str]] = {}
        for r in sorted(item["ratings"], key=lambda r: r["docId"]):
            if r["rating"] in GRADE:
                by_grade.setdefault(GRADE[r["rating"]], []).append(r["docId"])
        split = _split_of(query)
        for label in "ESCI":
            ids = by_grade.get(label, [])
            for pid in rng.sample(ids, min(PER_GRADE, len(ids))):
                examples.append({
                    "example_id": next_example, "query": query, "query_id": qid, "product_id": pid,
                    "product_locale": "us", "esci_label": label, "small_version": 1,
                    "large_version": 1, "split": split,
                })
                next_example += 1
                add_product(pid, "us", f"[fixture] product {pid}")

    # 4. FIXTURE rows for the filters
    def fixture(query, pid, locale, label, title, split="train", qid=None):
        nonlocal next_example
        examples.append({
            "example_id": next_example, "query": query, "query_id": qid or next_example,
            "product_id": pid, "product_locale": locale, "esci_label": label,
            "small_version": 1, "large_version": 1, "split": split,
        })
        next_example += 1
        if title is not None:
            add_product(pid, locale, title)

    fixture("zapatillas running hombre", "FIXTURE0ES1", "es", "E", "Zapatillas de running para hombre")
    fixture("ワイヤレスマウス", "FIXTURE0JP1", "jp", "E", "ワイヤレスマウス 静音")
    fixture("wireless mouse", "FIXTURE0US1", "us", "E", "ワイヤレスマウス 静音 2.4GHz 無線", qid=990_001)
    fixture("wireless mouse", "FIXTURE0US2", "us", "S",
            "Café “Crème” Mouse Pad – Large, 12×10 in", qid=990_001)
    fixture(None, "FIXTURE0US3", "us", "E", "Fixture product without query")
    fixture("usb cable", "FIXTURE0US4", "us", "X", "Fixture USB cable with an unknown label")
    fixture("usb cable", "FIXTURE0US5", "us", "I", None)  # product missing from the products file

    examples.sort(key=lambda e: e["example_id"])
    rows = [products[k] for k in sorted(products)]
    meta = {b"fixture": b"ECInstruct FIXTURE built by samples/make_esci_fixtures.py; see samples/sources/PROVENANCE.md"}
    pq.write_table(pa.Table.from_pylist(examples, schema=EXAMPLES_SCHEMA.with_metadata(meta)),
                   HERE / "shopping_queries_dataset_examples.parquet", row_group_size=256)
    pq.write_table(pa.Table.from_pylist(rows, schema=PRODUCTS_SCHEMA.with_metadata(meta)),
                   HERE / "shopping_queries_dataset_products.parquet", row_group_size=256)
    print(f"wrote {len(examples)} examples, {len(rows)} products to {HERE}")


if __name__ == "__main__":
    main()
