"""``ecinstruct leaderboard ...`` end to end on the synthetic build."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ecinstruct_eval.cli import main

# AG (BERTScore: torch + a model) is scored in test_notebook.py; here the other nine.
NINE = ["--tasks", "AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP"]


def test_cli_main_job(build_dir, tmp_path, capsys):
    subs, res = tmp_path / "subs", tmp_path / "results"
    for method in ("majority", "lexical"):
        assert main(["leaderboard", "baseline", "--method", method, "--data", str(build_dir),
                     "--out", str(subs / f"{method}.jsonl"), "--date", "2024-06-01", *NINE]) == 0
    meta = json.loads((subs / "lexical.meta.json").read_text())
    assert meta["model"] == "baseline:lexical" and meta["date"] == "2024-06-01"

    assert main(["leaderboard", "validate", str(subs / "lexical.jsonl"), "--data", str(build_dir), *NINE]) == 0
    assert "valid, 336 predictions" in capsys.readouterr().out
    assert main(["leaderboard", "validate", str(subs / "lexical.jsonl"), "--data", str(build_dir)]) == 1
    assert "AG/test: 24 of 24 ids missing (required test set)" in capsys.readouterr().err

    for method in ("majority", "lexical"):
        assert main(["leaderboard", "score", str(subs / f"{method}.jsonl"), "--data", str(build_dir),
                     "--out", str(res / f"{method}.json"), "--resamples", "50", *NINE]) == 0
    doc = json.loads((res / "lexical.json").read_text())
    assert doc["model"]["model"] == "baseline:lexical" and len(doc["results"]) == 9
    assert doc["evaluator"]["compat"] == "paper" and doc["evaluator"]["settings"] == {}
    assert doc["results"]["PM"]["test"]["settings"]["compat"] == "paper"
    sr = doc["results"]["SR"]["test"]
    assert sr["n"] == 24 and sr["n_failed"] == 0
    assert sr["metrics"]["hr@1"]["ci_low"] <= sr["metrics"]["hr@1"]["value"] <= sr["metrics"]["hr@1"]["ci_high"]

    files = [str(res / "majority.json"), str(res / "lexical.json")]
    capsys.readouterr()
    assert main(["leaderboard", "table", *files, "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert "| baseline:lexical |" in md and "| eCeLLM-L | Table 3 |" in md and "Table 4 shape" in md
    for fmt in ("html", "csv"):
        out = tmp_path / f"board.{fmt}"
        assert main(["leaderboard", "table", *files, "--format", fmt, "--setting", "ood", "--out", str(out)]) == 0
        assert "baseline:majority" in out.read_text()

    capsys.readouterr()
    assert main(["leaderboard", "compare", *files]) == 0
    text = capsys.readouterr().out
    assert "SR   test" in text and ("Really differ" in text or "No task shows" in text)

    assert main(["leaderboard", "score", str(subs / "lexical.jsonl"), "--data", str(build_dir),
                 "--out", str(res / "released.json"), "--compat", "released", "--resamples", "0", *NINE]) == 0
    rel = json.loads((res / "released.json").read_text())
    assert rel["evaluator"]["compat"] == "released"
    assert rel["results"]["SR"]["test"]["metrics"]["hr@1"]["ci_low"] is None
    capsys.readouterr()
    assert main(["leaderboard", "table", str(res / "released.json"), "--setting", "ind"]) == 0
    assert "compat='released'" in capsys.readouterr().out

    png = tmp_path / "board.png"
    assert main(["leaderboard", "plot", *files, "--paper", "eCeLLM-L", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_invalid_submission_exit_codes(build_dir, tmp_path, capsys):
    sub = tmp_path / "bad.jsonl"
    assert main(["leaderboard", "baseline", "--method", "random", "--data", str(build_dir),
                 "--out", str(sub), "--tasks", "PM", "SA"]) == 0
    lines = sub.read_text().splitlines()
    lines[4] = '{"task": "PM", "split": "test", "id": "PM-test-00004", "prediction": null}'
    sub.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["leaderboard", "validate", str(sub), "--data", str(build_dir), "--tasks", "PM", "SA"]) == 1
    err = capsys.readouterr().err
    assert f"{sub}:5: prediction must be a string, got null" in err and "INVALID" in err
    out = tmp_path / "r.json"
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(out),
                 "--tasks", "PM", "SA"]) == 1
    assert not out.exists()
    assert main(["leaderboard", "table", str(sub)]) == 2  # not a results file
    assert "cannot read results file" in capsys.readouterr().err


def test_command_module_import_is_light():
    code = ("import sys, ecinstruct_leaderboard.cli; "
            "heavy = {'torch', 'transformers', 'datasets', 'matplotlib', 'sklearn'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_pack_joins_prediction_files(build_dir, tmp_path, capsys):
    from ecinstruct_leaderboard.submission import iter_submission

    sub = tmp_path / "all.jsonl"
    assert main(["leaderboard", "baseline", "--method", "majority", "--data", str(build_dir), "--out", str(sub)]) == 0
    rows = list(iter_submission(sub))
    parts = []
    for task in ("AVE", "SR"):  # as `ecinstruct predict --out` writes them, one file per set
        part = tmp_path / f"{task}.jsonl"
        part.write_text("".join(json.dumps(r) + "\n" for r in rows if r["task"] == task))
        parts.append(str(part))
    rest = tmp_path / "rest.jsonl"
    rest.write_text("".join(json.dumps(r) + "\n" for r in rows if r["task"] not in ("AVE", "SR")))
    out = tmp_path / "packed.jsonl"
    assert main(["leaderboard", "pack", *parts, str(rest), "--out", str(out), "--model", "my-model 7B",
                 "--parameters", "7B", "--date", "2024-06-01"]) == 0
    assert main(["leaderboard", "validate", str(out), "--data", str(build_dir)]) == 0
    assert json.loads((tmp_path / "packed.meta.json").read_text())["model"] == "my-model 7B"
    assert main(["leaderboard", "pack", str(rest), "--out", str(tmp_path / "x.jsonl"), "--model", "../evil"]) == 2
    assert "is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


def _full_submission(build_dir, tmp_path):
    sub = tmp_path / "subs" / "x.jsonl"
    assert main(["leaderboard", "baseline", "--method", "majority", "--data", str(build_dir),
                 "--out", str(sub), "--date", "2024-06-01"]) == 0
    return sub


def test_missing_data_location_is_one_clear_error(build_dir, tmp_path, capsys, monkeypatch):
    sub = _full_submission(build_dir, tmp_path)
    monkeypatch.delenv("ECINSTRUCT_DATA", raising=False)
    capsys.readouterr()
    for action in (["validate", str(sub)], ["score", str(sub), "--out", str(tmp_path / "r.json")]):
        assert main(["leaderboard", *action]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "no data location is configured: pass --data LOCATION or set ECINSTRUCT_DATA" in err
        assert str(sub) not in err and "INVALID" not in err
    gone = tmp_path / "no-such-build"
    assert main(["leaderboard", "validate", str(sub), "--data", str(gone)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"data location '{gone}' (from --data) does not exist" in err
    monkeypatch.setenv("ECINSTRUCT_DATA", str(gone))
    assert main(["leaderboard", "validate", str(sub)]) == 2
    assert "(from $ECINSTRUCT_DATA) does not exist" in capsys.readouterr().err
    assert main(["leaderboard", "baseline", "--method", "majority", "--out", str(tmp_path / "b.jsonl")]) == 2
    assert "(from $ECINSTRUCT_DATA) does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_score_checks_ag_models_first_and_names_flags(build_dir, tmp_path, capsys):
    sub = _full_submission(build_dir, tmp_path)
    out = tmp_path / "r.json"
    capsys.readouterr()
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(out),
                 "--bertscore-model", str(tmp_path / "no-model"), "--no-bleurt"]) == 2
    err = capsys.readouterr().err
    assert "scoring " not in err and not out.exists()  # nothing scored before failing
    assert "AG cannot be scored" in err and "point --bertscore-model (or ECINSTRUCT_BERTSCORE_MODEL)" in err
    assert "bertscore_model=" not in err
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(out),
                 "--bertscore-model", str(tmp_path), "--bleurt-checkpoint", "./no-bleurt"]) == 2
    err = capsys.readouterr().err
    assert "holds no config.json" in err and not out.exists()
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(out),
                 "--tasks", "PM", "--bertscore-model", str(tmp_path / "no-model"), "--resamples", "0"]) == 0


def test_score_wraps_evaluator_model_errors_in_flags(build_dir, tmp_path, capsys):
    pytest.importorskip("bert_score")
    sub = _full_submission(build_dir, tmp_path)
    empty = tmp_path / "empty-model"
    empty.mkdir()
    (empty / "config.json").write_text("{}")  # looks saved, but holds no model
    capsys.readouterr()
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(tmp_path / "r.json"),
                 "--bertscore-model", str(empty), "--bertscore-layers", "2", "--no-bleurt"]) == 2
    err = capsys.readouterr().err
    assert "scoring " not in err and "could not be loaded" in err
    assert "--bertscore-model" in err and "bertscore_model=" not in err


def test_pack_refuses_duplicates(build_dir, tmp_path, capsys):
    sub = _full_submission(build_dir, tmp_path)
    out = tmp_path / "packed.jsonl"
    capsys.readouterr()
    assert main(["leaderboard", "pack", str(sub), str(sub), "--out", str(out), "--model", "m"]) == 2
    err = capsys.readouterr().err
    first = json.loads(sub.read_text().splitlines()[0])
    assert f"{sub}:1: duplicate {first['task']}/{first['split']} id {first['id']!r} (first in {sub}:1)" in err
    assert not out.exists() and not (tmp_path / "packed.meta.json").exists()


def test_whole_file_problems_print_without_line_zero(build_dir, tmp_path, capsys):
    sub = _full_submission(build_dir, tmp_path)
    sub.write_text("".join(ln + "\n" for ln in sub.read_text().splitlines() if '"SR"' not in ln))
    capsys.readouterr()
    assert main(["leaderboard", "validate", str(sub), "--data", str(build_dir)]) == 1
    err = capsys.readouterr().err
    assert f"{sub}: SR/test: 24 of 24 ids missing" in err and ":0:" not in err


def test_released_scores_above_one_stop_the_run_in_one_line_and_nothing_is_written(build_dir, tmp_path, capsys):
    """The released AVE scorer counts a repeated triple again: a results file holds shares, so refuse it."""
    sub = _full_submission(build_dir, tmp_path)
    rows = [json.loads(ln) for ln in sub.read_text().splitlines()]
    for r in rows:
        if r["task"] == "AVE":
            gold = next(json.loads(x)["output"] for x in (build_dir / "AVE" / f"{r['split']}.jsonl").read_text()
                        .splitlines() if json.loads(x)["id"] == r["id"])
            r["prediction"] = json.dumps(json.loads(gold) * 3)  # every gold triple, three times
    sub.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "r.json"
    capsys.readouterr()
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(out),
                 "--compat", "released", "--tasks", "AVE", "--resamples", "0"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]  # after the progress line "scoring AVE/test"
    assert "AVE/test scores f1_star = 1.5 with compat='released', which a results file cannot hold" in err, err
    assert "repeated triples count more than once" in err and not out.exists()
    # the paper's definition counts each triple once: the same submission scores 1
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(out),
                 "--tasks", "AVE", "--resamples", "0"]) == 0
    assert json.loads(out.read_text())["results"]["AVE"]["test"]["metrics"]["recall_star"]["value"] == 1.0


@pytest.mark.parametrize("line,needle", [(b'{"task": "\xff"}', "not UTF-8 text"),
                                         (b"[" * 100_000, "not valid JSON (nested too deeply)")])
def test_pack_names_the_file_and_line_of_an_unreadable_line(tmp_path, capsys, line, needle):
    part = tmp_path / "part.jsonl"
    part.write_bytes(b"\n" + line + b"\n")
    assert main(["leaderboard", "pack", str(part), "--out", str(tmp_path / "p.jsonl"), "--model", "m"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{part}, line 2: {needle}" in err, err


def test_a_missing_metric_package_names_the_extra(build_dir, tmp_path, capsys, monkeypatch):
    from ecinstruct_leaderboard import results

    def no_bert_score(_options):
        raise ModuleNotFoundError("No module named 'bert_score'", name="bert_score")

    monkeypatch.setattr(results, "check_ag_models", no_bert_score)
    sub = _full_submission(build_dir, tmp_path)
    capsys.readouterr()
    assert main(["leaderboard", "score", str(sub), "--data", str(build_dir), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the 'bertscore' extra" in err, err
    assert "pip install 'ecinstruct[bertscore]'" in err and "--tasks" in err
