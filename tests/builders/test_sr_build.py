"""SR follows Appendix A.2.2: 5-core, chronological, leave-one-out targets, 20 options with the target once."""

import gzip
import json
import re
from collections import Counter, defaultdict

import numpy as np
from _review_samples import SOURCES, records, report

from builders.core import BuildConfig, read_jsonl
from builders.pipeline import build
from builders.readers.amazon_review_2018 import iter_reviews
from builders.tasks.sr import five_core, item_text, ordinal

LETTERS = "ABCDEFGHIJKLMNOPQRST"
SPLITS = ("train", "validation", "test", "test_ood")


def _history(r):
    return [re.sub(r"^\d+(st|nd|rd|th): ", "", line) for line in r["input"].split("\n")]


def _option_texts(r):
    return [o[3:] for o in r["options"]]


def test_twenty_options_target_exactly_once():
    for split in SPLITS + ("test_unseen", "test_ood_unseen"):
        for r in records("SR", split):
            assert [o[:3] for o in r["options"]] == [f"{c}: " for c in LETTERS]
            texts = _option_texts(r)
            assert len(set(texts)) == 20
            assert r["output"] in LETTERS
            target = texts[LETTERS.index(r["output"])]
            assert texts.count(target) == 1


def _fixture_sequences():
    """Independent reference: iterative 5-core with Counters, then chronological order."""
    rows = [(r.user, r.item, r.time) for r in
            iter_reviews(SOURCES / "amazon_review_2018/fixtures/Tools_and_Home_Improvement_5.json.gz")]
    while True:
        uc, ic = Counter(u for u, _, _ in rows), Counter(i for _, i, _ in rows)
        kept = [x for x in rows if uc[x[0]] >= 5 and ic[x[1]] >= 5]
        if len(kept) == len(rows):
            break
        rows = kept
    seqs = defaultdict(list)
    for u, i, _t in sorted(rows, key=lambda x: (x[0], x[2])):
        seqs[u].append(i)
    return {u: s[:50] for u, s in seqs.items()}


def test_ood_targets_are_last_items_with_chronological_history():
    seqs = _fixture_sequences()
    recs = records("SR", "test_ood")
    assert len(recs) == len(seqs)
    texts = {}
    for r in recs:
        user, target = r["source_ids"]
        assert target == seqs[user][-1]
        assert len(_history(r)) == len(seqs[user]) - 1
        texts[target] = _option_texts(r)[LETTERS.index(r["output"])]
    for r in recs:
        user, _ = r["source_ids"]
        for line_item, asin in zip(_history(r), seqs[user][:-1]):
            if asin in texts:
                assert line_item == texts[asin]


def test_leave_one_out_positions_agree_across_splits():
    by_split = {s: {r["source_ids"][0]: r for r in records("SR", s)} for s in ("train", "validation", "test")}
    common = set(by_split["train"]) & set(by_split["validation"]) & set(by_split["test"])
    assert common
    for user in common:
        tr, va, te = (by_split[s][user] for s in ("train", "validation", "test"))
        h_te, h_va, h_tr = _history(te), _history(va), _history(tr)
        tgt = {s: _option_texts(r)[LETTERS.index(r["output"])] for s, r in (("tr", tr), ("va", va), ("te", te))}
        assert h_te[-1] == tgt["va"] and h_te[-2] == tgt["tr"]
        assert h_va == h_te[:-1] and h_tr == h_te[:-2]


def test_negatives_avoid_the_users_last_three_items():
    for r in records("SR", "test"):
        history = _history(r)
        target = _option_texts(r)[LETTERS.index(r["output"])]
        last_three = set(history[-2:]) | {target}
        negatives = [t for k, t in enumerate(_option_texts(r)) if LETTERS[k] != r["output"]]
        assert not last_three & set(negatives)


def test_item_text_cut_to_25_words_and_2014_fills_gaps():
    for split in ("train", "test_ood"):
        for r in records("SR", split):
            for t in _history(r) + _option_texts(r):
                words = t.split()
                assert len(words) <= 25
                assert t.endswith(".") or t.endswith("...")
    rep = report("SR")
    assert rep["extra"]["items_filled_from_2014"]["Tools_and_Home_Improvement"] > 0
    # Fixture item FXT0000003 has no 2018 title: its text comes from the 2014 metadata.
    texts = {t for r in records("SR", "test_ood") for t in _option_texts(r)}
    assert any(t.startswith("Baylock Screwdriver Set Model 103.") for t in texts)


def test_item_text_format_matches_paper_example():
    assert item_text("M-Edge Latitude Kindle Jacket, Pink (Fits Kindle Keyboard)",
                     ["Electronics", "Computers &amp; Accessories", "Cases"], "M-Edge") == (
        "M-Edge Latitude Kindle Jacket, Pink (Fits Kindle Keyboard). Electronics. Computers & Accessories. M-Edge.")
    long = item_text(" ".join(f"w{i}" for i in range(40)), ["Electronics"], "B")
    assert long.endswith("...") and len(long.split()) == 25
    assert [ordinal(i) for i in (1, 2, 3, 4, 11, 21, 50)] == ["1st", "2nd", "3rd", "4th", "11th", "21st", "50th"]


