"""Shared, cached builds of the review/MAVE tasks from the bundled samples (one per test session)."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

from ecinstruct_builders.core import BuildConfig, read_jsonl
from ecinstruct_builders.pipeline import build

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "samples" / "sources"
CONFIG = REPO / "samples" / "sample_build.json"
TASKS = ("AVE", "PRP", "SA", "SR")


def sample_config(out: Path, **overrides) -> BuildConfig:
    return BuildConfig.from_file(CONFIG, **{"sources": SOURCES, "out": out, **overrides})


def sources_without_ratings(root: Path) -> Path:
    """The review sources in ``root`` without the ratings CSV, so that SR reads Magazine_Subscriptions'
    5-core reviews and has two IND categories with users: the CSV (the real file's first 546 rows, which
    SR reads first, as the release did) loses every interaction to the 5-core filter."""
    for source in ("amazon_review_2018", "amazon_review_2014"):
        shutil.copytree(SOURCES / source, root / source, ignore=shutil.ignore_patterns("*.csv"))
    return root


@functools.cache
def built(sizes: str = "paper") -> Path:
    """Build AVE, PRP, SA and SR from the bundled samples once; return the build folder."""
    out = Path(tempfile.mkdtemp(prefix=f"ecb-review-{sizes}-"))
    build(sample_config(out, sizes=sizes), TASKS, log=lambda _m: None)
    return out


def records(task: str, split: str, sizes: str = "paper") -> list[dict]:
    return read_jsonl(built(sizes) / task / f"{split}.jsonl")


def report(task: str, sizes: str = "paper") -> dict:
    return json.loads((built(sizes) / "build_report.json").read_text())["tasks"][task]
