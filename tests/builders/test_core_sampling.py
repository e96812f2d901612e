"""ecinstruct_builders.core: hashing, splitting, sampling, overlap removal, atomic writes, configs."""

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import (
    BottomK,
    BuildConfig,
    Example,
    MissingSourceError,
    TaskReport,
    assign_split,
    finalize,
    find_source,
    interleave,
    iter_json_lines,
    remove_overlap,
    stable_hash,
    write_jsonl_atomic,
)


def test_stable_hash_is_fixed_across_processes():
    # A literal value: Python's salted hash() would change between runs, this must not.
    assert stable_hash(1, "SA", "x") == stable_hash(1, "SA", "x")
    assert stable_hash(1, "SA", "x") != stable_hash(2, "SA", "x")
    assert stable_hash("a") == 0x40F89E395B66422F  # blake2b-64 of b"a": the same on every machine


def test_assign_split_follows_8_1_1():
    counts = {"train": 0, "validation": 0, "test": 0}
    for i in range(20_000):
        counts[assign_split(1, "T", i)] += 1
    assert 0.78 < counts["train"] / 20_000 < 0.82
    assert 0.09 < counts["validation"] / 20_000 < 0.11
    assert 0.09 < counts["test"] / 20_000 < 0.11


def test_bottom_k_is_order_independent_bounded_and_dedups():
    words = [f"w{i}" for i in range(500)] * 2
    a, b = BottomK(50), BottomK(50)
    for w in words:
        a.offer(stable_hash("t", w), w)
    for w in reversed(words):
        b.offer(stable_hash("t", w), w)
    assert a.items() == b.items()
    assert len(a) == 50 and len(set(a.items())) == 50
    everything = BottomK(None)
    for w in words:
        everything.offer(stable_hash("t", w), w)
    assert len(everything) == 500
    # The kept keys are the 50 smallest.
    assert sorted(a.items(), key=lambda w: stable_hash("t", w)) == sorted(
        set(words), key=lambda w: stable_hash("t", w))[:50]


def test_interleave_combines_one_to_one_and_fills_from_others():
    assert interleave([[1, 2, 3], [4, 5, 6], [7, 8, 9]], 6) == [1, 4, 7, 2, 5, 8]
    assert interleave([[1], [2, 3, 4]], 3) == [1, 2, 3]
    assert interleave([[1], [2, 3, 4]], None) == [1, 2, 3, 4]
    assert interleave([], 5) == []


def _ex(text, options=()):
    return Example(input=text, output="A", options=list(options))


def test_remove_overlap_drops_eval_samples_seen_in_training():
    report = TaskReport("X")
    splits = {
        "train": [_ex("same text"), _ex("only train"), _ex("only  train")],
        "test": [_ex("Same   TEXT"), _ex("fresh")],
        "test_ood": [_ex("same text", ["A: x"]), _ex("fresh")],
    }
    out = remove_overlap(splits, report)
    assert [e.input for e in out["train"]] == ["same text", "only train"]
    assert [e.input for e in out["test"]] == ["fresh"]
    # Different options make a different sample.
    assert [e.input for e in out["test_ood"]] == ["same text", "fresh"]
    assert report.dropped == {"duplicate within train": 1, "test overlaps train": 1}


def test_finalize_keeps_unseen_instruction_out_of_training():
    from ecinstruct_builders.instructions import INSTRUCTIONS

    ex = {s: [_ex(f"{s} {i}") for i in range(30)] for s in ("train", "validation", "test", "test_ood")}
    recs = finalize("SA", ex, seed=1)
    unseen = INSTRUCTIONS["SA"].unseen
    for split in ("train", "validation", "test", "test_ood"):
        assert all(r["instruction"] != unseen and r["instruction_kind"] != "unseen" for r in recs[split])
    for split in ("test_unseen", "test_ood_unseen"):
        assert all(r["instruction"] == unseen and r["instruction_kind"] == "unseen" for r in recs[split])
    train_ids = {r["id"] for r in recs["train"]}
    assert all(r["few_shot_id"] in train_ids for s in recs for r in recs[s])


def test_write_jsonl_atomic_leaves_no_partial_file(tmp_path):
    path = tmp_path / "x" / "train.jsonl"
    recs = finalize("SA", {"train": [_ex("a"), _ex("b")]}, seed=1)["train"]
    assert write_jsonl_atomic(path, recs) == 2
    before = path.read_bytes()

    def broken():
        yield recs[0]
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, broken())
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["train.jsonl"]


