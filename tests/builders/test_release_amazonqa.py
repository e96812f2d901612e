"""AP and AG render and select real AmazonQA rows exactly as the release did (RELEASED_FORMAT.md §8-§9).

The rows are the real 200 of ``samples/sources/amazonqa/qar.jsonl``, laid out
under the published file names in a temporary folder so that the release's
one-file-per-split procedure applies unchanged.
"""

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, TaskReport
from ecinstruct_builders.readers import amazonqa
from ecinstruct_builders.release import np_perm
from ecinstruct_builders.tasks import _amazonqa, ag, ap

QAR = Path(__file__).resolve().parents[2] / "samples" / "sources" / "amazonqa" / "qar.jsonl"
LINES = QAR.read_text(encoding="utf-8").splitlines()
ROWS = [json.loads(line) for line in LINES]
AP_IND = ("Sports_and_Outdoors", "Tools_and_Home_Improvement")
AG_IND = ("Electronics", "Home_and_Kitchen")


def _layout(tmp_path: Path, files: dict[str, list[str]]) -> Path:
    root = tmp_path / "src"
    (root / "amazonqa").mkdir(parents=True)
    for name, lines in files.items():
        (root / "amazonqa" / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return root


def _row(qid: int) -> dict:
    return next(r for r in ROWS if r["qid"] == qid)


def _record(qid: int) -> amazonqa.QARecord:
    return amazonqa.parse(_row(qid))


def test_input_is_the_json_text_of_question_and_review_snippets():
    rec = _record(138428)
    assert _amazonqa.render_input(rec.question, rec.reviews) == (
        '{"question": "is this the 2013 model? suitable for 8 yr old in hilly terrain family rides in Colorado? '
        'thanks, bobbi", "document": ["Just got it, finally! Eh so far it\'s not necisserily what I was expecting, '
        "but it'll do I suppose. It's a tad but heavier than I was hoping/expecting. The description says it comes "
        'with a pack of &#34;Frame Forged&#34; sticks which it does not. My bike specifically only came with one air '
        "cap(front tire) and the breaks aren't as snappy as I wanted.\", \"I didn't get this bike long ago, and so "
        "far it's met many challenges, it holds up really well and it was cheep! That makes it even better.\", "
        '"Great bike for price son loves it easy to put together out of box awesome thank you from me and my son", '
        '"Good luck!"]}')
    # quotes are JSON-escaped, double spaces and HTML entities are kept as they are
    rec = _record(450607)
    assert _amazonqa.render_input(rec.question, rec.reviews).startswith(
        '{"question": "Which cover is made for the 15\\" x 24\\".  It is not apparent.", "document": '
        '["This is a high quality, thick cover for the hydrocallator.')


def test_non_ascii_is_escaped_as_json_dumps_does():
    assert _amazonqa.render_input("caf\u00e9?", ["\U0001f600 ok"]) == \
        '{"question": "caf\\u00e9?", "document": ["\\ud83d\\ude00 ok"]}'


@pytest.mark.parametrize(("qid", "index"), [(660150, 0), (353606, 1), (679694, 2), (38566, 0), (141816, None),
                                            (450607, None)])
def test_answer_choice_on_real_rows(qid, index):
    # 353606: [[1,1],[2,2],[2,2]] -> the first 2; 679694: [[1,1],[1,1],[2,2],...] -> the 2;
    # 38566: [[1,1],[0,0],[0,0],[0,1]]; 141816 and 450607: no vote at all -> row skipped
    assert ag.best_answer(_record(qid).answers) == index


def test_answer_choice_passes_over_answers_without_votes():
    A = amazonqa.Answer
    assert ag.best_answer((A("a", 0, 0), A("b", 3, 0), A("c", 1, 2))) == 2  # helpful[1] == 0 is skipped
    assert ag.best_answer(()) is None


def test_ap_fallback_keeps_the_unsampled_category_order(tmp_path):
    root = _layout(tmp_path, {"test-qar.jsonl": LINES})
    report = TaskReport("AP")
    splits = ap.build(BuildConfig(sources=root, out=tmp_path), report)
    expected = [r for cat in AP_IND for r in ROWS if r["category"] == cat]
    assert len(expected) == 14
    assert [ex.source_ids[0] for ex in splits["test"]] == [str(r["qid"]) for r in expected]
    assert [ex.output for ex in splits["test"]] == ["yes" if r["is_answerable"] else "no" for r in expected]
    assert splits["test"][0].input == _amazonqa.render_input(expected[0]["questionText"],
                                                             expected[0]["review_snippets"])
    assert splits["train"] == splits["validation"] == []
    assert [ex.category for ex in splits["test_ood"]] == ["Cell_Phones_and_Accessories"] * 3
    assert report.release_differences == []
    assert sum(report.rows_read.values()) == 200 == len(splits["test"]) + len(splits["test_ood"]) + \
        sum(report.skipped.values()) + sum(report.dropped.values())


def test_ap_samples_n_rows_with_pandas_order_when_there_are_enough(tmp_path):
    root = _layout(tmp_path, {"test-qar.jsonl": LINES})
    splits = ap.build(BuildConfig(sources=root, out=tmp_path, sizes=5), TaskReport("AP"))
    concat = [r for cat in AP_IND for r in ROWS if r["category"] == cat]
    picked = [concat[i] for i in np_perm(1, len(concat))[:5]]
    assert [ex.source_ids[0] for ex in splits["test"]] == [str(r["qid"]) for r in picked]
    # exactly `size` rows: pandas samples (and so reorders) them
    splits = ap.build(BuildConfig(sources=root, out=tmp_path, sizes=14), TaskReport("AP"))
    assert [ex.source_ids[0] for ex in splits["test"]] == [str(concat[i]["qid"]) for i in np_perm(1, 14)]


def test_ag_filters_shuffles_and_walks_to_size(tmp_path):
    root = _layout(tmp_path, {"test-qar.jsonl": LINES})
    report = TaskReport("AG")
    splits = ag.build(BuildConfig(sources=root, out=tmp_path), report)
    kept = [r for cat in AG_IND for r in ROWS
            if r["category"] == cat and r["questionType"] == "descriptive" and r["is_answerable"]]
    walked = [kept[i] for i in np_perm(1, len(kept))]
    chosen = [(r, ag.best_answer(amazonqa.parse(r).answers)) for r in walked]
    chosen = [(r, i) for r, i in chosen if i is not None]
    assert len(kept) == 55 and len(chosen) == 30
    assert [ex.source_ids[0] for ex in splits["test"]] == [str(r["qid"]) for r, _ in chosen]
    assert [ex.output for ex in splits["test"]] == [r["answers"][i]["answerText"] for r, i in chosen]
    assert report.dropped[ag.NO_VOTES] == 25
    # stop at size: the first 4 usable rows of the same walk, the rest not sampled
    small = TaskReport("AG")
    splits = ag.build(BuildConfig(sources=root, out=tmp_path, sizes=4), small)
    assert [ex.source_ids[0] for ex in splits["test"]] == [str(r["qid"]) for r, _ in chosen[:4]]
    assert small.skipped[NOT_SAMPLED] > 0
    assert sum(small.rows_read.values()) == 4 + sum(small.skipped.values()) + sum(small.dropped.values())


def test_published_files_give_the_splits_and_ood_comes_from_the_test_file_only(tmp_path):
    root = _layout(tmp_path, {"train-qar.jsonl": LINES[:120], "val-qar.jsonl": LINES[120:160],
                              "test-qar.jsonl": LINES[160:]})
    report = TaskReport("AP")
    splits = ap.build(BuildConfig(sources=root, out=tmp_path), report)
    for split, part in (("train", ROWS[:120]), ("validation", ROWS[120:160]), ("test", ROWS[160:])):
        want = [str(r["qid"]) for cat in AP_IND for r in part if r["category"] == cat]
        assert [ex.source_ids[0] for ex in splits[split]] == want
    ood = [str(r["qid"]) for r in ROWS[160:] if r["category"] == "Cell_Phones_and_Accessories"]
    assert [ex.source_ids[0] for ex in splits["test_ood"]] == ood
    outside = sum(r["category"] == "Cell_Phones_and_Accessories" for r in ROWS[:160])
    assert report.skipped.get(_amazonqa.OOD_UNUSED, 0) == outside
    assert report.release_differences == []


def test_files_without_a_split_prefix_are_split_by_product_and_reported(tmp_path):
    root = _layout(tmp_path, {"qar.jsonl": LINES})
    report = TaskReport("AP")
    splits = ap.build(BuildConfig(sources=root, out=tmp_path), report)
    for split in ("train", "validation", "test"):
        want = [str(r["qid"]) for cat in AP_IND for r in ROWS
                if r["category"] == cat and _amazonqa.unsplit_split(r["asin"], 1) == split]
        assert [ex.source_ids[0] for ex in splits[split]] == want
    assert len(splits["test_ood"]) == 3  # every OOD row of an unsplit file
    assert any("without a train-/val-/test- prefix" in d for d in report.release_differences)


def test_no_test_file_carves_a_ninth_of_training_products(tmp_path):
    root = _layout(tmp_path, {"train-qar.jsonl": LINES[:170], "val-qar.jsonl": LINES[170:]})
    cats = {"AP": {"ind": ["Electronics", "Home_and_Kitchen", "Toys_and_Games"], "ood": []}}
    report = TaskReport("AP")
    splits = ap.build(BuildConfig(sources=root, out=tmp_path, categories=cats), report)
    assert splits["train"] and splits["validation"] and splits["test"] and "test_ood" not in splits
    asins = {s: {e.source_ids[1] for e in exs} for s, exs in splits.items()}
    assert not asins["train"] & asins["test"]
    assert {int(e.source_ids[0]) for e in splits["validation"]} <= {r["qid"] for r in ROWS[170:]}
    assert any("no test-qar.jsonl" in d for d in report.release_differences)
