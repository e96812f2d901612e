"""The build pipeline: determinism, resume, clear errors, malformed input, CLI, shared record rules."""

import gzip
import json
import shutil
from collections import Counter

import pytest
from _review_samples import CONFIG, SOURCES, TASKS, built, records, sample_config
from ecinstruct_builders.core import (
    RECORD_FIELDS,
    MissingSourceError,
    SourcesFolderError,
    read_jsonl,
)
from ecinstruct_builders.pipeline import build, parse_tasks

from ecinstruct_eval.cli import main

QUIET = {"log": lambda _m: None}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.jsonl"))}


def test_same_inputs_and_seed_give_identical_bytes(tmp_path):
    build(sample_config(tmp_path / "a", sizes=20), TASKS, **QUIET)
    build(sample_config(tmp_path / "b", sizes=20), TASKS, **QUIET)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 4 * 4 + 4 * 2  # train/validation/test/test_unseen + the two OOD sets per task
    assert a == b
    build(sample_config(tmp_path / "c", sizes=20, seed=2), ["SA"], **QUIET)
    assert _files(tmp_path / "c")["SA/train.jsonl"] != a["SA/train.jsonl"]


def test_rerun_resumes_and_rebuilds_only_what_changed(tmp_path):
    logs = []
    cfg = sample_config(tmp_path, sizes=10)
    build(cfg, ["SA", "SR"], log=logs.append)
    stamp = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.jsonl")}
    logs.clear()
    build(cfg, ["SA", "SR"], log=logs.append)
    assert all("up to date" in m for m in logs if m.startswith(("SA", "SR")))
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.jsonl")} == stamp
    # An interrupted build (a split file lost) is redone; the other task stays.
    (tmp_path / "SR" / "test.jsonl").unlink()
    logs.clear()
    build(cfg, ["SA", "SR"], log=logs.append)
    assert any(m.startswith("SA: up to date") for m in logs)
    assert any(m.startswith("SR: building") for m in logs)
    assert (tmp_path / "SR" / "test.jsonl").is_file()
    # Another config means another build.
    logs.clear()
    build(sample_config(tmp_path, sizes=5), ["SA"], log=logs.append)
    assert any(m.startswith("SA: building") for m in logs)
    assert len(read_jsonl(tmp_path / "SA" / "train.jsonl")) == 50
    report = json.loads((tmp_path / "build_report.json").read_text())
    assert set(report["tasks"]) == {"SA", "SR"}


def test_missing_sources_give_one_error_naming_expected_paths(tmp_path):
    cfg = sample_config(tmp_path / "out")
    cfg.categories["SA"] = {"ind": ["Gift_Cards", "Electronics"], "ood": ["Tools_and_Home_Improvement"]}
    with pytest.raises(MissingSourceError) as err:
        build(cfg, ["SA", "AVE"], **QUIET)
    msg = str(err.value)
    assert str(SOURCES / "amazon_review_2018" / "Electronics.json.gz") in msg
    assert "categoryFiles/Electronics.json.gz" in msg
    assert "Gift_Cards" not in msg and "AVE" not in msg


def test_malformed_lines_are_counted_and_the_build_goes_on(tmp_path):
    src = tmp_path / "src" / "amazon_review_2018"
    src.mkdir(parents=True)
    for name in ("meta/all_category/meta_Gift_Cards.json.gz", "review_5core/Gift_Cards_5.json.gz"):
        data = gzip.decompress((SOURCES / "amazon_review_2018" / name).read_bytes())
        data += b'{"truncated": \n\xff\xfe not utf-8\n{"asin": 5}\n'
        (src / name.rsplit("/", 1)[1]).write_bytes(gzip.compress(data))
    cfg = sample_config(tmp_path / "out", sources=tmp_path / "src", sizes=10)
    cfg.categories.update({t: {"ind": ["Gift_Cards"], "ood": []} for t in ("SA", "PRP", "SR")})
    report = build(cfg, ["PRP", "SA", "SR"], **QUIET)["tasks"]
    assert report["SA"]["dropped"]["Gift_Cards_5.json.gz: malformed line"] == 1
    assert report["SA"]["dropped"]["Gift_Cards_5.json.gz: bad encoding"] == 1
    real = gzip.decompress((SOURCES / "amazon_review_2018/review_5core/Gift_Cards_5.json.gz").read_bytes())
    incomplete = sum("reviewText" not in r or "overall" not in r for r in map(json.loads, real.splitlines()))
    assert report["SA"]["dropped"]["review without reviewText or overall"] == incomplete + 1
    sa = report["SA"]  # the bad lines are rows read too: read = used + dropped + skipped still holds
    assert sum(sa["rows_read"].values()) == sa["rows_used"] + sum(sa["dropped"].values()) + sum(sa["skipped"].values())
    assert report["PRP"]["dropped"]["meta_Gift_Cards.json.gz: malformed line"] == 1
    assert report["PRP"]["dropped"]["meta_Gift_Cards.json.gz: bad encoding"] == 1
    assert report["PRP"]["dropped"]["meta_Gift_Cards.json.gz: no asin"] == 1
    assert report["SR"]["splits"]["test"] == 10


