"""Reader for the Leipzig "Amazon-GoogleProducts" entity-resolution benchmark.

Three CSV files with CRLF line ends, as distributed by the Database Group of
Leipzig University (Köpcke et al., 2010):

``Amazon.csv``
    ``"id","title","description","manufacturer","price"``
``GoogleProducts.csv``
    ``"id","name","description","manufacturer","price"``
``Amzon_GoogleProducts_perfectMapping.csv`` (the original's spelling)
    ``"idAmazon","idGoogleBase"``

The catalogues are not valid UTF-8: most non-ASCII characters are single
Latin-1 bytes (0xAE for ®).  ``encoding="release"`` (the default) decodes
them as the official ECInstruct release did, as UTF-8 with every maximal
invalid byte sequence replaced by U+FFFD; ``encoding="latin-1"`` gives the
correct characters.  Values are kept exactly as in the file (no stripping);
an empty field is missing (``None``).  Rows with the wrong number of fields
or no id are skipped and counted in the report.  Catalogue rows are returned
in file order, repeated ids included: the release's row positions count them.

Examples
--------
>>> from ecinstruct_builders.core import TaskReport
>>> report = TaskReport("PM")
>>> amazon = read_catalogue("samples/sources/amazon_google/Amazon.csv", report)
>>> amazon[0].title, amazon[0].description
('clickart 950 000 - premier image pack (dvd-rom)', None)
>>> report.rows_read
{'Amazon.csv': 1363}
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ecinstruct_builders.core import SourceError, TaskReport

AMAZON_FILE = "Amazon.csv"
GOOGLE_FILE = "GoogleProducts.csv"
#: The mapping file under its original (misspelled) name; the corrected
#: spelling is accepted too, since some mirrors rename it.
MAPPING_FILES = ("Amzon_GoogleProducts_perfectMapping.csv", "Amazon_GoogleProducts_perfectMapping.csv")
#: ``encoding`` names: the release's decoding and the file's real one.
ENCODINGS = {"release": ("utf-8", "replace"), "latin-1": ("latin-1", "strict")}

_CATALOGUE_HEADERS = {
    "amazon": ("id", "title", "description", "manufacturer", "price"),
    "google": ("id", "name", "description", "manufacturer", "price"),
}
_MAPPING_HEADER = ("idAmazon", "idGoogleBase")


@dataclass(frozen=True)
class Product:
    """One catalogue row; a missing (empty) field is ``None``."""

    id: str
    title: str | None
    description: str | None
    manufacturer: str | None
    price: str | None


def mapping_path(folder: Path) -> Path:
    """The perfect-mapping file in ``folder`` (either spelling); error naming the expected path."""
    folder = Path(folder)
    for name in MAPPING_FILES:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"Leipzig mapping file not found: expected {folder / MAPPING_FILES[0]}")


def _rows(path: Path, header: tuple[str, ...], report: TaskReport, source: str, encoding: str = "release"):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Leipzig file not found: expected {path}")
    try:
        codec, errors = ENCODINGS[encoding]
    except KeyError:
        raise ValueError(f"encoding must be one of {sorted(ENCODINGS)}, got {encoding!r}") from None
    # The release read these files with pandas, which has no field size limit; csv's default
    # (128 KiB) would stop at a long description.  No field is longer than the file.
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, min(path.stat().st_size + 1, 2**31 - 1)))
    try:
        with open(path, encoding=codec, errors=errors, newline="") as f:
            reader = csv.reader(f)
            try:
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
                    yield [v if v != "" else None for v in row]
            except csv.Error as e:
                raise SourceError(f"{path}, line {reader.line_num}: not readable CSV ({e})") from None
    finally:
        csv.field_size_limit(limit)


def check_header(path: Path) -> None:
    """Raise ``ValueError`` (one line, naming the file) unless ``path`` starts with its Leipzig header."""
    path = Path(path)
    header = _MAPPING_HEADER if path.name in MAPPING_FILES else _CATALOGUE_HEADERS[
        "google" if "google" in path.name.lower() else "amazon"]
    for _ in _rows(path, header, TaskReport("PM"), path.name):
        break


def read_catalogue(
    path: Path, report: TaskReport, *, platform: str | None = None, encoding: str = "release"
) -> list[Product]:
    """Read ``Amazon.csv`` or ``GoogleProducts.csv`` into its rows, in file order.

    ``platform`` (``"amazon"`` or ``"google"``) picks the expected header; by
    default it is inferred from the file name.  ``encoding``: ``"release"``
    or ``"latin-1"`` (module docstring).
    """
    path = Path(path)
    platform = platform or ("google" if "google" in path.name.lower() else "amazon")
    source = path.name
    out: list[Product] = []
    for pid, title, description, manufacturer, price in _rows(
        path, _CATALOGUE_HEADERS[platform], report, source, encoding
    ):
        if not pid:
            report.drop(f"{source}: missing id")
            continue
        out.append(Product(pid, title, description, manufacturer, price))
    return out


def read_mapping(path: Path, report: TaskReport) -> list[tuple[str, str]]:
    """Read the perfect mapping as ``[(amazon_id, google_id), ...]`` in file order, repeats kept."""
    path = Path(path)
    out = []
    for a, g in _rows(path, _MAPPING_HEADER, report, path.name):
        if not a or not g:
            report.drop(f"{path.name}: missing id")
            continue
        out.append((a, g))
    return out
