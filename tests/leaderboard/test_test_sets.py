"""Test-set identity: results on different test sets are never ranked or compared together,
and the paper's rows stand only beside results on the official test sets."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import META, RELEASE_ORIGIN, fake_score, load, write_gold_submission
from ecinstruct_leaderboard.compare import compare_results, test_set_mismatches
from ecinstruct_leaderboard.plot import plot_results
from ecinstruct_leaderboard.results import load_results, score_submission, write_results
from ecinstruct_leaderboard.table import (
    PAPER_LABEL,
    UNKNOWN_LABEL,
    build_board,
    build_boards,
    render,
)

from ecinstruct_eval.cli import main
from ecinstruct_eval.testsets import split_fingerprint

TASKS3 = ["PM", "SR", "AVE"]


def _score(location, folder, name, *, corrupt=0.3, seed=1, tasks=TASKS3):
    sub = write_gold_submission(location, folder / f"{name}.jsonl", corrupt=corrupt, seed=seed,
                                meta={**META, "model": name})
    doc = score_submission(sub, location=location, scorer=fake_score, n_resamples=100, seed=0, tasks=tasks)
    path = folder / f"{name}.json"
    write_results(doc, path)
    return path


@pytest.fixture(scope="module")
def files(official_dir, rebuild_dir, build_dir, tmp_path_factory):
    """Two models on the official test sets, two on a rebuild, one on data without a report."""
    tmp = tmp_path_factory.mktemp("testsets")
    return {
        "off-a": _score(official_dir, tmp, "off-a", seed=1),
        "off-b": _score(official_dir, tmp, "off-b", seed=2),
        "reb-a": _score(rebuild_dir, tmp, "reb-a", corrupt=0.0),
        "reb-b": _score(rebuild_dir, tmp, "reb-b", seed=3),
        "bare": _score(build_dir, tmp, "bare", seed=4),
    }


def _old(path, tmp_path, name="old"):
    """The same results as a schema-1 file (written before test-set identity was recorded)."""
    doc = json.loads(path.read_text())
    doc["schema_version"] = 1
    doc.pop("test_origin")
    for splits in doc["results"].values():
        for entry in splits.values():
            entry.pop("test_set")
    doc["model"]["model"] = name
    out = tmp_path / f"{name}.json"
    out.write_text(json.dumps(doc))
    return out


def test_results_carry_the_scored_test_set(files, official_dir, rebuild_dir, build_dir):

    off, reb, bare = (load_results(files[k]) for k in ("off-a", "reb-a", "bare"))
    assert off["schema_version"] == 2 and off["test_origin"] == RELEASE_ORIGIN
    assert reb["test_origin"]["kind"] == "rebuild"
    assert bare["test_origin"] is None  # no build_report.json at the data location
    for doc, root in ((off, official_dir), (reb, rebuild_dir), (bare, build_dir)):
        assert doc["results"]["SR"]["test"]["test_set"] == split_fingerprint(load(root, "SR", "test"))
    # the official copy and the bare build hold the same records: the same fingerprints
    assert off["results"]["PM"]["test"]["test_set"] == bare["results"]["PM"]["test"]["test_set"]
    assert off["results"]["PM"]["test"]["test_set"] != reb["results"]["PM"]["test"]["test_set"]


def test_report_that_does_not_describe_the_records_claims_no_origin(official_dir, tmp_path):
    import shutil


    root = tmp_path / "edited"
    shutil.copytree(official_dir, root)
    recs = load(root, "PM", "test")
    recs[0]["output"] = "no" if recs[0]["output"] == "yes" else "yes"
    (root / "PM" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    said = []
    sub = write_gold_submission(root, tmp_path / "s.jsonl")
    doc = score_submission(sub, location=root, scorer=fake_score, n_resamples=0, tasks=["PM"],
                           progress=said.append)
    assert doc["test_origin"] is None
    assert any("does not describe the records scored (PM/test" in m for m in said)


def test_test_sets_the_report_does_not_list_claim_no_origin(official_dir, tmp_path):
    """A release report beside task folders it does not describe (e.g. rebuilt ones) is no proof."""
    import shutil

    root = tmp_path / "partial"
    shutil.copytree(official_dir, root)
    report = json.loads((root / "build_report.json").read_text())
    report["tasks"]["PM"].pop("test_sets", None)
    (root / "build_report.json").write_text(json.dumps(report))
    said = []
    sub = write_gold_submission(root, tmp_path / "s.jsonl")
    doc = score_submission(sub, location=root, scorer=fake_score, n_resamples=0, tasks=["PM"],
                           progress=said.append)
    assert doc["test_origin"] is None


def test_table_separates_test_sets_and_shows_paper_rows_only_beside_official(files, capsys):
    paths = [str(files[k]) for k in ("reb-a", "off-a", "reb-b", "off-b")]
    assert main(["leaderboard", "table", *paths, "--setting", "ind"]) == 0
    md = capsys.readouterr().out
    blocks = md.split("### ")[1:]
    assert len(blocks) == 2  # one per test set, the official one first
    official, rebuilt = blocks
    assert "Test set: the official release (NingLab/ECInstruct@main), test-set fingerprint" in official
    assert "| off-a |" in official and "| off-b |" in official and "| reb-a |" not in official
    assert "| eCeLLM-L | Table 3 |" in official and "improvement (%, avg: 10.7)" in official
    assert "Test set: rebuilt from samples/sources, test-set fingerprint" in rebuilt
    assert "| reb-a |" in rebuilt and "| reb-b |" in rebuilt and "| off-a |" not in rebuilt
    assert "eCeLLM" not in rebuilt and "improvement" not in rebuilt
    assert "not comparable with the paper's rows" in rebuilt
    for block in blocks:
        assert "scores on different test sets are not comparable" in block
    # bold within a group: the perfect rebuild model is bold, and bold does not leak across groups
    assert "| reb-a | submission (paper) | **1.000** |" in rebuilt
    assert "**1.000**" not in official.split("| off-a |")[0].split("| improvement")[0].split("EcomGPT")[-1]


def test_without_official_results_the_paper_rows_are_a_labelled_block(files, tmp_path):
    docs = [load_results(files[k]) for k in ("reb-a", "reb-b")]
    boards = build_boards(docs, setting="IND")
    assert [b.test_set == PAPER_LABEL for b in boards] == [False, True]
    assert {r.kind for r in boards[0].rows} == {"submission"} and boards[0].improvement is None
    assert {r.kind for r in boards[1].rows} == {"baseline", "eCeLLM"} and boards[1].improvement is not None
    md = render(boards, "md")
    assert f"Test set: {PAPER_LABEL}." in md
    rows = list(csv.DictReader(io.StringIO(render(boards, "csv"))))
    assert {r["test_set"] for r in rows if r["kind"] != "submission"} == {PAPER_LABEL}
    assert len({r["fingerprint"] for r in rows if r["kind"] == "submission"}) == 1
    html = render(boards, "html")
    assert 'id="board-IND"' in html and 'id="board-IND-2"' in html and PAPER_LABEL in html
    assert "scores on different test sets are not comparable" in html
    # --no-paper: only the results' board
    assert [b.test_set for b in build_boards(docs, setting="IND", include_paper=False)] == [boards[0].test_set]
    # a single board of results on two test sets is refused
    with pytest.raises(ValueError, match="different test sets"):
        build_board(docs + [load_results(files["off-a"])], setting="IND")


def test_same_records_without_report_join_the_official_group(files):
    docs = [load_results(files[k]) for k in ("bare", "off-a")]
    boards = build_boards(docs, setting="IND")
    assert len(boards) == 1 and boards[0].official
    assert {r.model for r in boards[0].rows if r.kind == "submission"} == {"bare", "off-a"}


def test_old_results_files_load_as_unknown_test_set(files, tmp_path, capsys):
    old = _old(files["reb-a"], tmp_path)
    doc = load_results(old)
    assert doc["schema_version"] == 1
    boards = build_boards([doc, load_results(files["off-a"])], setting="IND")
    assert [b.test_set for b in boards][1] == UNKNOWN_LABEL
    assert boards[0].official and not boards[1].official
    assert not any(r.kind != "submission" for r in boards[1].rows)
    assert main(["leaderboard", "table", str(old), "--setting", "ind"]) == 0
    md = capsys.readouterr().out
    assert f"Test set: {UNKNOWN_LABEL}." in md and f"Test set: {PAPER_LABEL}." in md
    comps = compare_results(doc, load_results(files["reb-a"]), names=("old", "new"))
    assert {c.verdict for c in comps} == {"not comparable"}
    assert all("test set unknown in old" in c.note for c in comps)


def test_identity_fields_are_validated_strictly(files, tmp_path):
    good = json.loads(files["off-a"].read_text())
    cases = {
        "no-origin": lambda d: d.pop("test_origin"),
        "bad-origin": lambda d: d.update(test_origin={"source": "x"}),
        "no-set": lambda d: d["results"]["PM"]["test"].pop("test_set"),
        "bad-sha": lambda d: d["results"]["PM"]["test"]["test_set"].update(sha256="xyz"),
        "bad-n": lambda d: d["results"]["PM"]["test"]["test_set"].update(n=-1),
        "extra": lambda d: d["results"]["PM"]["test"]["test_set"].update(extra=1),
        "version": lambda d: d.update(schema_version=0),
    }
    for name, spoil in cases.items():
        doc = json.loads(json.dumps(good))
        spoil(doc)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(ValueError, match=str(path)):
            load_results(path)


def test_json_schema_knows_both_versions(files, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(resources.files("ecinstruct_leaderboard").joinpath("data/results.schema.json").read_text())
    new = load_results(files["off-a"])
    jsonschema.validate(new, schema)
    jsonschema.validate(load_results(_old(files["off-a"], tmp_path)), schema)
    new["results"]["PM"]["test"].pop("test_set")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(new, schema)


def test_compare_refuses_results_on_different_test_sets(files, capsys):
    a, b = str(files["off-a"]), str(files["reb-b"])
    assert main(["leaderboard", "compare", a, b]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.count("\n") == 0
    assert a in err and b in err and "PM/test" in err and "different test sets" in err
    docs = [load_results(files[k]) for k in ("off-a", "reb-b")]
    assert {(t, s) for t, s, _, _ in test_set_mismatches(*docs)} == {
        ("PM", "test"), ("SR", "test"), ("AVE", "test"), ("SR", "test_ood"), ("AVE", "test_ood")}
    assert {c.verdict for c in compare_results(*docs)} == {"not comparable"}
    # the same test set: compared as before
    assert main(["leaderboard", "compare", str(files["off-a"]), str(files["off-b"])]) == 0
    assert "PM   test" in capsys.readouterr().out


def test_compare_only_the_sets_whose_fingerprints_agree(files, capsys, tmp_path):
    doc = json.loads(files["off-b"].read_text())
    doc["results"]["SR"]["test"]["test_set"]["sha256"] = "0" * 64  # SR/test on another test set
    path = tmp_path / "off-b-other-sr.json"
    path.write_text(json.dumps(doc))
    comps = {(c.task, c.split): c for c in compare_results(load_results(files["off-a"]), doc)}
    assert comps[("SR", "test")].verdict == "not comparable"
    assert "different test sets" in comps[("SR", "test")].note
    assert comps[("PM", "test")].verdict != "not comparable"
    assert main(["leaderboard", "compare", str(files["off-a"]), str(path)]) == 0
    captured = capsys.readouterr()
    assert "SR/test" in captured.err and "different test sets" in captured.err
    assert "not comparable: different test sets" in captured.out


def test_plot_draws_paper_rows_only_beside_official_results(files, tmp_path, capsys):
    off = [load_results(files[k]) for k in ("off-a", "off-b")]
    fig = plot_results(off, setting="IND", paper_models=["eCeLLM-L"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "eCeLLM-L (Table 3)"
    said = []
    mixed = off + [load_results(files["reb-a"])]
    fig = plot_results(mixed, setting="IND", paper_models=["eCeLLM-L"], warn=said.append)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert not any("Table 3" in x for x in labels)
    assert any("paper's rows are left out" in m for m in said)
    assert any("2 different test sets" in m for m in said)
    png = tmp_path / "p.png"
    assert main(["leaderboard", "plot", str(files["reb-a"]), "--paper", "eCeLLM-L", "--out", str(png)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the paper's rows are left out" in err
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(KeyError, match="no row"):
        plot_results(mixed, paper_models=["GPT-5"], warn=said.append)
