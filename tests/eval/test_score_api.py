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


# --------------------------------------------------------------------- audit fixes


def test_dataframe_predictions_with_ids_or_a_single_prediction_column():
    base = dict(score(OUTS, "SA", REFS))
    order = [5, 3, 1, 0, 2, 4]
    df = pd.DataFrame({"id": [REFS[i]["id"] for i in order], "prediction": [OUTS[i] for i in order]})
    r = score(df, "SA", REFS)
    assert dict(r) == base and r.n == 6 and r.per_item[2].parsed == "C"
    assert dict(score(pd.DataFrame({"prediction": OUTS}), "SA", REFS)) == base
    # A missing prediction (NaN in pandas) is a failed output, not the string "nan".
    nan = pd.DataFrame({"prediction": ["A", float("nan"), "C", "D", "", "B"]})
    assert score(nan, "SA", REFS).per_item[1].failed


@pytest.mark.parametrize("bad", [pd.DataFrame({"output": OUTS}), pd.DataFrame({"id": ["x"]}),
                                 b"A", {"A", "B"}, 3])
def test_unsupported_predictions_raise_type_error_naming_accepted_inputs(bad):
    with pytest.raises(TypeError, match="DataFrame with a 'prediction' column"):
        score(bad, "SA", REFS)


def _predict_file(path, tasks):
    """What `ecinstruct predict` writes: one file, lines {task, split, id, prediction}."""
    lines = []
    for r, o in zip(REFS, OUTS):
        lines.append({"task": "SA", "split": "test", "id": r["id"], "prediction": o})
    if "PM" in tasks:
        lines += [{"task": "PM", "split": "test", "id": f"PM-test-{i:05d}", "prediction": "yes"}
                  for i in range(3)]
    if "SA-ood" in tasks:
        lines += [{"task": "sa", "split": "test_ood", "id": f"SA-test_ood-{i:05d}",
                   "prediction": "B"} for i in range(2)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_score_keeps_only_predictions_for_the_task_and_split(tmp_path):
    path = _predict_file(tmp_path / "all.jsonl", {"PM", "SA-ood"})
    assert dict(score(path, "SA", REFS)) == dict(score(OUTS, "SA", REFS))
    with pytest.raises(ValueError, match=r"none of the 11 predictions is for PSI/test.*"
                                         r"PM/test \(3\), SA/test \(6\), sa/test_ood \(2\)"):
        score(path, "PSI", ["yes"])


def test_cli_scores_a_predict_file_holding_several_tasks(tmp_path, capsys):
    _write_build(tmp_path / "build")
    path = _predict_file(tmp_path / "all.jsonl", {"PM", "SA-ood"})
    assert main(["score", "--task", "SA", "--predictions", str(path),
                 "--data", str(tmp_path / "build"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n"] == 6
    assert "kept 6 predictions for SA/test, ignored 5 for other tasks or splits" in captured.err
    assert main(["score", "--task", "PM", "--predictions", str(path), "--references",
                 str(tmp_path / "build" / "SA" / "test.jsonl")]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("task", "refs", "message"),
    [
        ("AVE", [{"id": "AVE-test-00003", "output": "not json"}],
         r"AVE reference 0 \(id 'AVE-test-00003'\): gold output is not a JSON list"),
        ("AVE", [{"id": "a", "output": '[{"value": "red"}]'}], r"reference 0 .*attribute"),
        ("QPR", [{"id": "q1", "output": "A, B", "relevance": ["E", "S"]},
                 {"id": "q2", "output": "A, B", "relevance": ["E", "X"]}],
         r"QPR reference 1 \(id 'q2'\): relevance grades must be one of E/S/C/I.*'X'"),
        ("QPR", ["A, B"], r"reference 0: no 'relevance'"),
        ("SA", [{"id": "s", "output": "F"}], r"SA reference 0 \(id 's'\): gold output 'F'"),
        ("SR", [{"id": "s", "output": "D", "options": ["A: x", "B: y", "C: z"]}],
         r"reference 0 \(id 's'\): gold output 'D' is not one of the 3 option letters"),
        ("PM", ["yes", "maybe"], r"PM reference 1: gold output must be 'yes' or 'no'"),
        ("AG", [{"id": "g", "output": None}], r"AG reference 0 \(id 'g'\): 'output' must be a str"),
    ],
)
def test_bad_references_raise_value_error_naming_index_and_id(task, refs, message):
    with pytest.raises(ValueError, match=message):
        score(["A, B"] * len(refs), task, refs)


def test_no_references_is_refused():
    with pytest.raises(ValueError, match="no references to score SA against"):
        score([], "SA", [])


def test_cli_bad_qpr_grade_names_the_reference(tmp_path, capsys):
    refs = tmp_path / "qpr.jsonl"
    refs.write_text(json.dumps({"id": "QPR-test-00000", "output": "A, B",
                                "relevance": ["E", "X"]}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "QPR-test-00000", "prediction": "A, B"}) + "\n")
    assert main(["score", "--task", "QPR", "--predictions", str(preds),
                 "--references", str(refs)]) == 2
    err = capsys.readouterr().err
    assert "QPR reference 0 (id 'QPR-test-00000')" in err and "'X'" in err


def test_one_jsonl_reader_names_file_and_line(tmp_path):
    from ecinstruct_eval.data import iter_jsonl, read_jsonl

    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n[1]\n{oops\n')
    with pytest.raises(ValueError, match=r"x.jsonl, line 4: not valid JSON"):
        list(iter_jsonl(path))
    path.write_text('{"a": 1}\n\n[1]\n')
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (3, [1])]
    with pytest.raises(ValueError, match=r"x.jsonl, line 3: expected a JSON object"):
        read_jsonl(path)
    path.write_text('{"id": "a", "prediction": "B"}\n\n[1]\n')
    with pytest.raises(ValueError, match=r"x.jsonl, line 3: expected an object"):
        read_predictions(path)


def test_unreachable_hub_fails_fast_without_offline_mode(monkeypatch):
    import time

    import datasets
    import huggingface_hub.constants as hub_constants

    from ecinstruct_eval import data

    for var in data._PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub_constants, "ENDPOINT", "http://127.0.0.1:9")  # closed port
    assert data._hub_reachable(timeout=1.0) is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert data._hub_reachable(timeout=1.0) is True  # behind a proxy: no direct probe
    monkeypatch.delenv("HTTPS_PROXY")

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError, match="Hub is unreachable.*not in the local cache"):
        load_split("SR", "test", "someone/not-cached-ecinstruct")
    assert time.perf_counter() - start < 15
    # Offline mode was switched on for that one call only.
    assert datasets.config.HF_HUB_OFFLINE is False and hub_constants.HF_HUB_OFFLINE is False


@pytest.mark.parametrize("name,content,message", [
    ("deep.jsonl", b"[" * 100_000 + b"\n", "deep.jsonl, line 1: not valid JSON (nested too deeply)"),
    ("deep.json", b"[" * 100_000, "deep.json: not valid JSON (nested too deeply)"),
    ("bad.jsonl", b'{"id": "a", "prediction": "A"}\n{"id": "b", "prediction": "\xff"}\n',
     "bad.jsonl, line 2: not UTF-8 text (byte 0xff at character 27)"),
    ("big.jsonl", b'{"id": ' + b"1" * 5000 + b"}\n", "big.jsonl, line 1: not valid JSON (Exceeds the limit"),
])
def test_an_unreadable_predictions_file_is_one_line_naming_file_and_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        read_predictions(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    refs = tmp_path / "refs.jsonl"
    refs.write_text('{"id": "a", "output": "yes"}\n')
    assert main(["score", "--task", "PM", "--predictions", str(path), "--references", str(refs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    if name.endswith(".jsonl"):  # the references file is read by the same reader
        assert main(["score", "--task", "PM", "--predictions", str(refs), "--references", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_the_result_is_labelled_with_the_split_its_references_hold():
    refs = [{"id": "PM-test_ood-0", "split": "test_ood", "output": "yes"}]
    assert score(["yes"], "PM", refs).split == "test_ood"  # not the default argument, "test"
    assert score(["yes"], "PM", [{"id": "x", "output": "yes"}]).split == "test"


def test_the_jsonl_reader_ends_lines_as_text_mode_does(tmp_path):
    """CR, CRLF and LF line ends, and lines of Unicode whitespace only (skipped), as Python's text mode reads them."""
    from ecinstruct_eval.data import iter_jsonl

    path = tmp_path / "x.jsonl"
    path.write_bytes('{"a": 1}\r{"a": 2}\r\n\u00a0\u3000\n{"a": "\u2028"}'.encode())
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (2, {"a": 2}), (4, {"a": "\u2028"})]
