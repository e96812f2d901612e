"""What AP and AG share: the release's AmazonQA splits, category concatenation and rendering.

The release (RELEASED_FORMAT.md §8-§9) reads one AmazonQA file per split,
``train-qar.jsonl`` / ``val-qar.jsonl`` / ``test-qar.jsonl`` for train /
validation / test.  Per split it concatenates the rows of each configured
IND category, category by category in configured order, each in file order;
the OOD set is the same over the OOD categories of the **test** file only.
The task then samples (AP) or filters, shuffles and walks (AG) that list.
Both render the same ``input``: the JSON text (:func:`ecinstruct_builders.release.json_text`)
of ``{"question": questionText, "document": review_snippets}``, texts raw (no
cleaning, no language filter, no dedup).

Our file layouts beyond the release's, each recorded with ``report.differs``:

* Several files of one split (e.g. ``val-qar.jsonl`` and
  ``val-fixture_qar.jsonl``) are read in path order, one after the other.
* A file without a ``train-``/``val-``/``test-`` prefix (the bundled
  ``qar.jsonl`` and ``fixture_qar.jsonl``): its IND-category rows are split
  8:1:1 by a seeded hash of the product (ASIN), so one product's questions
  stay in one split, and all its OOD-category rows count as test rows (the
  OOD category is never trained on).
* Train files but no test file (the official S3 bucket serves only train and
  val): a seeded ninth of the training products is the test split.

Memory stays bounded by the target sizes: a first pass keeps only each
candidate row's position (and the task's small per-row verdict), the
release's selection is made on those, and a second pass renders the selected
rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecinstruct_builders.core import BuildConfig, Example, TaskReport, assign_split, stable_hash
from ecinstruct_builders.readers import amazonqa
from ecinstruct_builders.release import json_text

SOURCE = "amazonqa"
IND_SPLITS = ("train", "validation", "test")
#: Skip reason of an OOD-category row outside the test file (the release reads only the test file).
OOD_UNUSED = "OOD category: outside the test file"


def categories(cfg: BuildConfig, code: str, defaults: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """IND and OOD category names of ``code`` (``cfg.categories`` overrides the paper's)."""
    ind, ood = cfg.categories_for(code, ind=defaults["ind"], ood=defaults["ood"])
    if not ind:
        raise ValueError(f"{code}: no IND category configured")
    return ind, ood


def unsplit_split(asin: str, seed: int) -> str:
    """Split of a product from a file without a split prefix: 8:1:1 by a seeded hash of its ASIN."""
    return assign_split(seed, "amazonqa", asin)


def carved_test(asin: str, seed: int) -> bool:
    """Whether a training product goes to test when there is no test file (a seeded ninth)."""
    return stable_hash(seed, "amazonqa-test", asin) % 9 == 0


def render_input(question: str, documents: list[str] | tuple[str, ...]) -> str:
    """The release's AP/AG ``input``: JSON text of the question and its review snippets.

    >>> print(render_input("Is it 12\\" wide?", ["Yes \\u2013 12 inches.", "Fits."]))
    {"question": "Is it 12\\" wide?", "document": ["Yes \\u2013 12 inches.", "Fits."]}
    """
    return json_text({"question": question, "document": list(documents)})


@dataclass(frozen=True)
class Row:
    """A candidate row of the first pass: where it is and the task's verdict on it."""

    file: int
    ordinal: int
    info: Any = None


def row_split(file_split: str | None, asin: str, ood_row: bool, carve: bool, seed: int) -> str:
    """The split a row belongs to under the file-layout rules of the module docstring.

    >>> row_split("validation", "B1", False, False, 1), row_split(None, "B1", True, False, 1)
    ('validation', 'test')
    """
    if file_split is None:
        return "test" if ood_row else unsplit_split(asin, seed)
    if file_split == "train" and carve and carved_test(asin, seed):
        return "test"
    return file_split


def collect(
    cfg: BuildConfig,
    report: TaskReport,
    code: str,
    defaults: dict[str, list[str]],
    verdict: Callable[[amazonqa.QARecord], tuple[bool, Any]] = lambda rec: (True, None),
) -> tuple[list[tuple[str | None, Path]], dict[str, list[Row]]]:
    """First pass: per split, the candidate rows in the release's category-concatenated order.

    ``verdict(rec)`` returns ``(keep, info)``; a row it does not keep must
    have been counted by it (``report.drop``).  Returns the files and
    ``{split: rows}`` with ``test_ood`` present only when OOD categories are
    configured.
    """
    ind, ood = categories(cfg, code, defaults)
    files = amazonqa.find_files(cfg.sources / SOURCE)
    present = {split for split, _ in files}
    carve = "test" not in present and "train" in present
    if carve:
        report.note("no test-qar file: a seeded ninth of the training products is the test split")
        report.differs("no test-qar.jsonl: the test split (and the OOD set) is a seeded ninth of the products of "
                       "the train file(s); the release read test-qar.jsonl")
    unsplit = [p.name for split, p in files if split is None]
    if unsplit:
        report.differs(f"AmazonQA file(s) without a train-/val-/test- prefix ({', '.join(unsplit)}): their "
                       "IND-category rows are split 8:1:1 by a seeded hash of the ASIN and all their OOD-category "
                       "rows count as test rows; the release read one file per split")
    for split in sorted(present - {None}):
        names = [p.name for s, p in files if s == split]
        if len(names) > 1:
            report.differs(f"several {split} files ({', '.join(names)}) are read in path order; the release read "
                           "one file per split")
    buckets: dict[tuple[str, str], list[Row]] = {}
    for i, (file_split, path) in enumerate(files):
        for j, rec in enumerate(amazonqa.iter_records(path, report)):
            is_ood = rec.category in ood
            if not is_ood and rec.category not in ind:
                report.skip("other category")
                continue
            split = row_split(file_split, rec.asin, is_ood, carve, cfg.seed)
            if is_ood:
                if split != "test":
                    report.skip(OOD_UNUSED)
                    continue
                split = "test_ood"
            keep, info = verdict(rec)
            if keep:
                buckets.setdefault((split, rec.category), []).append(Row(i, j, info))
    out = {}
    for split, cats in [*((s, ind) for s in IND_SPLITS), *((("test_ood", ood),) if ood else ())]:
        out[split] = [row for cat in cats for row in buckets.get((split, cat), [])]
        for cat in cats:
            if not buckets.get((split, cat)):
                report.note(f"{split}: no row of category {cat}")
    return files, out


def materialise(
    files: list[tuple[str | None, Path]],
    chosen: dict[str, list[Row]],
    make: Callable[[amazonqa.QARecord, Any], Example],
) -> dict[str, list[Example]]:
    """Second pass: the examples of the ``chosen`` rows, per split in the chosen order."""
    where: dict[tuple[int, int], list[tuple[str, int, Any]]] = {}
    for split, rows in chosen.items():
        for k, row in enumerate(rows):
            where.setdefault((row.file, row.ordinal), []).append((split, k, row.info))
    out: dict[str, list[Example | None]] = {split: [None] * len(rows) for split, rows in chosen.items()}
    needed = {f for f, _ in where}
    scratch = TaskReport("amazonqa second pass")  # rows were counted by the first pass
    for i, (_, path) in enumerate(files):
        if i not in needed:
            continue
        for j, rec in enumerate(amazonqa.iter_records(path, scratch)):
            for split, k, info in where.get((i, j), ()):
                ex = make(rec, info)
                ex.category = rec.category
                out[split][k] = ex
    missing = [s for s, exs in out.items() if any(ex is None for ex in exs)]
    if missing:  # the files changed between the two passes
        raise RuntimeError(f"amazonqa: rows of {', '.join(missing)} not found again on the second pass")
    return out  # type: ignore[return-value]


def example(rec: amazonqa.QARecord, output: str) -> Example:
    """An AP/AG example of ``rec`` with the release's ``input``."""
    return Example(input=render_input(rec.question, rec.reviews), output=output, source_ids=[rec.qid, rec.asin])
