"""SA, sentiment analysis (paper, Appendix A.2.1).

Amazon Review 2018 reviews of the IND categories (paper: Electronics, Home,
Sports) and the OOD category (Tools).  Per category the first 200k reviews
are read; reviews under 10 words and non-English reviews are dropped; the star
rating is the label (5 = A very positive ... 1 = E very negative).  Reviews
are split 8:1:1 by a hash of their text (so duplicates never straddle
train/test), IND categories are combined 1:1:1 per split, and the OOD
category gives the ``test_ood`` set.

Options (``BuildConfig.options["SA"]``): ``max_reviews_per_category``
(200000), ``min_words`` (10), ``max_words`` (None: no upper cap).
"""

from __future__ import annotations

from builders.core import (
    NOT_SAMPLED,
    BottomK,
    BuildConfig,
    Example,
    TaskReport,
    assign_split,
    clean_text,
    find_source,
    shuffled,
    stable_hash,
    take,
)
from builders.readers.amazon_review_2018 import iter_reviews
from builders.sources import PAPER_CATEGORIES

TASK = "SA"
#: The pipeline keeps the IND categories 1:1 when it trims a split to its target size.
BALANCE_CATEGORIES = True
#: Star rating -> option letter (5.0 very positive = A ... 1.0 very negative = E).
RATING_TO_LETTER = {5: "A", 4: "B", 3: "C", 2: "D", 1: "E"}


def review_file(cfg: BuildConfig, category: str):
    """The full review file of ``category``, else its 5-core file."""
    return find_source(cfg.sources, "amazon_review_2018", [f"{category}.json", f"{category}_5.json"], task=TASK)


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    from builders.text import is_english, word_count
    from ecinstruct_eval.tasks import get_task

    ind, ood = cfg.categories_for(TASK, **PAPER_CATEGORIES[TASK])
    files = {c: review_file(cfg, c) for c in dict.fromkeys(ind + ood)}
    limit = cfg.option(TASK, "max_reviews_per_category", 200_000)
    min_words = cfg.option(TASK, "min_words", 10)
    max_words = cfg.option(TASK, "max_words", None)
    options = get_task(TASK).lettered_options()

    def sample(category: str, splits: tuple[str, ...]) -> dict[str, BottomK]:
        heaps = {s: BottomK(cfg.size(s)) for s in splits}
        for rv in iter_reviews(files[category], report, limit=limit):
            text = clean_text(rv.text)
            n_words = word_count(text)
            if n_words < min_words:
                report.drop(f"review under {min_words} words")
                continue
            if max_words is not None and n_words > max_words:
                report.drop(f"review over {max_words} words")
                continue
            if not is_english(text):
                report.drop("not English")
                continue
            key = text.lower()
            split = assign_split(cfg.seed, TASK, key) if "train" in splits else "test_ood"
            h = stable_hash(cfg.seed, TASK, "sample", key)
            heap = heaps[split]
            if not heap.would_keep(h):
                if heap.get(h) is not None:
                    report.drop("duplicate review text")
                else:
                    report.skip(NOT_SAMPLED)
                continue
            heap.offer(h, Example(
                input=text,
                output=RATING_TO_LETTER[int(round(rv.rating))],
                options=list(options),
                category=category,
                source_ids=[rv.item, rv.user],
            ))
        for heap in heaps.values():
            report.skip(NOT_SAMPLED, heap.evicted)
        return heaps

    per_cat = {c: sample(c, ("train", "validation", "test")) for c in ind}
    out = {}
    for split in ("train", "validation", "test"):
        mixed = take([per_cat[c][split].items() for c in ind], cfg.size(split), report)
        out[split] = shuffled(mixed, cfg.seed, TASK, f"order/{split}")
    if ood:
        ood_heaps = [sample(c, ("test_ood",))["test_ood"].items() for c in ood]
        out["test_ood"] = shuffled(take(ood_heaps, cfg.size("test_ood"), report), cfg.seed, TASK, "order/test_ood")
    report.extra["categories"] = {"ind": ind, "ood": ood}
    return out