@pytest.mark.parametrize("task", TASKS)
def test_records_follow_the_canonical_schema(task):
    ids = set()
    for path in sorted((built() / task).glob("*.jsonl")):
        for r in read_jsonl(path):
            assert tuple(r) == RECORD_FIELDS
            assert r["task"] == task and r["split"] == path.stem and r["id"].startswith(f"{task}-{path.stem}-")
            assert r["id"] not in ids
            ids.add(r["id"])
            assert r["input"] and r["output"] and r["input"].isascii()


@pytest.mark.parametrize("task", TASKS)
def test_no_unseen_instruction_in_training_and_repeats_of_train_are_counted(task):
    unseen = {r["instruction"] for r in records(task, "test_unseen")}
    assert len(unseen) == 1
    train = records(task, "train")
    assert not {r["instruction"] for r in train} & unseen
    assert {r["instruction_kind"] for r in train} <= {"seed", "generated_1", "generated_2", "generated_3", "generated_4"}

    def key(r):
        return (" ".join(r["input"].lower().split()), tuple(" ".join(o.lower().split()) for o in r["options"]))

    # the release keeps evaluation records that repeat a training record; the report counts them
    train_keys = {key(r) for r in train}
    defects = json.loads((built() / "build_report.json").read_text())["tasks"][task]["release_defects"]
    assert defects["fixed"] is False
    for split in ("validation", "test", "test_ood"):
        if (built() / task / f"{split}.jsonl").is_file():
            repeats = sum(key(r) in train_keys for r in records(task, split))
            assert defects["eval_repeats_train"].get(split, 0) == repeats, split


def test_fix_defects_leaves_no_evaluation_record_repeating_train(tmp_path):
    from dataclasses import replace

    cfg = replace(sample_config(tmp_path, sizes="paper"), fix_defects=True)
    report = build(cfg, ["SA"], **QUIET)["tasks"]["SA"]
    assert report["release_defects"]["fixed"] is True and report["release_defects"]["eval_repeats_train"]["test"] > 0
    train = {r["input"] for r in read_jsonl(tmp_path / "SA" / "train.jsonl")}
    for split in ("validation", "test", "test_ood"):
        assert not train & {r["input"] for r in read_jsonl(tmp_path / "SA" / f"{split}.jsonl")}


def test_report_has_per_task_counts():
    report = json.loads((built() / "build_report.json").read_text())
    for task in TASKS:
        rep = report["tasks"][task]
        assert {"rows_read", "dropped", "labels", "splits", "elapsed_s", "peak_rss_mb"} <= set(rep)
        for split, n in rep["splits"].items():
            assert sum(rep["labels"][split].values()) == n
            assert len(records(task, split)) == n