def test_iter_json_lines_counts_malformed_lines(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"a": 1}\n{bad json\n\n{"a": 2}\n[1, 2\n', encoding="utf-8")
    report = TaskReport("X")
    rows = [obj for _, obj in iter_json_lines(path, report)]
    assert rows == [{"a": 1}, {"a": 2}]
    assert report.dropped == {"f.jsonl: malformed line": 2}
    assert report.rows_read == {"f.jsonl": 4}  # the malformed lines were read too (blank ones are not rows)


def test_find_source_finds_nested_and_compressed_files(tmp_path):
    nested = tmp_path / "amazon_review_2018" / "meta" / "x"
    nested.mkdir(parents=True)
    (nested / "meta_Tools.json.gz").write_bytes(b"")
    found = find_source(tmp_path, "amazon_review_2018", ["meta_Tools.json"])
    assert found == nested / "meta_Tools.json.gz"


def test_find_source_error_names_expected_path_and_download(tmp_path):
    with pytest.raises(MissingSourceError) as err:
        find_source(tmp_path, "amazon_review_2018", ["meta_Electronics.json.gz"], task="PRP")
    msg = str(err.value)
    assert str(tmp_path / "amazon_review_2018" / "meta_Electronics.json.gz") in msg
    assert "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2/metaFiles2/meta_Electronics.json.gz" in msg
    assert find_source(tmp_path, "mave", ["mave_positives.jsonl"], required=False) is None


def test_build_config_sizes_and_file(tmp_path):
    assert BuildConfig(sources="s", out="o").size("train") == 10_000
    assert BuildConfig(sources="s", out="o", sizes="7").size("train") == 70
    assert BuildConfig(sources="s", out="o", sizes="all").size("test") is None
    with pytest.raises(ValueError):
        BuildConfig(sources="s", out="o", sizes="lots")
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"seed": 3, "sources": "src", "categories": {"sa": {"ind": ["A"], "ood": []}}}))
    cfg = BuildConfig.from_file(conf, out=tmp_path / "o")
    assert cfg.seed == 3 and cfg.sources == (tmp_path / "src").resolve()
    assert cfg.categories_for("SA", ind=["X"], ood=["Y"]) == (["A"], [])
    cfg.categories["SA"] = {"ind": ["Gift_Cards", "Toys"], "ood": ["Gift_Cards"]}
    with pytest.raises(ValueError, match=r"SA: categories \['Gift_Cards'\] are both IND and OOD"):
        cfg.categories_for("SA", ind=["X"], ood=["Y"])
    cfg.categories["SR"] = {"ood": ["Electronics"]}  # a configured OOD list against the default IND one
    with pytest.raises(ValueError, match=r"SR: categories \['Electronics'\]"):
        cfg.categories_for("SR", ind=["Electronics", "Home_and_Kitchen"], ood=["Tools"])
    conf.write_text(json.dumps({"seeds": 3}))
    with pytest.raises(ValueError, match="unknown key"):
        BuildConfig.from_file(conf, sources=Path("s"), out=Path("o"))


def test_one_shot_of_test_item_i_is_train_item_i():
    ex = {s: [_ex(f"{s} {i}") for i in range(n)] for s, n in (("train", 5), ("test", 7), ("test_ood", 3))}
    recs = finalize("SA", ex, seed=1)
    for split in ("test", "test_ood", "test_unseen", "test_ood_unseen"):
        assert [r["few_shot_id"] for r in recs[split]] == [f"SA-train-{i % 5:05d}" for i in range(len(recs[split]))]
    # A training item never shows itself as its example.
    assert [r["few_shot_id"] for r in recs["train"]] == [f"SA-train-{(i + 1) % 5:05d}" for i in range(5)]


def test_seed_defaults_to_the_papers_1(tmp_path):
    assert BuildConfig(sources="s", out="o").seed == 1
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"sizes": 5}))
    assert BuildConfig.from_file(conf, sources="s", out="o").seed == 1
    assert BuildConfig.from_file(conf, sources="s", out="o", seed=None).seed == 1


def test_peak_memory_can_be_restarted_per_task():
    from ecinstruct_builders.core import peak_rss_mb, reset_peak_rss

    block = bytearray(80 * 2**20)
    block[:: 4096] = b"x" * len(block[:: 4096])  # touch every page
    high = peak_rss_mb()
    del block
    if not reset_peak_rss():
        pytest.skip("no /proc/self/clear_refs here")
    assert peak_rss_mb() < high - 40
