"""The raw sources of ECInstruct: where they are published, which files each task reads.

A sources folder holds one subfolder per source (``amazon_review_2018/``,
``amazon_review_2014/``, ``mave/``, ``amazon_google/``, ``esci/``,
``amazonqa/``) with the files under their original names, gzipped or not, at
any depth.  :func:`required_files` lists what a task needs for a given
build config (alternatives in order of preference; AmazonQA's
``train-qar.jsonl`` / ``val-qar.jsonl`` may be replaced by any ``*.jsonl``
file, gzipped or not, as its reader takes every one); :func:`download`
fetches missing files under their official names when the network allows
and otherwise says exactly which file to place where.

Published sizes are the record counts the source pages state (they publish
no checksums); ``None`` where the page gives none.

Examples
--------
>>> from ecinstruct_builders.sources import SOURCES, file_url
>>> SOURCES["amazon_review_2018"].homepage
'https://nijianmo.github.io/amazon/index.html'
>>> file_url("amazon_review_2018", "meta_Electronics.json.gz")
'https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2/metaFiles2/meta_Electronics.json.gz'
"""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ecinstruct_builders.core import BuildConfig


@dataclass(frozen=True)
class FilePattern:
    """A family of files of one source, e.g. ``meta_{category}.json.gz``."""

    pattern: str
    url: str | None
    what: str
    published: dict[str, str] = field(default_factory=dict)

    def regex(self) -> re.Pattern:
        parts = re.split(r"(\{category\})", self.pattern)
        body = "".join("(?P<category>.+)" if p == "{category}" else re.escape(p) for p in parts)
        return re.compile(f"^{body}$")


@dataclass(frozen=True)
class Source:
    """One public raw source."""

    name: str
    title: str
    homepage: str
    licence: str
    files: tuple[FilePattern, ...]
    how_to_get: str = ""


