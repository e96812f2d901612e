"""PRP's rules (RELEASED_FORMAT.md §3) pinned on real rows of the bundled 2018 metadata samples."""

import gzip
import json

import pytest
from _review_samples import SOURCES, sample_config
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.release import json_text, py_rng, split_811
from ecinstruct_builders.tasks import prp

META = SOURCES / "amazon_review_2018/meta/all_category"
GIFT = META / "meta_Gift_Cards.json.gz"
MAGAZINE = META / "meta_Magazine_Subscriptions.json.gz"


def _rows(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _masks(path):
    titles, last = prp.index_titles(path, TaskReport("PRP"))
    masks = {}
    for pair, bit, _, _ in prp.produce(path, titles, last):
        masks[pair] = masks.get(pair, 0) | bit
    return masks


def test_pairs_are_sorted_titles_with_the_relations_they_occur_in():
    titles = {r["asin"]: r["title"] for r in _rows(GIFT)}
    masks = _masks(GIFT)
    pack = titles["B001H53QE4"]  # "Amazon.com Gift Cards, Pack of 50 (Old Version) (Classic White Card Design)"
    # B016CDNMMG is in B001H53QE4's also_buy and also_view: BUY and VIEW, so the pair is dropped
    assert masks[(pack, "Starbucks Gift Cards, Multipack of 8")] == 1 | 2
    # B00JDQKFPC only in also_view: VIEW alone, label B
    tin = titles["B00JDQKFPC"]
    assert tin < pack and masks[(tin, pack)] == 2


def test_candidates_missing_from_metadata_or_with_the_same_title_give_no_pair():
    rows = {r["asin"]: r for r in _rows(MAGAZINE)}
    masks = _masks(MAGAZINE)
    span = '<span class="a-size-medium a-color-secondary"'
    # B00005N7NQ's also_buy holds B0058EONOM, whose title is the same span string: no pair
    assert "B0058EONOM" in rows["B00005N7NQ"]["also_buy"] and rows["B0058EONOM"]["title"] == span
    assert not any(span == a == b for a, b in masks)
    # B001GXRQW0 (Gift Cards) views BT00DC6QU4, which has no metadata: no pair with an unknown title
    gift = {r["asin"]: r for r in _rows(GIFT)}
    assert "BT00DC6QU4" in gift["B001GXRQW0"]["also_view"] and "BT00DC6QU4" not in gift
    titles, last = prp.index_titles(GIFT, TaskReport("PRP"))
    assert not [c for pair, _, a, c in prp.produce(GIFT, titles, last) if c == "BT00DC6QU4"]


def test_last_record_of_a_duplicate_asin_wins():
    report = TaskReport("PRP")
    titles, last = prp.index_titles(MAGAZINE, report)
    rows = _rows(MAGAZINE)
    assert len(rows) == 3385 and len(last) == 2320
    assert report.skipped["metadata record replaced by a later record of the same asin"] == 3385 - 2320
    a = rows[-1]["asin"]
    assert last[a] == len(rows) - 1


def test_similar_item_is_split_on_asin_and_sliced():
    assert prp.similar_item_candidates('<td asin"B000000001"></td>asin=B000000002') == [
        "td ", "B000000001", "B000000002"]
    with pytest.raises(AttributeError):
        prp.similar_item_candidates(None)


def test_an_error_in_one_list_drops_that_list_only(tmp_path):
    rows = [
        {"asin": "A", "title": "Alpha", "also_buy": ["B", "C"], "also_view": ["B"], "similar_item": 'asin"C"'},
        {"asin": "B", "title": "Beta", "also_buy": [], "also_view": []},  # no similar_item: KeyError
        {"asin": "C", "also_buy": ["A"], "also_view": ["A"]},  # no title
        {"asin": "D", "title": "Delta", "also_buy": ["A", "A"], "also_view": "A"},  # a string: its characters
    ]
    path = tmp_path / "meta_X.json"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    titles, last = prp.index_titles(path, TaskReport("PRP"))
    got = [(pair, bit) for pair, bit, _, _ in prp.produce(path, titles, last)]
    # A's also_buy hits C (no title): the whole list gives nothing; its also_view gives (Alpha, Beta)
    # D's also_view is the string "A", iterated as its characters, as the release did
    assert got == [(("Alpha", "Beta"), 2), (("Alpha", "Delta"), 1), (("Alpha", "Delta"), 1), (("Alpha", "Delta"), 2)]


def test_rendering_is_the_release_json_with_colon_keys_and_raw_titles():
    assert prp.render("Zeta &quot;Z&quot;", "Caf\u00e9") == '{"Product 1:": "Caf\\u00e9", "Product 2:": "Zeta &quot;Z&quot;"}'
    assert json_text(prp.OPTIONS) == (
        '["A: Users who buy product 1 may also buy product 2.", "B: Users who view product 1 may also view product 2.", '
        '"C: The product 1 is similar with the product 2."]')


def test_category_splits_are_split_811_of_the_kept_pairs_in_production_order(tmp_path):
    cfg = sample_config(tmp_path, sizes="all")
    parts = prp.category_splits(cfg, TaskReport("PRP"), "Gift_Cards", prp.SPLITS)
    masks = _masks(GIFT)
    kept = [(p, prp.LABEL_OF_MASK[m]) for p, m in masks.items() if m in prp.LABEL_OF_MASK]
    for split, want in zip(prp.SPLITS, split_811(kept)):
        assert [(ex.input, ex.output) for ex in parts[split]] == [
            (json_text({"Product 1:": a, "Product 2:": b}), label) for (a, b), label in want]


def test_ind_mix_is_one_py_rng_stream_over_train_then_validation_then_test(tmp_path):
    cfg = sample_config(tmp_path, sizes=5)
    out = prp.build(cfg, TaskReport("PRP"))
    rng = py_rng(1)
    for split in prp.SPLITS:
        pool = [ex for c in ("Gift_Cards", "Magazine_Subscriptions")
                for ex in prp.category_splits(cfg, TaskReport("PRP"), c, prp.SPLITS)[split]]
        assert out[split] == rng.sample(pool, cfg.target(split))
    ood = prp.category_splits(cfg, TaskReport("PRP"), "Tools_and_Home_Improvement", ("test",))["test"]
    assert out["test_ood"] == ood[:5] and len(ood) == 5


def test_too_few_pairs_samples_them_all_and_says_so(tmp_path):
    cfg = BuildConfig(sources=SOURCES, out=tmp_path, categories={"PRP": {"ind": ["Magazine_Subscriptions"], "ood": []}})
    report = TaskReport("PRP")
    out = prp.build(cfg, report)
    assert len(out["train"]) == 21 and len(out["validation"]) == 3
    assert any("random.sample would raise" in d for d in report.release_differences)
    assert any("hash-seeded" in d for d in report.release_differences)
