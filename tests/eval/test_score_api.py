"""score(): inputs, alignment, ScoreResult, recompute, data loading and the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

import ecinstruct_eval
from ecinstruct_eval import TASKS, ScoreResult, load_split, score
from ecinstruct_eval.cli import main
from ecinstruct_eval.data import DataNotFoundError, read_predictions

REFS = [{"id": f"SA-test-{i:05d}", "task": "SA", "split": "test", "output": g,
         "options": ["A: very positive", "B: positive", "C: neutral", "D: negative",
                     "E: very negative"]}
        for i, g in enumerate("ABCDEA")]
OUTS = ["A", "positive", "The answer is (C).", "D", "", "B"]


def test_public_api_exports():
    for name in ("score", "parse", "ScoreResult", "TASKS", "load_split", "__version__", "get_task"):
        assert hasattr(ecinstruct_eval, name)
    assert len(TASKS) == 10


def test_positional_sequence():
    r = score(OUTS, "SA", REFS)
    assert isinstance(r, ScoreResult)
    assert (r.n, r.n_failed, r.n_correct) == (6, 1, 4)
    assert r.primary == "macro_f1" and r[r.primary] == pytest.approx(r["macro_f1"])
    assert set(r) == {"accuracy", "macro_precision", "macro_recall", "macro_f1"}
    assert r["accuracy"] == pytest.approx(4 / 6)
    item = r.per_item[4]
    assert item.id == "SA-test-00004" and item.failed and item.parsed is None
    assert r.per_item[1].parsed == "B" and r.per_item[1].correct


def test_result_is_read_only():
    r = score(OUTS, "SA", REFS)
    with pytest.raises(TypeError):
        r["accuracy"] = 1.0
    with pytest.raises(TypeError):
        r.settings["compat"] = "x"
    with pytest.raises(ValueError):
        r.columns["failed"][0] = True


def test_alignment_by_id_in_any_order_mapping_series_and_records():
    shuffled = {REFS[i]["id"]: OUTS[i] for i in (5, 3, 1, 0, 2, 4)}
    base = dict(score(OUTS, "SA", REFS))
    assert dict(score(shuffled, "SA", REFS)) == base
    assert dict(score(pd.Series(shuffled), "SA", REFS)) == base
    assert dict(score(pd.Series(OUTS), "SA", REFS)) == base
    records = [{"id": k, "prediction": v} for k, v in shuffled.items()]
    assert dict(score(records, "SA", REFS)) == base
    assert dict(score(shuffled, "SA", pd.DataFrame(REFS))) == base


def test_missing_extra_and_duplicate_ids_are_named():
    preds = {r["id"]: "A" for r in REFS[:-1]}
    preds["SA-test-99999"] = "A"
    with pytest.raises(ValueError, match=r"SA-test-00005.*SA-test-99999"):
        score(preds, "SA", REFS)
    dup = [{"id": r["id"], "prediction": "A"} for r in REFS] + [{"id": REFS[0]["id"],
                                                                  "prediction": "B"}]
    with pytest.raises(ValueError, match="duplicate prediction ids: 'SA-test-00000'"):
        score(dup, "SA", REFS)


def test_length_mismatch_without_ids():
    with pytest.raises(ValueError, match="5 predictions for 6 references"):
        score(OUTS[:5], "SA", REFS)


def test_predictions_file_jsonl_and_json(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "prediction": o}) + "\n"
                            for r, o in zip(REFS, OUTS)))
    base = dict(score(OUTS, "SA", REFS))
    assert dict(score(path, "SA", REFS)) == base
    assert dict(score(str(path), "SA", REFS)) == base
    jpath = tmp_path / "preds.json"
    jpath.write_text(json.dumps(OUTS))
    assert dict(score(jpath, "SA", REFS)) == base


def test_bad_predictions_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "prediction": "A"}\n{"id": "b", "predicton": "B"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl, line 2: no 'prediction' field"):
        read_predictions(path)
    path.write_text('{"id": "a", "prediction": "A"}\n\n{not json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl, line 3: not valid JSON"):
        read_predictions(path)
    path.write_text('{"id": "a", "prediction": 3}\n')
    with pytest.raises(ValueError, match="line 1: 'prediction' must be a string"):
        read_predictions(path)


def test_plain_gold_strings_and_unknown_options():
    assert score(["A"], "SA", ["A"])["accuracy"] == 1.0
    with pytest.raises(TypeError, match="bertscore_model"):
        score(["A"], "SA", ["A"], bertscore_model="x")
    with pytest.raises(ValueError, match="compat"):
        score(["A"], "SA", ["A"], compat="paperish")
    with pytest.raises(ValueError, match="failed"):
        score(["A"], "SA", ["A"], failed="ignore")


def test_recompute_matches_score_on_all_items_and_on_a_subset():
    r = score(OUTS, "SA", REFS)
    assert r.recompute(range(r.n)) == dict(r)
    sub = [0, 2, 4]
    assert r.recompute(sub) == dict(score([OUTS[i] for i in sub], "SA", [REFS[i] for i in sub]))
    # repetition (bootstrap) equals scoring the repeated lists
    boot = [1, 1, 4, 0]
    assert r.recompute(np.array(boot)) == pytest.approx(
        dict(score([OUTS[i] for i in boot], "SA", [REFS[i] for i in boot])))
    with pytest.raises(IndexError):
        r.recompute([6])


@pytest.mark.parametrize("task", ["PM", "SR", "QPR", "AVE", "MPC"])
@pytest.mark.parametrize("failed", ["wrong", "exclude"])
def test_recompute_equals_rescoring_for_every_family(task, failed):
    refs, outs = _examples(task)
    r = score(outs, task, refs, failed=failed)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, r.n, r.n)
    direct = score([outs[i] for i in idx], task, [refs[i] for i in idx], failed=failed)
    assert r.recompute(idx) == pytest.approx(dict(direct))


def _examples(task):
    if task == "PM":
        return ["yes", "no", "no", "yes"], ["yes", "no", "", "no"]
    if task == "MPC":
        return ["A", "B", "C", "D"], ["A", "B", "x", "The product is irrelevant to the query."]
    if task == "SR":
        return ["A", "T", "C", "D"], ["A", "T", "", "B"]
    if task == "QPR":
        refs = [{"output": "A, B", "relevance": ["E", "S"]},
                {"output": "B, A, C", "relevance": ["S", "E", "I"]},
                {"output": "A, B", "relevance": ["E", "C"]}, {"output": "A", "relevance": ["E"]}]
        return refs, ["A, B", "B", "A, A", "A"]
    gold = '[{"attribute": "color", "value": "red", "source": "title"}]'
    neg = '[{"attribute": "size", "value": "None", "source": "None"}]'
    return [gold, neg, gold, neg], [gold, "Attribute: size; Value: XL; Source: title", "", "[]"]


def _write_build(root):
    (root / "SA").mkdir(parents=True)
    with open(root / "SA" / "test.jsonl", "w") as fh:
        for r in REFS:
            fh.write(json.dumps(r) + "\n")


def test_load_split_build_dir_and_env(tmp_path, monkeypatch):
    _write_build(tmp_path / "build")
    assert load_split("sa", "test", tmp_path / "build") == REFS
    monkeypatch.setenv("ECINSTRUCT_DATA", str(tmp_path / "build"))
    assert dict(score(OUTS, "SA")) == dict(score(OUTS, "SA", REFS))


def test_load_split_export_dir(tmp_path):
    import datasets

    out = tmp_path / "hub"
    (out / "SA").mkdir(parents=True)
    datasets.Dataset.from_list(REFS).to_parquet(str(out / "SA" / "test_ood.parquet"))
    (out / "README.md").write_text("---\nconfigs:\n- config_name: SA\n  data_files:\n"
                                   "  - split: test_ood\n    path: SA/test_ood.parquet\n---\n")
    assert load_split("SA", "test_ood", out) == REFS


def test_load_split_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("ECINSTRUCT_DATA", raising=False)
    with pytest.raises(ValueError, match="valid splits: train, validation, test, test_unseen$"):
        load_split("PM", "test_ood")
    with pytest.raises(DataNotFoundError, match="ECINSTRUCT_DATA.*references="):
        load_split("SA", "test")
    with pytest.raises(DataNotFoundError, match="ECINSTRUCT_DATA"):
        score(OUTS, "SA")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_split("SA", "test", tmp_path / "nowhere")


def test_cli_table_json_and_error(tmp_path, capsys, monkeypatch):
    _write_build(tmp_path / "build")
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "prediction": o}) + "\n"
                             for r, o in zip(REFS, OUTS)))
    monkeypatch.setenv("ECINSTRUCT_DATA", str(tmp_path / "build"))
    assert main(["score", "--task", "sa", "--predictions", str(preds)]) == 0
    out = capsys.readouterr().out
    assert "macro_f1 *" in out and "n_failed" in out
    refs = tmp_path / "build" / "SA" / "test.jsonl"
    assert main(["score", "--task", "SA", "--predictions", str(preds), "--references", str(refs),
                 "--json", "--failed", "exclude"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_failed"] == 1 and data["settings"]["failed"] == "exclude"
    assert data["metrics"]["accuracy"] == pytest.approx(4 / 5)
    monkeypatch.delenv("ECINSTRUCT_DATA")
    assert main(["score", "--task", "SA", "--predictions", str(preds)]) == 2
    assert "ECINSTRUCT_DATA" in capsys.readouterr().err
