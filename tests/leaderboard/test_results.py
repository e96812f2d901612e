"""A valid submission round-trips to a results file, a table, a comparison and a plot."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import META, fake_score, write_gold_submission
from ecinstruct_leaderboard.compare import compare_results, format_comparisons, paired_test
from ecinstruct_leaderboard.plot import plot_results, save_plot
from ecinstruct_leaderboard.results import (
    SCHEMA_VERSION,
    bootstrap,
    load_results,
    primary_value,
    resample_indices,
    score_submission,
    write_results,
)
from ecinstruct_leaderboard.table import build_board, render


@pytest.fixture(scope="module")
def scored(official_dir, tmp_path_factory):
    """Results of a perfect model and of one that gets ~45% of items wrong, on the official test sets."""
    tmp = tmp_path_factory.mktemp("scored")
    out = {}
    for name, corrupt in (("gold", 0.0), ("noisy", 0.45)):
        sub = write_gold_submission(official_dir, tmp / f"{name}.jsonl", corrupt=corrupt, seed=1,
                                    meta={**META, "model": f"model-{name}"})
        doc = score_submission(sub, location=official_dir, scorer=fake_score, n_resamples=200, seed=0)
        path = tmp / f"{name}.json"
        write_results(doc, path)
        out[name] = (sub, path, doc)
    return out


def test_results_schema(scored):
    _, path, doc = scored["noisy"]
    loaded = load_results(path)
    assert loaded == json.loads(json.dumps(doc))
    assert loaded["schema_version"] == SCHEMA_VERSION
    assert loaded["model"]["model"] == "model-noisy"
    assert loaded["evaluator"]["compat"] == "paper" and loaded["evaluator"]["version"]
    assert loaded["bootstrap"] == {"method": "percentile", "confidence": 0.95, "n_resamples": 200,
                                   "seed": 0, "unit": "test item"}
    assert set(loaded["results"]) == {"AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG"}
    assert sum(len(v) for v in loaded["results"].values()) == 16
    e = loaded["results"]["SR"]["test"]
    assert e["n"] == 24 and e["n_failed"] == 0 and e["primary_metric"] == "hr@1"
    m = e["metrics"]["hr@1"]
    assert m["ci_low"] <= m["value"] <= m["ci_high"] and m["ci_low"] < m["ci_high"]
    assert len(e["bootstrap_primary"]) == 200
    assert e["settings"] == {"scorer": "fake"}
    assert loaded["test_origin"] == {"kind": "release", "source": "NingLab/ECInstruct", "revision": "main"}
    assert e["test_set"]["n"] == 24 and len(e["test_set"]["sha256"]) == 64


def test_results_file_matches_the_published_json_schema(scored):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(resources.files("ecinstruct_leaderboard").joinpath("data/results.schema.json").read_text())
    doc = load_results(scored["noisy"][1])
    jsonschema.validate(doc, schema)
    doc["results"]["XX"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_scoring_is_deterministic(scored, official_dir, tmp_path):
    sub, path, _ = scored["noisy"]
    again = score_submission(sub, location=official_dir, scorer=fake_score, n_resamples=200, seed=0)
    write_results(again, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_bootstrap_interval_covers_known_mean():
    correct = [1] * 70 + [0] * 30
    ci, reps = bootstrap(lambda idx: {"acc": sum(correct[i] for i in idx) / len(idx)}, 100,
                         n_resamples=500, seed=3)
    lo, hi = ci["acc"]
    assert 0.58 < lo < 0.66 and 0.74 < hi < 0.82  # normal approx: 0.70 +- 0.09
    assert len(reps["acc"]) == 500
    assert (resample_indices(5, 3, 1, "SR", "test") == resample_indices(5, 3, 1, "SR", "test")).all()
    assert not (resample_indices(50, 3, 1, "SR", "test") == resample_indices(50, 3, 1, "SA", "test")).all()


def test_table_round_trip(scored):
    docs = [load_results(scored[k][1]) for k in ("noisy", "gold")]
    md = render([build_board(docs, setting="IND"), build_board(docs, setting="OOD")], "md")
    assert "| model-gold | submission (paper) | **1.000** |" in md
    assert "improvement (%, avg: 10.7)" in md and "improvement (%, avg: 9.1)" in md
    assert "The paper prints SA 14.1 and avg 9.3" in md
    lines = md.splitlines()
    # ranked: the perfect model first, then the noisy one above any row with a lower mean
    first = next(i for i, ln in enumerate(lines) if ln.startswith("| model-gold"))
    assert lines[first - 1].startswith("|---")
    rows = list(csv.DictReader(io.StringIO(render([build_board(docs, setting="IND")], "csv"))))
    noisy = next(r for r in rows if r["model"] == "model-noisy")
    assert float(noisy["SR"]) == pytest.approx(primary_value(docs[0], "SR", "test"), abs=1e-6)
    assert float(noisy["SR_ci_low"]) <= float(noisy["SR"]) <= float(noisy["SR_ci_high"])
    imp = next(r for r in rows if r["kind"] == "improvement")
    assert imp["AVE"] == "21.2" and imp["mean"] == "10.7"
    assert next(r for r in rows if r["model"] == "GPT-4 Turbo")["source"] == "Table 3"


def test_best_per_column_marked(scored):
    board = build_board([], setting="IND")
    col = {c: j for j, c in enumerate(board.columns)}
    best = {r.model for r in board.rows if r.cells[col["PM"]].best}
    assert best == {"SoTA task-specific model", "eCeLLM-L", "eCeLLM-M"}  # 0.995 three times
    assert [r.model for r in board.rows if r.cells[col["AVE"]].best] == ["eCeLLM-M"]
    assert [r.model for r in board.rows if r.cells[col["AVE"]].best_baseline] == ["SoTA task-specific model"]
    assert {r.model for r in board.rows if r.cells[col["AG"]].best_baseline} == {"GPT-4 Turbo", "SoTA task-specific model"}


def test_compare_finds_real_differences_only(scored):
    gold, noisy = (load_results(scored[k][1]) for k in ("gold", "noisy"))
    comps = compare_results(gold, noisy, names=("gold", "noisy"))
    assert len(comps) == 16
    assert all(c.verdict == "gold better" and c.diff > 0 for c in comps)
    same = compare_results(noisy, noisy)
    assert all(c.verdict == "no significant difference" and c.p_value == 1.0 for c in same)
    text = format_comparisons(comps, ("gold", "noisy"))
    assert "Really differ" in text and "SR/test (gold better)" in text


def test_table_marks_non_significant_differences(scored, build_dir, tmp_path):
    # a second noisy model differing on a handful of items is not significantly different
    sub = write_gold_submission(build_dir, tmp_path / "noisy2.jsonl", corrupt=0.45, seed=2,
                                meta={**META, "model": "model-noisy2"})
    doc2 = score_submission(sub, location=build_dir, scorer=fake_score, n_resamples=200, seed=0)
    noisy = load_results(scored["noisy"][1])
    board = build_board([noisy, doc2], setting="IND", include_paper=False)
    assert any(c.not_significant for r in board.rows for c in r.cells)
    md = render([board], "md")
    assert "≈" in md and "not significantly different from the best submission" in md
    # against the perfect model nothing is marked
    gold = load_results(scored["gold"][1])
    board = build_board([gold, doc2], setting="IND", include_paper=False)
    assert not any(c.not_significant for r in board.rows for c in r.cells)


def test_compare_summary_uses_alpha_and_says_when_holm_cannot_reach_it(scored):
    gold, noisy = (load_results(scored[k][1]) for k in ("gold", "noisy"))
    comps = compare_results(gold, noisy, names=("gold", "noisy"), alpha=0.01)
    text = format_comparisons(comps, ("gold", "noisy"), alpha=0.01, n_resamples=200)
    assert "p < 0.01" in text and "p < 0.05" not in text
    # 16 sets x 2 / 201 = 0.159: no Holm-adjusted p can fall below alpha
    assert "Holm-adjusted p cannot fall below 0.159 with 200 resamples over 16 sets" in text
    assert "Holm" not in format_comparisons(comps, ("gold", "noisy"), alpha=0.5, n_resamples=200)


def test_compare_summary_when_nothing_is_comparable(scored):
    gold = load_results(scored["gold"][1])
    released = {**gold, "evaluator": {**gold["evaluator"], "compat": "released"}}
    text = format_comparisons(compare_results(gold, released))
    assert "No set could be compared: scored in different modes" in text
    assert "No task shows a significant difference" not in text


def test_table_does_not_compare_results_of_different_scoring_modes(scored, build_dir, tmp_path):
    sub = write_gold_submission(build_dir, tmp_path / "noisy2.jsonl", corrupt=0.45, seed=2,
                                meta={**META, "model": "model-noisy2"})
    doc2 = score_submission(sub, location=build_dir, scorer=fake_score, n_resamples=200, seed=0)
    noisy = load_results(scored["noisy"][1])
    released = {**doc2, "evaluator": {**doc2["evaluator"], "compat": "released"}}
    board = build_board([noisy, released], setting="IND", include_paper=False)
    assert not any(c.not_significant for r in board.rows for c in r.cells)


def test_compare_refuses_unpaired(scored):
    gold, noisy = (load_results(scored[k][1]) for k in ("gold", "noisy"))
    noisy["results"]["SR"]["test"]["ids_sha256"] = "other"
    noisy["bootstrap"] = {**noisy["bootstrap"]}
    comps = {(c.task, c.split): c for c in compare_results(gold, noisy)}
    assert comps[("SR", "test")].verdict == "not comparable"
    assert "ids differ" in comps[("SR", "test")].note
    released = {**gold, "evaluator": {**gold["evaluator"], "compat": "released"}}
    assert {c.verdict for c in compare_results(gold, released)} == {"not comparable"}
    lo, hi, p = paired_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert (lo, hi, p) == (0.0, 0.0, 1.0)


def test_plot_png(scored, tmp_path):
    docs = [load_results(scored[k][1]) for k in ("gold", "noisy")]
    fig = plot_results(docs, setting="OOD", paper_models=["eCeLLM-L"])
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 6
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["AVE", "PRP", "SA", "SR", "AP", "AG"]
    out = tmp_path / "a.png"
    save_plot(fig, out)
    save_plot(plot_results(docs, setting="OOD", paper_models=["eCeLLM-L"]), tmp_path / "b.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.read_bytes() == (tmp_path / "b.png").read_bytes()


def test_plot_legend_names_scoring_mode_and_tells_same_names_apart(scored, tmp_path):
    gold = load_results(scored["gold"][1])
    released = {**gold, "evaluator": {**gold["evaluator"], "compat": "released"}}
    fig = plot_results([gold, released], setting="IND", paper_models=["eCeLLM-L"],
                       sources=["results/a.json", "results/a-released.json"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["eCeLLM-L (Table 3)", "model-gold (paper)", "model-gold (released)"]
    fig = plot_results([gold, gold], sources=["results/a.json", "other/b.json"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["model-gold [a] (paper)", "model-gold [b] (paper)"]


def _ag_scorer(model_dir):
    def scorer(predictions, task, references, *, split="test", compat="paper", **options):
        res = fake_score(predictions, task, references, split=split, compat=compat)
        if task == "AG":
            res.settings = {"bertscore": f"{options['bertscore_model']}_L6_no-idf_version=0.3.13",
                            "compat": compat}
        return res
    return scorer


def test_results_hold_no_local_model_path(build_dir, tmp_path):
    """A local BERTScore folder is stored as its name plus a content hash, the same on any machine."""
    docs = []
    for machine in ("machine1", "machine2"):
        model = tmp_path / machine / "deep" / "minilm"
        model.mkdir(parents=True)
        (model / "config.json").write_text('{"num_hidden_layers": 6}')
        (model / "model.safetensors").write_bytes(b"weights" * 100)
        sub = write_gold_submission(build_dir, tmp_path / f"{machine}.jsonl")
        doc = score_submission(sub, location=build_dir, scorer=_ag_scorer(str(model)), n_resamples=0,
                               tasks=["AG", "PM"], ag_options={"bertscore_model": str(model), "bleurt": False})
        write_results(doc, tmp_path / f"{machine}.json")
        docs.append(doc)
        text = (tmp_path / f"{machine}.json").read_text()
        assert str(tmp_path) not in text and machine not in text.replace(f"{machine}.jsonl", "")
    ref = docs[0]["evaluator"]["ag_options"]["bertscore_model"]
    assert ref.startswith("minilm@sha256:") and len(ref) == len("minilm@sha256:") + 16
    assert docs[0]["results"]["AG"]["test"]["settings"]["bertscore"] == f"{ref}_L6_no-idf_version=0.3.13"
    assert docs[0]["evaluator"]["settings"] == docs[1]["evaluator"]["settings"]
    assert docs[0]["evaluator"]["ag_options"] == docs[1]["evaluator"]["ag_options"]
    # other weights: another reference
    (tmp_path / "machine2" / "deep" / "minilm" / "model.safetensors").write_bytes(b"other")
    from ecinstruct_leaderboard.results import _folder_sha256, portable_model_ref

    _folder_sha256.cache_clear()
    assert portable_model_ref(str(tmp_path / "machine2" / "deep" / "minilm")) != ref
    assert portable_model_ref("roberta-large") == "roberta-large"


def test_ag_models_checked_before_anything_is_scored(build_dir, tmp_path):
    sub = write_gold_submission(build_dir, tmp_path / "m.jsonl")
    scored_sets = []

    def scorer(predictions, task, references, **kw):
        scored_sets.append(task)
        return fake_score(predictions, task, references, **kw)

    def check(options):
        raise OSError("the BERTScore model 'x' could not be loaded")

    with pytest.raises(OSError, match="could not be loaded"):
        score_submission(sub, location=build_dir, scorer=scorer, model_check=check, n_resamples=0)
    assert scored_sets == []
    # without AG in the submission no model is needed
    doc = score_submission(sub, location=build_dir, scorer=scorer, model_check=check, n_resamples=0,
                           tasks=["PM"])
    assert list(doc["results"]) == ["PM"]


def test_a_results_file_is_written_only_with_values_the_schema_holds(official_dir, tmp_path):
    """Negative rescaled BERTScore is a legitimate AG value; a share above 1 (released AVE) is not."""
    sub = write_gold_submission(official_dir, tmp_path / "gold.jsonl", meta=META)

    def scorer(values):
        def score(predictions, task, references, **_options):
            result = fake_score(predictions, task, references)
            result.update(values.get(task, {}))
            result.recompute = lambda indices: dict(result)  # the same values for every resample
            return result
        return score

    doc = score_submission(sub, location=official_dir, tasks=["AG"], n_resamples=0,
                           scorer=scorer({"AG": {"bertscore_f1": -0.58}}))
    write_results(doc, tmp_path / "ag.json")
    assert load_results(tmp_path / "ag.json")["results"]["AG"]["test"]["metrics"]["bertscore_f1"]["value"] == -0.58
    with pytest.raises(ValueError, match=r"AVE/test scores recall_star = 3 with compat='released', which a "
                                         r"results file cannot hold \(it must be a finite number in \[0, 1\]"):
        score_submission(sub, location=official_dir, tasks=["AVE"], n_resamples=0, compat="released",
                         scorer=scorer({"AVE": {"recall_star": 3.0}}))