_AR18 = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2"
_AR14 = "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles"

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="amazon_review_2018",
            title="Amazon Review Data 2018 (Ni et al., 2019)",
            homepage="https://nijianmo.github.io/amazon/index.html",
            licence="not specified (research use)",
            files=(
                FilePattern(
                    "meta_{category}.json.gz", f"{_AR18}/metaFiles2/meta_{{category}}.json.gz",
                    "product metadata, one JSON object per line",
                    {"Electronics": "786,868 products", "Home_and_Kitchen": "1,301,225 products",
                     "Sports_and_Outdoors": "962,876 products", "Tools_and_Home_Improvement": "571,982 products"},
                ),
                FilePattern(
                    "{category}.json.gz", f"{_AR18}/categoryFiles/{{category}}.json.gz",
                    "all reviews of a category, one JSON object per line",
                    {"Electronics": "20,994,353 reviews", "Home_and_Kitchen": "21,928,568 reviews",
                     "Sports_and_Outdoors": "12,980,837 reviews", "Tools_and_Home_Improvement": "9,015,203 reviews"},
                ),
                FilePattern(
                    "{category}_5.json.gz", f"{_AR18}/categoryFilesSmall/{{category}}_5.json.gz",
                    "5-core reviews of a category",
                    {"Electronics": "6,739,590 reviews", "Home_and_Kitchen": "6,898,955 reviews",
                     "Sports_and_Outdoors": "2,839,940 reviews", "Tools_and_Home_Improvement": "2,070,831 reviews"},
                ),
                FilePattern(
                    "{category}.csv", f"{_AR18}/categoryFilesSmall/{{category}}.csv",
                    "ratings only, no header: item,user,rating,unix_time",
                ),
            ),
            how_to_get="The per-category file links are listed on the homepage.",
        ),
        Source(
            name="amazon_review_2014",
            title="Amazon product data 2014 (He & McAuley, 2016; McAuley et al., 2015)",
            homepage="https://jmcauley.ucsd.edu/data/amazon/",
            licence="not specified (research use)",
            files=(
                FilePattern(
                    "meta_{category}.json.gz", f"{_AR14}/meta_{{category}}.json.gz",
                    "product metadata, one Python-literal dict per line",
                    {"Electronics": "498,196 products", "Home_and_Kitchen": "436,988 products",
                     "Sports_and_Outdoors": "532,197 products", "Tools_and_Home_Improvement": "269,120 products"},
                ),
            ),
        ),
        Source(
            name="mave",
            title="MAVE (Yang et al., 2022)",
            homepage="https://github.com/google-research-datasets/MAVE",
            licence="CC-BY-4.0 (labels); product text from Amazon Review 2018",
            files=(
                FilePattern("mave_positives.jsonl", None, "full MAVE positives (with paragraphs)",
                            {"all": "2,226,509 products, 2,987,151 product-attribute pairs"}),
                FilePattern("mave_negatives.jsonl", None, "full MAVE negatives (with paragraphs)",
                            {"all": "1,248,009 products, 1,780,428 product-attribute pairs"}),
            ),
            how_to_get=(
                "The repository publishes labels only; the full files (with product text) are made by its "
                "clean_amazon_product_metadata_main.sh from the Amazon Review 2018 All_Amazon_Meta.json, "
                "which writes reproduce/mave_positives.jsonl and reproduce/mave_negatives.jsonl."
            ),
        ),
        Source(
            name="amazon_google",
            title="Amazon-GoogleProducts entity-resolution benchmark (Köpcke et al., 2010)",
            homepage="https://dbs.uni-leipzig.de/research/projects/benchmark-datasets-for-entity-resolution",
            licence="CC-BY-4.0",
            files=(
                FilePattern("Amazon.csv", "https://dbs.uni-leipzig.de/file/Amazon-GoogleProducts.zip",
                            "Amazon catalogue (in the zip)", {"all": "1,363 products"}),
                FilePattern("GoogleProducts.csv", "https://dbs.uni-leipzig.de/file/Amazon-GoogleProducts.zip",
                            "Google catalogue (in the zip)", {"all": "3,226 products"}),
                FilePattern("Amzon_GoogleProducts_perfectMapping.csv",
                            "https://dbs.uni-leipzig.de/file/Amazon-GoogleProducts.zip",
                            "perfect mapping (in the zip, original spelling)", {"all": "1,300 pairs"}),
            ),
            how_to_get="Download the zip and unpack its three CSV files into amazon_google/.",
        ),
        Source(
            name="esci",
            title="Shopping Queries Dataset (Reddy et al., 2022)",
            homepage="https://github.com/amazon-science/esci-data",
            licence="Apache-2.0",
            files=(
                FilePattern(
                    "shopping_queries_dataset_examples.parquet",
                    "https://github.com/amazon-science/esci-data/raw/main/shopping_queries_dataset/"
                    "shopping_queries_dataset_examples.parquet",
                    "query-product judgements (E/S/C/I), all locales", {"all": "2,621,288 judgements"},
                ),
                FilePattern(
                    "shopping_queries_dataset_products.parquet",
                    "https://github.com/amazon-science/esci-data/raw/main/shopping_queries_dataset/"
                    "shopping_queries_dataset_products.parquet",
                    "product catalogue", {},
                ),
            ),
        ),
        Source(
            name="amazonqa",
            title="AmazonQA (Gupta et al., 2019)",
            homepage="https://github.com/amazonqa/amazonqa",
            licence="not specified",
            files=(
                FilePattern("train-qar.jsonl", "https://amazon-qa.s3-us-west-2.amazonaws.com/train-qar.jsonl",
                            "training questions with reviews and answers"),
                FilePattern("val-qar.jsonl", "https://amazon-qa.s3-us-west-2.amazonaws.com/val-qar.jsonl",
                            "validation questions with reviews and answers"),
            ),
        ),
    )
}

