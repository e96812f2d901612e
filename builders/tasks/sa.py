"""SA, sentiment analysis, built as the official release built it (RELEASED_FORMAT.md §5).

The release's procedure, step by step:

1. Per category, the review file ``<Category>.json(.gz)`` (here: else the
   5-core file ``<Category>_5.json(.gz)``); only its first 200,000 lines are
   read (option ``max_reviews_per_category``).
2. A review is kept when it has both ``reviewText`` and ``overall``,
   ``int(overall)`` works, and ``reviewText`` split on single spaces gives at
   least 10 tokens (option ``min_words``).  No cleaning, no language filter,
   no dedup: duplicate reviews stay, in any split (the pipeline counts the
   evaluation records that repeat a training record).
3. SPLIT-811 (:func:`ecinstruct_builders.release.split_811`) per category, on the kept
   reviews in file order.
4. Each IND split is assembled by :func:`ecinstruct_builders.release.quota_concat` over
   the IND categories in configured order (category ``i`` of ``c`` appends
   while the running total is below ``(i + 1) * size / c``).  ``test_ood`` is
   the same over the OOD categories' test parts: with one OOD category, its
   first ``size`` test reviews.
5. ``input`` is the raw ``reviewText``; ``options`` are the five options
   below; ``output`` is the full option text of ``int(overall)``.

Examples
--------
>>> label_of(5.0), label_of(1)
('A: very positive', 'E: very negative')
>>> keep_reason({"reviewText": "too short", "overall": 5.0})
'review under 10 tokens'
"""

from __future__ import annotations

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport, find_source
from ecinstruct_builders.readers.amazon_review_2018 import iter_review_objects
from ecinstruct_builders.release import quota_concat, split_811
from ecinstruct_builders.sources import PAPER_CATEGORIES

from ecinstruct_eval.tasks import get_task

TASK = "SA"
#: The options exactly as the release stores them (``json_text(OPTIONS)``): the task registry's.
OPTIONS = list(get_task(TASK).lettered_options())
#: ``int(overall)`` -> option (5 very positive ... 1 very negative).
RATING_TO_OPTION = {5: OPTIONS[0], 4: OPTIONS[1], 3: OPTIONS[2], 2: OPTIONS[3], 1: OPTIONS[4]}
IND_SPLITS = ("train", "validation", "test")
#: Skip reason of the OOD category's train and validation parts, which the release never uses.
OOD_UNUSED = "OOD category: outside its test part"


def label_of(overall) -> str:
    """The release's output for a rating: the option of ``int(overall)``."""
    return RATING_TO_OPTION[int(overall)]


def keep_reason(obj, min_words: int = 10) -> str | None:
    """Why the release's filter drops a review object, or ``None`` when it keeps it.

    >>> keep_reason({"reviewText": "one two three four five six seven eight nine ten", "overall": 4.0}) is None
    True
    >>> keep_reason({"reviewText": "x " * 20, "overall": "4.0"})
    'rating not an integer'
    >>> keep_reason({"reviewText": "x " * 20, "overall": float("inf")})  # 1e999 in the file
    'rating not an integer'
    """
    if not isinstance(obj, dict) or "reviewText" not in obj or "overall" not in obj:
        return "review without reviewText or overall"
    try:
        stars = int(obj["overall"])
    except (TypeError, ValueError, OverflowError):  # OverflowError: int() of an infinity (1e999 in JSON)
        return "rating not an integer"
    if stars not in RATING_TO_OPTION:
        return "rating outside 1..5"
    text = obj["reviewText"]
    if not isinstance(text, str):
        return "reviewText not a string"
    if len(text.split(" ")) < min_words:
        return f"review under {min_words} tokens"
    return None


def review_file(cfg: BuildConfig, category: str):
    """The full review file of ``category``, else its 5-core file."""
    return find_source(cfg.sources, "amazon_review_2018", [f"{category}.json", f"{category}_5.json"], task=TASK)


def category_splits(cfg: BuildConfig, report: TaskReport, category: str) -> dict[str, list[Example]]:
    """The kept reviews of ``category`` as examples, SPLIT-811 in file order."""
    limit = cfg.option(TASK, "max_reviews_per_category", 200_000)
    min_words = cfg.option(TASK, "min_words", 10)
    path = review_file(cfg, category)
    if "_5." in path.name:
        report.differs(f"SA {category}: no full review file; the 5-core file {path.name} is read instead "
                       "(the release read the full file's first 200,000 lines)")
    kept = []
    for obj in iter_review_objects(path, report, max_lines=limit):
        reason = keep_reason(obj, min_words)
        if reason is not None:
            report.drop(reason)
            continue
        kept.append(Example(
            input=obj["reviewText"],
            output=label_of(obj["overall"]),
            options=list(OPTIONS),
            category=category,
            source_ids=[str(obj.get("asin", "")), str(obj.get("reviewerID", ""))],
        ))
    return dict(zip(IND_SPLITS, split_811(kept, seed=cfg.seed)))


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    ind, ood = cfg.categories_for(TASK, **PAPER_CATEGORIES[TASK])
    out: dict[str, list[Example]] = {}
    if ind:
        parts = {c: category_splits(cfg, report, c) for c in ind}
        for split in IND_SPLITS:
            size = cfg.target(split)
            lists = [parts[c][split] for c in ind]
            out[split] = quota_concat(lists, size) if size is not None else [ex for lst in lists for ex in lst]
            report.skip(NOT_SAMPLED, sum(map(len, lists)) - len(out[split]))
    if ood:
        parts = {c: category_splits(cfg, report, c) for c in ood}
        size = cfg.target("test_ood")
        lists = [parts[c]["test"] for c in ood]
        out["test_ood"] = quota_concat(lists, size) if size is not None else [ex for lst in lists for ex in lst]
        report.skip(NOT_SAMPLED, sum(map(len, lists)) - len(out["test_ood"]))
        report.skip(OOD_UNUSED, sum(len(parts[c]["train"]) + len(parts[c]["validation"]) for c in ood))
    report.extra["categories"] = {"ind": ind, "ood": ood}
    return out
