"""AVE renders, holds out and orders MAVE rows as the release did (RELEASED_FORMAT.md §2).

No raw MAVE exists here: the rows are the FIXTURE files of ``samples/sources/mave/``
(published schema) and small rows written below.
"""

import json
from collections import Counter
from pathlib import Path

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, TaskReport, assign_split
from ecinstruct_builders.release import json_text, np_perm, py_rng
from ecinstruct_builders.tasks import ave

MAVE = Path(__file__).resolve().parents[2] / "samples" / "sources" / "mave"
POS = [json.loads(x) for x in (MAVE / "mave_positives.jsonl").read_text(encoding="utf-8").splitlines()]
NEG = [json.loads(x) for x in (MAVE / "mave_negatives.jsonl").read_text(encoding="utf-8").splitlines()]


def _row(pid: str) -> dict:
    return next(r for r in POS + NEG if r["id"] == pid)


def test_input_groups_paragraphs_by_source_and_joins_targets_with_and():
    assert ave.render_input(_row("FXP0000003")) == (
        '{"product title": "Corvale Sleeveless Dress for Everyday Use", "product description": "This dress is made '
        'for daily use and easy care. It comes in a crew neck version that suits most occasions.", "product feature": '
        '"Casual design, Easy to clean, Backed by the Corvale one year warranty", "product brand": "Corvale", '
        '"target attributes": "Specialty Style and Neckline"}')
    assert ave.render_input(_row("FXN0000000")) == (
        '{"product title": "Northfield Classic Backpack", "product description": "A simple backpack from Northfield, '
        'packed with care and shipped in a gift box.", "product feature": "Easy to clean, Gift box included", '
        '"product brand": "Northfield", "target attributes": "Closure Type and Material"}')


def test_output_triples_are_lower_cased_with_none_for_negatives():
    assert json_text(ave.gold_triples(_row("FXP0000003"))) == (
        '[{"attribute": "specialty style", "value": "casual", "source": "product feature"}, '
        '{"attribute": "neckline", "value": "crew neck", "source": "product description"}]')
    assert json_text(ave.gold_triples(_row("FXN0000000"))) == (
        '[{"attribute": "closure type", "value": "None", "source": "None"}, '
        '{"attribute": "material", "value": "None", "source": "None"}]')


def test_duplicate_triples_collapse_sources_keep_order_of_first_appearance_and_text_is_raw():
    row = {"id": "X", "paragraphs": [{"text": "Caf\u00e9 <b>Mug</b>", "source": "title"},
                                     {"text": "Blue", "source": "Feature"}, {"text": "BLUE", "source": "Feature"}],
           "attributes": [{"key": "Color", "evidences": [{"value": "Blue", "pid": 1}, {"value": "BLUE", "pid": 2}]},
                          {"key": "Color", "evidences": []}]}
    assert ave.gold_triples(row) == [{"attribute": "color", "value": "blue", "source": "product feature"},
                                     {"attribute": "color", "value": "None", "source": "None"}]
    assert ave.render_input(row) == ('{"product title": "Caf\\u00e9 <b>Mug</b>", "product Feature": "Blue, BLUE", '
                                     '"target attributes": "Color and Color"}')


def test_holdout_replays_the_release_procedure():
    keys = ["Color", "Size", "Color", "Material", "Gauge", "Size", "Shape"]
    order = list(dict.fromkeys(keys))
    rng = py_rng(1)
    rng.shuffle(order)
    rng.shuffle(order)
    counts = Counter(keys)
    want, n = [], 0
    for k in order:
        if n >= 3:
            break
        want.append(k)
        n += counts[k]
    assert ave.holdout(keys, counts, 3) == want
    assert sum(counts[k] for k in want[:-1]) < 3 <= sum(counts[k] for k in want)