#: The paper's IND / OOD categories (Appendix A), in file-name spelling.
PAPER_CATEGORIES: dict[str, dict[str, list[str]]] = {
    "PRP": {"ind": ["Electronics", "Home_and_Kitchen", "Sports_and_Outdoors"], "ood": ["Tools_and_Home_Improvement"]},
    "SA": {"ind": ["Electronics", "Home_and_Kitchen", "Sports_and_Outdoors"], "ood": ["Tools_and_Home_Improvement"]},
    "SR": {"ind": ["Electronics", "Home_and_Kitchen", "Sports_and_Outdoors"], "ood": ["Tools_and_Home_Improvement"]},
    "AP": {"ind": ["Sports_and_Outdoors", "Tools_and_Home_Improvement"], "ood": ["Cell_Phones_and_Accessories"]},
    "AG": {"ind": ["Electronics", "Home_and_Kitchen"], "ood": ["Cell_Phones_and_Accessories"]},
}


def _pattern(source: str, name: str) -> tuple[FilePattern, str | None] | None:
    for fp in SOURCES[source].files:
        m = fp.regex().match(name) or fp.regex().match(name + ".gz")
        if m:
            return fp, m.groupdict().get("category")
    return None


def file_url(source: str, name: str) -> str | None:
    """The official download URL of file ``name`` of ``source`` (``None`` if not downloadable)."""
    if source not in SOURCES:
        return None
    hit = _pattern(source, name)
    if hit is None or hit[0].url is None:
        return None
    fp, category = hit
    return fp.url.format(category=category) if category is not None else fp.url


def download_hint(source: str, name: str) -> str:
    """One sentence telling a user where to get ``name`` of ``source``."""
    if source not in SOURCES:
        return ""
    src = SOURCES[source]
    url = file_url(source, name)
    where = f"Official download: {url}." if url else f"Get it from {src.homepage}."
    extra = f" {src.how_to_get}" if src.how_to_get else ""
    return f"{where}{extra} `ecinstruct build --download` fetches what it can."


#: Glob alternative: any AmazonQA ``qar`` file (``.gz`` etc. variants are tried too), as the reader accepts.
AMAZONQA_ANY = "*.jsonl"


def is_glob(name: str) -> bool:
    """Whether a required-file alternative is a glob pattern (``*.jsonl``) rather than a file name."""
    return any(c in name for c in "*?[")


def describe(alts: Sequence[str]) -> str:
    """Wording of a required file's alternatives after the first.

    >>> describe(["train-qar.jsonl", "*.jsonl"])
    ' (or any *.jsonl file, compressed or not)'
    """
    rest = [f"any {a} file, compressed or not" if is_glob(a) else a for a in alts[1:]]
    return f" (or {', '.join(rest)})" if rest else ""


#: Which source files each task reads: (source, alternatives in order of preference, required).
#: ``{c}`` stands for each IND/OOD category of the task.
_TASK_FILES: dict[str, list[tuple[str, list[str], bool, str]]] = {
    "AVE": [("mave", ["mave_positives.jsonl"], True, ""), ("mave", ["mave_negatives.jsonl"], True, "")],
    "PRP": [("amazon_review_2018", ["meta_{c}.json"], True, "each")],
    "SA": [("amazon_review_2018", ["{c}.json", "{c}_5.json"], True, "each")],
    "SR": [
        ("amazon_review_2018", ["meta_{c}.json"], True, "each"),
        ("amazon_review_2018", ["{c}.csv", "{c}.json", "{c}_5.json"], True, "each"),
        ("amazon_review_2014", ["meta_{c}.json"], False, "each"),
    ],
    "PM": [("amazon_google", ["Amazon.csv"], True, ""), ("amazon_google", ["GoogleProducts.csv"], True, ""),
           ("amazon_google", ["Amzon_GoogleProducts_perfectMapping.csv", "Amazon_GoogleProducts_perfectMapping.csv"],
     True, "")],
    "MPC": [("esci", ["shopping_queries_dataset_examples.parquet"], True, ""),
            ("esci", ["shopping_queries_dataset_products.parquet"], True, "")],
    "PSI": [("esci", ["shopping_queries_dataset_examples.parquet"], True, ""),
            ("esci", ["shopping_queries_dataset_products.parquet"], True, "")],
    "QPR": [("esci", ["shopping_queries_dataset_examples.parquet"], True, ""),
            ("esci", ["shopping_queries_dataset_products.parquet"], True, "")],
    # The AmazonQA reader takes every ``*.jsonl[.gz]`` of the folder: any one satisfies the check;
    # the official names come first because they are what ``--download`` fetches.
    "AP": [("amazonqa", ["train-qar.jsonl", AMAZONQA_ANY], True, ""),
           ("amazonqa", ["val-qar.jsonl", AMAZONQA_ANY], True, "")],
    "AG": [("amazonqa", ["train-qar.jsonl", AMAZONQA_ANY], True, ""),
           ("amazonqa", ["val-qar.jsonl", AMAZONQA_ANY], True, "")],
}