def test_cli_build_and_errors(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", "--sources", str(SOURCES), "--out", str(out), "--config", str(CONFIG),
                 "--tasks", "SA", "--sizes", "3"]) == 0
    assert json.loads((out / "build_report.json").read_text())["tasks"]["SA"]["splits"]["train"] == 30
    (tmp_path / "empty").mkdir()
    assert main(["build", "--sources", str(tmp_path / "empty"), "--out", str(out), "--tasks", "sr"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "empty" / "amazon_review_2018" / "meta_Electronics.json.gz") in err
    assert main(["build", "--sources", str(SOURCES), "--out", str(out), "--tasks", "XX"]) == 2


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_cli_sources_not_a_folder_is_one_line_exit_2(tmp_path, capsys, kind):
    sources = tmp_path / "nope"
    if kind == "file":
        sources.write_text("not a folder")
    out = tmp_path / "out"
    assert main(["build", "--sources", str(sources), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and not captured.out
    assert str(sources) in lines[0]
    assert ("does not exist" if kind == "missing" else "is not a folder") in lines[0]
    assert "missing" not in lines[0] and not out.exists()
    with pytest.raises(SourcesFolderError):  # the library says the same, before any per-file check
        build(sample_config(out, sources=sources), ["SA"], **QUIET)


@pytest.mark.parametrize("task", ["PRP", "SA", "SR"])
def test_cli_category_both_ind_and_ood_is_one_line_exit_2(tmp_path, capsys, task):
    conf = tmp_path / "build.json"
    conf.write_text(json.dumps({"categories": {task: {"ind": ["Gift_Cards"], "ood": ["Gift_Cards"]}}}))
    out = tmp_path / "out"
    rc = main(["build", "--sources", str(SOURCES), "--out", str(out), "--config", str(conf), "--tasks", task])
    captured = capsys.readouterr()
    assert rc == 2 and not captured.out
    assert captured.err.splitlines() == [
        f"ecinstruct build: {task}: categories ['Gift_Cards'] are both IND and OOD"]
    assert not out.exists()


def test_report_keeps_labels_sizes_and_the_modules_breakdowns(tmp_path):
    cfg = sample_config(tmp_path, sizes=10)
    build(cfg, ["QPR", "AG", "SA"], **QUIET)
    report = json.loads((tmp_path / "build_report.json").read_text())["tasks"]

    def tally(values):
        return dict(sorted(Counter(values).items()))

    for task in ("QPR", "AG", "SA"):
        rep = report[task]
        assert set(rep["splits"]) == {p.stem for p in (tmp_path / task).glob("*.jsonl")}
        for split, n in rep["splits"].items():
            recs = read_jsonl(tmp_path / task / f"{split}.jsonl")
            assert len(recs) == n and sum(rep["labels"][split].values()) == n
            if task != "AG":  # AG's outputs are free text
                assert rep["labels"][split] == tally(r["output"] for r in recs)
            if task == "QPR":
                assert rep["breakdowns"]["list_size"][split] == tally(f"{len(r['relevance'])} products" for r in recs)
            else:
                assert rep["breakdowns"]["category"][split] == tally(r["category"] for r in recs)
    assert set(report["QPR"]["breakdowns"]) == {"list_size"}  # ESCI has no categories
    assert set(report["AG"]["breakdowns"]["category"]["test_ood"]) == {"Cell_Phones_and_Accessories"}
    assert set(report["SA"]["breakdowns"]["category"]["train"]) == {"Gift_Cards", "Magazine_Subscriptions"}


def test_parse_tasks():
    assert parse_tasks("sr, sa") == ["SA", "SR"]
    assert parse_tasks(None)[0] == "AVE" and len(parse_tasks("all")) == 10
    with pytest.raises(KeyError):
        parse_tasks("SRR")


def test_sources_can_be_copied_anywhere(tmp_path):
    # A sources folder is self-contained: a copy builds the same data.
    shutil.copytree(SOURCES / "mave", tmp_path / "src" / "mave")
    build(sample_config(tmp_path / "out", sources=tmp_path / "src"), ["AVE"], **QUIET)
    assert _files(tmp_path / "out")["AVE/train.jsonl"] == (built() / "AVE" / "train.jsonl").read_bytes()


def test_download_fetches_missing_files_or_says_where_to_put_them(tmp_path, monkeypatch):
    import urllib.error

    from ecinstruct_builders import sources
    from ecinstruct_builders.core import BuildConfig

    cfg = BuildConfig(sources=tmp_path / "src", out=tmp_path / "out",
                      categories={"SA": {"ind": ["Gift_Cards"], "ood": []}})
    real = SOURCES / "amazon_review_2018" / "review_5core" / "Gift_Cards_5.json.gz"
    monkeypatch.setattr(sources, "file_url", lambda source, name: real.as_uri())
    logs = []
    assert sources.download(["SA"], cfg, log=logs.append) == 0
    assert (tmp_path / "src" / "amazon_review_2018" / "Gift_Cards.json.gz").read_bytes() == real.read_bytes()
    assert sources.missing_files(["SA"], cfg) == []

    def offline(*_a, **_k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sources.urllib.request, "urlopen", offline)
    monkeypatch.setattr(sources, "file_url", lambda source, name: f"https://example.invalid/{name}")
    logs.clear()
    cfg.categories["SA"] = {"ind": ["Gift_Cards", "Electronics", "Sports_and_Outdoors"], "ood": []}
    assert sources.download(["SA"], cfg, log=logs.append) == 2
    text = "\n".join(logs)
    assert ("place amazon_review_2018 file Electronics.json.gz (or Electronics_5.json.gz) at "
            f"{tmp_path / 'src' / 'amazon_review_2018' / 'Electronics.json.gz'}") in text
    assert "Sports_and_Outdoors.json.gz" in text
    assert not list((tmp_path / "src").rglob("*.part"))


def test_changed_source_file_or_damaged_marker_triggers_rebuild(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SOURCES / "mave", src / "mave")
    cfg = sample_config(tmp_path / "out", sources=src, sizes=5)
    logs = []
    build(cfg, ["AVE"], log=logs.append)
    (tmp_path / "out" / "AVE" / ".done.json").write_text("{not json")
    logs.clear()
    build(cfg, ["AVE"], log=logs.append)
    assert logs[0] == "AVE: building ..."
    with open(src / "mave" / "mave_negatives.jsonl", "a") as f:
        f.write("\n")  # same data, but the file changed: rebuild to be safe
    logs.clear()
    build(cfg, ["AVE"], log=logs.append)
    assert logs[0] == "AVE: building ..."
    logs.clear()
    build(cfg, ["AVE"], log=logs.append)
    assert logs[0].startswith("AVE: up to date")


def test_progress_bars_only_when_asked_and_quiet_prints_nothing(tmp_path, capsys):
    build(sample_config(tmp_path / "a", sizes=5), ["SA"], log=lambda _m: None, show_progress=True)
    err = capsys.readouterr().err
    assert "SA: Gift_Cards_5.json.gz" in err and "rows" in err
    # Default: bars only on a terminal (pytest's captured stderr is not one).
    build(sample_config(tmp_path / "b", sizes=5), ["SA"], log=lambda _m: None)
    assert capsys.readouterr().err == ""
    assert main(["build", "--sources", str(SOURCES), "--out", str(tmp_path / "c"), "--config", str(CONFIG),
                 "--tasks", "SA", "--sizes", "5", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "a" / "SA" / "train.jsonl").read_bytes() == (tmp_path / "c" / "SA" / "train.jsonl").read_bytes()


def test_every_split_folder_copy_of_a_source_file_counts_for_resume(tmp_path):
    """MAVE's real layout has mave_positives.jsonl in train/, val/ and test/: a change to any one rebuilds."""
    from ecinstruct_builders.pipeline import fingerprint

    for split in ("train", "val", "test"):
        folder = tmp_path / "mave" / split / "00_All"
        folder.mkdir(parents=True)
        for name in ("mave_positives.jsonl", "mave_negatives.jsonl"):
            (folder / name).write_text("{}\n")
    cfg = sample_config(tmp_path / "out", sources=tmp_path)
    before = fingerprint("AVE", cfg)
    (tmp_path / "mave" / "val" / "00_All" / "mave_positives.jsonl").write_text("{}\n{}\n")
    assert fingerprint("AVE", cfg) != before


@pytest.mark.parametrize("task", ["AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG"])
def test_the_resume_fingerprint_reads_every_module_the_task_imports(task):
    """A rerun must rebuild after an upgrade changes any helper that shapes records, not only the task module."""
    from ecinstruct_builders.pipeline import code_files

    names = {p.name for p in code_files((f"ecinstruct_builders.tasks.{task.lower()}", "ecinstruct_builders.pipeline"))}
    # the text forms, word cut and splits; the default categories; the option texts (ecinstruct_eval); the task
    assert {"release.py", "sources.py", "tasks.py", "core.py", f"{task.lower()}.py"} <= names