def _split_layout(tmp_path: Path) -> Path:
    """The release's PRODUCT split layout, made of the fixture rows (one tenth each for val and test)."""
    root = tmp_path / "src"
    parts = {"train": (POS[:700], NEG[:240]), "val": (POS[700:800], NEG[240:270]), "test": (POS[800:], NEG[270:])}
    for split, (pos, neg) in parts.items():
        folder = root / "mave" / "splits" / "PRODUCT" / split / "00_All"
        folder.mkdir(parents=True)
        for name, rows in (("mave_positives.jsonl", pos), ("mave_negatives.jsonl", neg)):
            (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def test_split_layout_ind_and_ood_order(tmp_path):
    root = _split_layout(tmp_path)
    report = TaskReport("AVE")
    cfg = BuildConfig(sources=root, out=tmp_path, sizes="all", options={"AVE": {"ood_test_rows": 40}})
    splits = ave.build(cfg, report)
    test_rows = POS[800:] + NEG[270:]
    counts = Counter(r["attributes"][0]["key"] for r in test_rows)
    held = ave.holdout([r["attributes"][0]["key"] for r in test_rows], counts, 40)
    assert report.extra["ood_attributes"] == held
    for split, rows in (("train", POS[:700] + NEG[:240]), ("validation", POS[700:800] + NEG[240:270]),
                        ("test", test_rows)):
        ind = [r for r in rows if r["attributes"][0]["key"] not in held]
        assert [e.source_ids[0] for e in splits[split]] == [ind[i]["id"] for i in np_perm(1, len(ind))]
    ood = [r for k in held for r in test_rows if r["attributes"][0]["key"] == k]
    assert [e.source_ids[0] for e in splits["test_ood"]] == [ood[i]["id"] for i in np_perm(1, len(ood))]
    ex = splits["test_ood"][0]
    row = _row(ex.source_ids[0])
    assert ex.input == ave.render_input(row) and ex.output == json_text(ex.attributes)
    assert ex.attributes == ave.gold_triples(row) and ex.category == row["category"] and ex.options == []
    assert set(report.rows_read) == {f"splits/PRODUCT/{s}/00_All/{n}" for s in ("train", "val", "test")
                                     for n in ("mave_positives.jsonl", "mave_negatives.jsonl")}
    assert not any("split folders" in d for d in report.release_differences)
    used = sum(len(v) for v in splits.values())
    assert 1200 == used + sum(report.skipped.values()) + sum(report.dropped.values())


def test_walk_stops_at_size(tmp_path):
    root = _split_layout(tmp_path)
    full = ave.build(BuildConfig(sources=root, out=tmp_path, sizes="all", options={"AVE": {"ood_test_rows": 40}}),
                     TaskReport("AVE"))
    report = TaskReport("AVE")
    small = ave.build(BuildConfig(sources=root, out=tmp_path, sizes=5, options={"AVE": {"ood_test_rows": 40}}),
                      report)
    for split in ("train", "validation", "test", "test_ood"):
        assert small[split] == full[split][:len(small[split])]
        assert len(small[split]) == (50 if split == "train" else 5)
    assert report.skipped[NOT_SAMPLED] > 0
    assert 1200 == sum(len(v) for v in small.values()) + sum(report.skipped.values())


def test_flat_files_are_split_by_product_and_the_fallback_is_reported(tmp_path):
    report = TaskReport("AVE")
    cfg = BuildConfig(sources=MAVE.parent, out=tmp_path, sizes="all", options={"AVE": {"ood_test_rows": 30}})
    splits = ave.build(cfg, report)
    for split, exs in splits.items():
        for ex in exs:
            assert assign_split(1, "AVE", ex.source_ids[0]) == ("test" if split == "test_ood" else split)
    test_rows = [r for r in POS + NEG if assign_split(1, "AVE", r["id"]) == "test"]
    held = report.extra["ood_attributes"]
    assert held == ave.holdout([r["attributes"][0]["key"] for r in test_rows],
                               Counter(r["attributes"][0]["key"] for r in test_rows), 30)
    assert any("8:1:1" in d for d in report.release_differences)
    assert any("order of first appearance" in d for d in report.release_differences)