def required_files(task: str, cfg: BuildConfig | None = None) -> list[tuple[str, list[str], bool]]:
    """``(source, alternative file names, required)`` that ``task`` reads under ``cfg``.

    >>> required_files("SA")[0]
    ('amazon_review_2018', ['Electronics.json.gz', 'Electronics_5.json.gz'], True)
    """
    task = task.upper()
    default = PAPER_CATEGORIES.get(task, {"ind": [], "ood": []})
    if cfg is not None:
        ind, ood = cfg.categories_for(task, ind=default["ind"], ood=default["ood"])
    else:
        ind, ood = default["ind"], default["ood"]
    out = []
    for source, names, required, per in _TASK_FILES.get(task, []):
        cats = list(dict.fromkeys(ind + ood)) if per == "each" else [None]
        for c in cats:
            alts = [n.format(c=c) if c is not None else n for n in names]
            alts = [a + ".gz" if a.endswith(".json") else a for a in alts]
            out.append((source, alts, required))
    return out


def missing_files(tasks: Sequence[str], cfg: BuildConfig) -> list[tuple[str, str, list[str], bool]]:
    """``(task, source, alternatives, required)`` for every file not present under ``cfg.sources``.

    An alternative may be a glob (:data:`AMAZONQA_ANY`): any matching file satisfies it.
    """
    from ecinstruct_builders.core import find_source

    out = []
    for task in tasks:
        for source, alts, required in required_files(task, cfg):
            if find_source(cfg.sources, source, alts, required=False) is None:
                out.append((task, source, alts, required))
    return out


def download(tasks: Sequence[str], cfg: BuildConfig, *, timeout: float = 30.0, log=print) -> int:
    """Fetch the missing files of ``tasks`` into ``cfg.sources``; return the number still missing.

    Files without a direct URL (MAVE's full version, files behind a form) and
    failed downloads (no network) are listed with the exact path to place
    them at.  A download is written to a temporary name and renamed at the end,
    so an interrupted download leaves no partial file.
    """
    todo = missing_files(tasks, cfg)
    still = 0
    offline = False
    seen: set[tuple[str, str]] = set()
    for task, source, alts, required in todo:
        name = next(a for a in alts if not is_glob(a))
        if (source, name) in seen:
            continue
        seen.add((source, name))
        dest = Path(cfg.sources) / source / name
        url = file_url(source, name)
        if url is not None and url.endswith(".zip"):
            url = None  # archives are unpacked by hand, see how_to_get
        if url is not None and not offline:
            try:
                _fetch(url, dest, timeout=timeout)
                log(f"downloaded {url} -> {dest}")
                continue
            except (urllib.error.URLError, OSError, TimeoutError) as e:
                log(f"could not download {url}: {e}")
                if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
                    offline = True
                    log("no network: listing the remaining files instead of downloading them")
        still += 1
        kind = "needed" if required else "optional"
        log(f"[{task}] {kind}: place {source} file {name}{describe(alts)} at {dest}. {download_hint(source, name)}")
    return still


def _fetch(url: str, dest: Path, *, timeout: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    req = urllib.request.Request(url, headers={"User-Agent": "ecinstruct-builders"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as f:
            shutil.copyfileobj(resp, f, length=1 << 20)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)

