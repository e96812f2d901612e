"""Reader for the Leipzig "Amazon-GoogleProducts" entity-resolution benchmark.

Three CSV files, latin-1 encoded with CRLF line ends, as distributed by the
Database Group of Leipzig University (Köpcke et al., 2010):

``Amazon.csv``
    ``"id","title","description","manufacturer","price"``
``GoogleProducts.csv``
    ``"id","name","description","manufacturer","price"``
``Amzon_GoogleProducts_perfectMapping.csv`` (the original's spelling)
    ``"idAmazon","idGoogleBase"``

Empty fields stay empty strings (the task module decides how to show them).
Rows with the wrong number of fields or no id are skipped and counted in the
report, as are repeated ids (the first one wins).

Examples
--------
>>> from builders.core import TaskReport
>>> report = TaskReport("PM")
>>> amazon = read_catalogue("samples/sources/amazon_google/Amazon.csv", report)  # doctest: +SKIP
>>> amazon["b00027eqmy"].title  # doctest: +SKIP
'omniweb 5.0'
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from builders.core import TaskReport

AMAZON_FILE = "Amazon.csv"
GOOGLE_FILE = "GoogleProducts.csv"
#: The mapping file under its original (misspelled) name; the corrected
#: spelling is accepted too, since some mirrors rename it.
MAPPING_FILES = ("Amzon_GoogleProducts_perfectMapping.csv", "Amazon_GoogleProducts_perfectMapping.csv")
ENCODING = "latin-1"

_CATALOGUE_HEADERS = {
    "amazon": ("id", "title", "description", "manufacturer", "price"),
    "google": ("id", "name", "description", "manufacturer", "price"),
}
_MAPPING_HEADER = ("idAmazon", "idGoogleBase")


@dataclass(frozen=True)
class Product:
    """One catalogue entry; missing fields are ``""``."""

    id: str
    title: str
    description: str
    manufacturer: str
    price: str


def mapping_path(folder: Path) -> Path:
    """The perfect-mapping file in ``folder`` (either spelling); error naming the expected path."""
    folder = Path(folder)
    for name in MAPPING_FILES:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"Leipzig mapping file not found: expected {folder / MAPPING_FILES[0]}")


def _rows(path: Path, header: tuple[str, ...], report: TaskReport, source: str):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Leipzig file not found: expected {path}")
    with open(path, encoding=ENCODING, newline="") as f:
        reader = csv.reader(f)
        first = next(reader, None)
        if first is None or tuple(h.strip().lstrip("\ufeff") for h in first) != header:
            raise ValueError(f"{path}: unexpected header {first!r}; expected {list(header)}")
        for row in reader:
            if not row:
                continue
            report.read(source)
            if len(row) != len(header):
                report.drop(f"{source}: wrong number of fields")
                continue
            yield [v.strip() for v in row]


def read_catalogue(path: Path, report: TaskReport, *, platform: str | None = None) -> dict[str, Product]:
    """Read ``Amazon.csv`` or ``GoogleProducts.csv`` into ``{id: Product}``.

    ``platform`` (``"amazon"`` or ``"google"``) picks the expected header; by
    default it is inferred from the file name.
    """
    path = Path(path)
    platform = platform or ("google" if "google" in path.name.lower() else "amazon")
    source = path.name
    out: dict[str, Product] = {}
    for pid, title, description, manufacturer, price in _rows(
        path, _CATALOGUE_HEADERS[platform], report, source
    ):
        if not pid:
            report.drop(f"{source}: missing id")
            continue
        if pid in out:
            report.drop(f"{source}: repeated id")
            continue
        out[pid] = Product(pid, title, description, manufacturer, price)
    return out


def read_mapping(path: Path, report: TaskReport) -> list[tuple[str, str]]:
    """Read the perfect mapping as ``[(amazon_id, google_id), ...]`` in file order (repeats dropped)."""
    path = Path(path)
    seen: set[tuple[str, str]] = set()
    out = []
    for a, g in _rows(path, _MAPPING_HEADER, report, path.name):
        if not a or not g:
            report.drop(f"{path.name}: missing id")
            continue
        if (a, g) in seen:
            report.drop(f"{path.name}: repeated pair")
            continue
        seen.add((a, g))
        out.append((a, g))
    return out
