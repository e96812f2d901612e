"""PM, product matching (paper, Appendix A.1.3).

Rules: join the Leipzig perfect mapping to the Amazon and Google catalogues,
drop duplicate pairs, add as many random unmatched (Amazon, Google) pairs,
shuffle and split 8:1:1.  Every pair is kept (no down-sampling).  The input
shows each product as in the case study J.2::

    Product 1: title omniweb 5.0, description NaN, manufacturer omni group, price 29.99
    Product 2: title omni web 5.0, description sure you can ..., manufacturer NaN, price 23.99

Descriptions are cut to 50 words (DESIGN.md); empty fields read ``NaN`` as in
the paper; text is whitespace-normalised and folded to ASCII.  Duplicates are
judged on this rendered input, so no two records (in any split) share an
input.  From the real Leipzig files this gives 1,264 matched + 1,264
unmatched pairs = 2,022 / 253 / 253.
"""

from __future__ import annotations

from builders.core import BuildConfig, Example, TaskReport, task_rng
from builders.readers import leipzig
from builders.text import clean_html, cut_words, to_ascii

CODE = "PM"
SOURCE = "amazon_google"
#: PM keeps every matched pair (Table A3); the pipeline does not trim it to a target size.
USES_ALL_DATA = True
DESCRIPTION_WORDS = 50
SPLIT_RATIO = (0.8, 0.1, 0.1)
MISSING = "NaN"


def rows_of(ex: Example) -> int:
    """Mapping rows an example stands for: a matched pair is one, an unmatched pair (drawn) none."""
    return int(ex.output == "yes")


def _field(value: str, words: int | None = None) -> str:
    text = to_ascii(clean_html(value))
    if words is not None:
        text = cut_words(text, words)
    return text or MISSING


def render_product(p: leipzig.Product, n: int) -> str:
    """``"Product n: title ..., description ..., manufacturer ..., price ..."``."""
    return (
        f"Product {n}: title {_field(p.title)}, "
        f"description {_field(p.description, DESCRIPTION_WORDS)}, "
        f"manufacturer {_field(p.manufacturer)}, price {_field(p.price)}"
    )


def render_pair(amazon: leipzig.Product, google: leipzig.Product) -> str:
    return render_product(amazon, 1) + "\n" + render_product(google, 2)


def split_sizes(n: int) -> tuple[int, int, int]:
    """8:1:1 sizes of ``n`` items: train gets the floor, the rest is halved.

    >>> split_sizes(2528)
    (2022, 253, 253)
    """
    n_train = int(n * SPLIT_RATIO[0])
    n_val = (n - n_train) // 2
    return n_train, n_val, n - n_train - n_val


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    folder = cfg.sources / SOURCE
    amazon = leipzig.read_catalogue(folder / leipzig.AMAZON_FILE, report, platform="amazon")
    google = leipzig.read_catalogue(folder / leipzig.GOOGLE_FILE, report, platform="google")
    mapping = leipzig.read_mapping(leipzig.mapping_path(folder), report)

    matched: list[Example] = []
    seen_inputs: set[str] = set()
    for a_id, g_id in mapping:
        if a_id not in amazon or g_id not in google:
            report.drop("mapping id not in catalogue")
            continue
        text = render_pair(amazon[a_id], google[g_id])
        if text in seen_inputs:
            report.drop("duplicate matched pair")
            continue
        seen_inputs.add(text)
        matched.append(Example(input=text, output="yes", source_ids=[a_id, g_id]))

    # As many unmatched pairs, drawn uniformly from the pairs outside the mapping.
    rng = task_rng(cfg.seed, CODE, "negatives")
    a_ids, g_ids = sorted(amazon), sorted(google)
    mapped = set(mapping)
    unmatched: list[Example] = []
    attempts, max_attempts = 0, 100 * max(1, len(matched))
    while len(unmatched) < len(matched) and attempts < max_attempts:
        attempts += 1
        a_id, g_id = rng.choice(a_ids), rng.choice(g_ids)
        if (a_id, g_id) in mapped:
            continue
        text = render_pair(amazon[a_id], google[g_id])
        if text in seen_inputs:
            continue
        seen_inputs.add(text)
        unmatched.append(Example(input=text, output="no", source_ids=[a_id, g_id]))
    if len(unmatched) < len(matched):
        report.notes.append(
            f"only {len(unmatched)} unmatched pairs found for {len(matched)} matched pairs"
        )

    pairs = matched + unmatched
    task_rng(cfg.seed, CODE, "split").shuffle(pairs)
    n_train, n_val, _ = split_sizes(len(pairs))
    splits = {
        "train": pairs[:n_train],
        "validation": pairs[n_train : n_train + n_val],
        "test": pairs[n_train + n_val :],
    }
    report.tally_splits(splits)
    report.notes.append(f"{len(matched)} matched pairs after deduplication, {len(unmatched)} unmatched")
    return splits