def test_five_core_is_iterative():
    # Users 0-5 each rate items 1-5; users 0-3 and user 6 also rate item 9 (5 users), user 6 rates item 1.
    # Round 1 drops user 6 (2 interactions); only then does item 9 fall to 4 users and go in round 2.
    pairs = [(u, i) for u in range(6) for i in range(1, 6)] + [(u, 9) for u in range(4)] + [(6, 9), (6, 1)]
    users, items = (np.array(x) for x in zip(*pairs))
    keep = five_core(users, items, 5)
    assert sorted(zip(users[keep].tolist(), items[keep].tolist())) == [(u, i) for u in range(6) for i in range(1, 6)]


def test_ood_category_only_in_ood_splits_and_items_never_cross_domains():
    ind = {"Gift_Cards", "Magazine_Subscriptions"}
    for split in ("train", "validation", "test", "test_unseen"):
        assert {r["category"] for r in records("SR", split)} <= ind
    ood = records("SR", "test_ood") + records("SR", "test_ood_unseen")
    assert ood and {r["category"] for r in ood} == {"Tools_and_Home_Improvement"}
    ind_items = {t for s in ("train", "validation", "test") for r in records("SR", s) for t in _option_texts(r)}
    assert not ind_items & {t for r in ood for t in _option_texts(r)}


def test_negatives_never_repeat_the_text_of_the_last_three_items(tmp_path):
    # Every user rates the 24 items in this order; TWIN is another ASIN with the text of Z, the
    # second last item (train's next item after its target Y, test's last history line).
    order = [f"F{i:02d}" for i in range(20)] + ["TWIN", "Y", "Z", "W"]
    title = {a: f"Gadget number {a}" for a in order} | {"TWIN": "Gadget number Z"}
    src = tmp_path / "src" / "amazon_review_2018"
    src.mkdir(parents=True)
    with gzip.open(src / "meta_Tiny.json.gz", "wt") as f:
        for a in order:
            f.write(json.dumps({"asin": a, "title": title[a], "category": ["Tiny", "Gadgets"], "brand": "Acme"}) + "\n")
    with gzip.open(src / "Tiny_5.json.gz", "wt") as f:
        for u in range(6):
            for t, a in enumerate(order):
                f.write(json.dumps({"reviewerID": f"U{u}", "asin": a, "overall": 5.0, "unixReviewTime": 1000 + t}) + "\n")
    cfg = BuildConfig(sources=tmp_path / "src", out=tmp_path / "out", sizes="all",
                      categories={"SR": {"ind": ["Tiny"], "ood": []}})
    build(cfg, ["SR"], log=lambda _m: None)
    last_three = {"Gadget number Y. Tiny. Gadgets. Acme.", "Gadget number Z. Tiny. Gadgets. Acme.",
                  "Gadget number W. Tiny. Gadgets. Acme."}
    for split in ("train", "validation", "test"):
        recs = read_jsonl(tmp_path / "out" / "SR" / f"{split}.jsonl")
        assert len(recs) == 6, split
        for r in recs:
            texts = _option_texts(r)
            assert texts[LETTERS.index(r["output"])] in last_three
            negatives = [t for k, t in enumerate(texts) if LETTERS[k] != r["output"]]
            assert len(negatives) == 19 and not last_three & set(negatives), split


def test_every_interaction_read_is_in_a_sequence_or_counted():
    tallies = report("SR")["extra"]["interactions"]
    assert tallies and any(t["in user sequences"] > 0 for t in tallies.values())
    for category, t in tallies.items():
        parts = {k: v for k, v in t.items() if k != "read"}
        assert t["read"] == sum(parts.values()), (category, t)
    files = {f: n for f, n in report("SR")["rows_read"].items() if not f.startswith("meta_")}
    malformed = sum(n for reason, n in report("SR")["dropped"].items() if "malformed" in reason or "line" in reason)
    assert sum(files.values()) == sum(t["read"] for t in tallies.values()) + malformed


def test_history_beyond_the_cap_is_counted_not_lost(tmp_path):
    # 6 users x 24 items, history capped at 10: 14 interactions of each user are past the cap.
    order = [f"F{i:02d}" for i in range(24)]
    src = tmp_path / "src" / "amazon_review_2018"
    src.mkdir(parents=True)
    with gzip.open(src / "meta_Tiny.json.gz", "wt") as f:
        for a in order:
            f.write(json.dumps({"asin": a, "title": f"Gadget {a}", "category": ["Tiny", "Gadgets"]}) + "\n")
    with gzip.open(src / "Tiny_5.json.gz", "wt") as f:
        for u in range(6):
            for t, a in enumerate(order):
                f.write(json.dumps({"reviewerID": f"U{u}", "asin": a, "overall": 5.0, "unixReviewTime": 1000 + t}) + "\n")
    cfg = BuildConfig(sources=tmp_path / "src", out=tmp_path / "out", sizes="all",
                      categories={"SR": {"ind": ["Tiny"], "ood": []}}, options={"SR": {"max_history": 10}})
    build(cfg, ["SR"], log=lambda _m: None)
    rep = json.loads((tmp_path / "out" / "build_report.json").read_text())["tasks"]["SR"]
    tally = rep["extra"]["interactions"]["Tiny"]
    assert tally["read"] == 144 and tally["in user sequences"] == 60
    assert tally["beyond a user's first 10"] == 84 == rep["skipped"]["interaction beyond a user's first 10"]
    test = read_jsonl(tmp_path / "out" / "SR" / "test.jsonl")
    assert all(r["input"].count("\n") == 8 for r in test)  # 9 history items before the 10th, the target
