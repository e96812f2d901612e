"""What AP and AG share: reading AmazonQA, splits, categories, rendering and
category-balanced sampling.

Splits: the published ``train-`` / ``val-`` / ``test-qar.jsonl`` files give
train / validation / test.  Records of a file without such a prefix (e.g. a
single ``qar.jsonl``) are split 8:1:1 by product (seeded hash of the ASIN),
so one product's questions stay in one split.  When there is no ``test-``
file (only train and val are on the official S3 bucket), a seeded ninth of
the training *products* becomes the test split (noted in the report).  The
OOD category (Cell phones in the paper) is drawn from every split, since it
never appears in training.

Sampling keeps a seeded bottom-k sample per (split, category)
(:class:`builders.core.BottomK`), so memory stays bounded by the target
sizes however large the files are and the sample does not depend on file
order; the IND categories are then combined 1:1 (round robin; a short
category leaves its share to the others).  Texts are HTML-free and folded to ASCII (which also removes emoji);
questions must pass :func:`builders.text.is_english`.  Training records whose
input also occurs in validation or test are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from builders.core import (
    NOT_SAMPLED,
    BottomK,
    BuildConfig,
    Example,
    TaskReport,
    assign_split,
    stable_hash,
    take,
    task_rng,
)
from builders.readers import amazonqa
from builders.text import clean_html, is_english, normalise_ws, to_ascii

SOURCE = "amazonqa"
IND_SPLITS = ("train", "validation", "test")


def clean(text: str) -> str:
    return normalise_ws(to_ascii(clean_html(text)))


def categories(cfg: BuildConfig, code: str, defaults: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """IND and OOD category names of ``code`` (``cfg.categories`` overrides the paper's)."""
    given = cfg.categories.get(code, {})
    ind = list(given.get("ind", defaults["ind"]))
    ood = list(given.get("ood", defaults["ood"]))
    both = set(ind) & set(ood)
    if both:
        raise ValueError(f"{code}: categories {sorted(both)} are both IND and OOD")
    if not ind:
        raise ValueError(f"{code}: no IND category configured")
    return ind, ood


def unsplit_split(asin: str, seed: int) -> str:
    """Split of a product from a file without a split prefix: 8:1:1 by a seeded hash of its ASIN."""
    return assign_split(seed, "amazonqa", asin)


def carved_test(asin: str, seed: int) -> bool:
    """Whether a training product goes to test when there is no test file (a seeded ninth)."""
    return stable_hash(seed, "amazonqa-test", asin) % 9 == 0


def render(question: str, documents: list[str]) -> str:
    """Case-study J.9 / J.10 layout: the question, then one line per review."""
    lines = [f"Question: {question}", "Documents:"]
    lines += [f"- Document {i}: {d}" for i, d in enumerate(documents, 1)]
    return "\n".join(lines)


def render_record(rec: amazonqa.QARecord, report: TaskReport) -> str | None:
    """The input of ``rec``, or ``None`` (drop recorded) when it has no usable question or review."""
    question = clean(rec.question)
    docs = [d for d in (clean(r) for r in rec.reviews) if d]
    if not question or not docs:
        report.drop("amazonqa: no question or no review")
        return None
    if not is_english(question):
        report.drop("not English")
        return None
    return render(question, docs)


def build(
    cfg: BuildConfig,
    report: TaskReport,
    code: str,
    defaults: dict[str, list[str]],
    make: Callable[[amazonqa.QARecord], Example | None],
) -> dict[str, list[Example]]:
    """Stream every AmazonQA file, turn records of the task's categories into
    examples with ``make`` and sample them (see module docstring)."""
    ind, ood = categories(cfg, code, defaults)
    pools: dict[tuple[str, str], BottomK] = {}

    def pool(split: str, cat: str) -> BottomK:
        key = (split, cat)
        if key not in pools:
            k = cfg.size(split)
            # a little headroom in train for the overlap filter below
            pools[key] = BottomK(None if k is None else (k + k // 10 + 16 if split == "train" else k))
        return pools[key]

    files = amazonqa.find_files(cfg.sources / SOURCE)
    carve = not any(split == "test" for split, _ in files)
    if carve and any(split == "train" for split, _ in files):
        report.note("no test-qar file: a seeded ninth of the training products is the test split")
    held: set[str] = set()  # inputs of validation/test records, to keep train disjoint
    wanted = set(ind) | set(ood)
    for file_split, path in files:
        for rec in amazonqa.iter_records(path, report):
            if rec.category not in wanted:
                report.skip("other category")
                continue
            if rec.category in ood:
                split = "test_ood"
            else:
                split = file_split or unsplit_split(rec.asin, cfg.seed)
                if split == "train" and file_split == "train" and carve and carved_test(rec.asin, cfg.seed):
                    split = "test"
            ex = make(rec)
            if ex is None:
                continue
            ex.category = rec.category
            if split in ("validation", "test"):
                held.add(ex.input)
            pool(split, rec.category).offer(stable_hash(cfg.seed, code, split, ex.input), ex)
    for p in pools.values():
        report.drop("duplicate input", p.duplicates)
        report.skip(NOT_SAMPLED, p.not_sampled)

    out: dict[str, list[Example]] = {}
    for split, cats in [*((s, ind) for s in IND_SPLITS), *((("test_ood", ood),) if ood else ())]:
        per_cat = []
        for cat in cats:
            items = pools[(split, cat)].items() if (split, cat) in pools else []
            kept = []
            for ex in items:
                if split == "train" and ex.input in held:
                    report.drop("overlap between splits")
                    continue
                kept.append(ex)
            per_cat.append(kept)
            if not kept:
                report.note(f"{split}: no example of category {cat}")
        n = cfg.size(split)
        out[split] = take(per_cat, n, report)
        task_rng(cfg.seed, code, f"mix/{split}").shuffle(out[split])
        if n is not None and len(out[split]) < cfg.target(split):
            report.note(f"{split}: {len(out[split])} examples available, fewer than the target {cfg.target(split)}")
    return out
