"""The Hub export: every config and split loads with load_dataset, as declared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from ecinstruct_builders.core import RECORD_FIELDS, read_jsonl

from ecinstruct_dataset import CONFIGS, DEFAULT_CONFIG, FEATURES, export
from ecinstruct_dataset.exporter import ROW_GROUP_ROWS
from ecinstruct_dataset.schema import RecordError
from ecinstruct_eval.cli import main
from ecinstruct_eval.tasks import TASKS

from .conftest import make_build


def _report(build_dir):
    return json.loads((build_dir / "build_report.json").read_text())["tasks"]


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_config_and_split_loads_with_the_reported_rows(name, export_dir, build_dir, hf_cache):
    ds = load_dataset(str(export_dir), name, cache_dir=str(hf_cache))
    spec = CONFIGS[name]
    assert list(ds) == list(spec.splits)
    report = _report(build_dir)
    for split, d in ds.items():
        assert d.features == FEATURES
        assert d.num_rows == sum(report[t]["splits"][split] for t in spec.tasks_with(split))
        ids = d["id"]
        assert len(set(ids)) == len(ids), f"{name}/{split}: duplicate ids"
        assert set(d["split"]) == {split}
        assert list(dict.fromkeys(d["task"])) == list(spec.tasks_with(split))  # task order kept


def test_named_splits_of_the_issue_load(export_dir, build_dir, hf_cache):
    report = _report(build_dir)
    sr = load_dataset(str(export_dir), "SR", split="test_ood", cache_dir=str(hf_cache))
    assert sr.num_rows == report["SR"]["splits"]["test_ood"]
    assert all(len(o) == 20 for o in sr["options"])
    mix = load_dataset(str(export_dir), "all", split="train", cache_dir=str(hf_cache))
    assert mix.num_rows == sum(t["splits"]["train"] for t in report.values())
    default = load_dataset(str(export_dir), cache_dir=str(hf_cache))
    assert DEFAULT_CONFIG == "all" and list(default) == ["train", "validation"]


def test_loaded_records_equal_the_build_records(export_dir, build_dir, hf_cache):
    for task in ("AVE", "QPR", "PM"):
        ds = load_dataset(str(export_dir), task, cache_dir=str(hf_cache))
        for split in TASKS[task].splits:
            assert ds[split].to_list() == read_jsonl(build_dir / task / f"{split}.jsonl")
    qpr = ds_qpr = load_dataset(str(export_dir), "QPR", split="test", cache_dir=str(hf_cache))
    assert all(len(r["relevance"]) == len(r["options"]) for r in ds_qpr)
    assert qpr.column_names == list(RECORD_FIELDS)


def test_ids_are_unique_across_a_tasks_splits(export_dir, hf_cache):
    for task in TASKS:
        ds = load_dataset(str(export_dir), task, cache_dir=str(hf_cache))
        ids = [i for d in ds.values() for i in d["id"]]
        assert len(ids) == len(set(ids)), task


def test_export_holds_only_data_and_the_card(export_dir):
    files = sorted(p.relative_to(export_dir).as_posix() for p in export_dir.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith(".py")]
    assert "README.md" in files
    # the build report travels with the data: it names where the test sets came from
    assert all(f in ("README.md", "build_report.json", "LICENSE.md") or (f.endswith(".parquet") and f.split("/")[0] in TASKS)
               for f in files)


def test_parquet_shards_suit_the_viewer(export_dir):
    for path in export_dir.rglob("*.parquet"):
        meta = pq.ParquetFile(path).metadata
        assert all(meta.row_group(i).num_rows <= ROW_GROUP_ROWS for i in range(meta.num_row_groups))
        schema = pq.read_schema(path)
        assert json.loads(schema.metadata[b"huggingface"])["info"]["features"] == FEATURES.to_dict()
        assert path.stat().st_size < 300 * 2**20


def test_export_is_byte_deterministic(build_dir, export_dir, tmp_path):
    again = tmp_path / "again"
    export(build_dir, again)
    assert _files(again) == _files(export_dir)
    export(build_dir, again)  # re-export over a previous export replaces it
    assert _files(again) == _files(export_dir)


def test_large_splits_are_sharded_and_reload_in_order(build_dir, tmp_path, hf_cache):
    out = tmp_path / "sharded"
    res = export(build_dir, out, max_shard_size="3KB", row_group_rows=2)
    files = res.config_files("SR")["train"]
    assert len(files) > 1
    assert files[0] == f"SR/train-00000-of-{len(files):05d}.parquet"
    for f in files:
        meta = pq.ParquetFile(out / f).metadata
        assert all(meta.row_group(i).num_rows <= 2 for i in range(meta.num_row_groups))
    ds = load_dataset(str(out), "SR", split="train", cache_dir=str(hf_cache / "sharded"))
    assert ds["id"] == [r["id"] for r in read_jsonl(build_dir / "SR" / "train.jsonl")]


def test_partial_build_exports_the_tasks_it_has(tmp_path, hf_cache):
    build = make_build(tmp_path / "b", tasks=("PM", "SR"))
    res = export(build, tmp_path / "out")
    assert res.configs == ("all", "PM", "SR")
    mix = load_dataset(str(tmp_path / "out"), "all", split="validation", cache_dir=str(hf_cache / "partial"))
    assert sorted(set(mix["task"])) == ["PM", "SR"]


def test_a_bad_record_is_reported_with_file_line_and_id(build_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(build_dir, bad)
    lines = (bad / "PM" / "train.jsonl").read_text().splitlines()
    rec = json.loads(lines[2])
    rec["options"] = "A: yes"
    lines[2] = json.dumps(rec)
    (bad / "PM" / "train.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=r"PM/train\.jsonl:3 \(id 'PM-train-00002'\): 'options'"):
        export(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_report_that_disagrees_with_the_files_is_refused(build_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(build_dir, bad)
    report = json.loads((bad / "build_report.json").read_text())
    report["tasks"]["SA"]["splits"]["test"] += 1
    (bad / "build_report.json").write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"SA/test: build_report.json says 5, SA/test.jsonl holds 4"):
        export(bad, tmp_path / "out")


def test_export_never_overwrites_a_foreign_folder(build_dir, tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        export(build_dir, precious)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_cli_export_and_verify(build_dir, tmp_path, capsys, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", tmp_path / "cache" / "downloads")
    out = tmp_path / "cli"
    argv = ["export", "--from", str(build_dir), "--out", str(out), "--max-shard-size", "50MB", "--verify"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "11 configs" in printed and "SR   train=12" in printed
    assert "verified: load_dataset opens all 11 configs" in printed


def test_cli_export_error_is_one_line_exit_2(tmp_path, capsys):
    assert main(["export", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("ecinstruct export: error:") and "does not exist" in err and str(tmp_path / "nope") in err
    assert err.count("\n") == 1 and not captured.out
    assert not (tmp_path / "o").exists()


def test_cli_export_error_on_a_broken_build_is_one_line_exit_2(build_dir, tmp_path, capsys):
    build = tmp_path / "b"
    shutil.copytree(build_dir, build)
    (build / "SR" / "test.jsonl").write_text("{not json\n", encoding="utf-8")
    assert main(["export", "--from", str(build), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecinstruct export: error:") and err.count("\n") == 1


def test_empty_splits_are_left_out_with_a_note(build_dir, tmp_path, hf_cache):
    build = tmp_path / "b"
    shutil.copytree(build_dir, build)
    report = json.loads((build / "build_report.json").read_text())
    for split in ("test_ood", "test_ood_unseen"):
        (build / "AG" / f"{split}.jsonl").write_text("")
        report["tasks"]["AG"]["splits"][split] = 0
    (build / "build_report.json").write_text(json.dumps(report))
    res = export(build, tmp_path / "out")
    assert res.notes == ["AG: test_ood, test_ood_unseen empty in the build, left out"]
    ds = load_dataset(str(tmp_path / "out"), "AG", cache_dir=str(hf_cache / "empty"))
    assert list(ds) == ["train", "validation", "test", "test_unseen"]
    assert "Not in this build: AG: test_ood" in (tmp_path / "out" / "README.md").read_text()


def test_folder_named_like_the_script_loads_by_relative_name(export_dir, hf_cache, tmp_path, monkeypatch):
    # The trap of the released layout: a folder holding ECInstruct.py is refused by datasets >= 4.
    # The export holds no script, and a script lying *beside* it (a repo checkout) does not matter.
    site = tmp_path / "checkout"
    shutil.copytree(export_dir, site / "ECInstruct")
    shutil.copy(Path(__file__).resolve().parents[2] / "ECInstruct.py", site / "ECInstruct.py")
    monkeypatch.chdir(site)
    ds = load_dataset("ECInstruct", "SR", split="test_ood", cache_dir=str(hf_cache / "relative"))
    assert ds.num_rows == 2


def test_an_id_reused_in_another_split_is_refused(build_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(build_dir, bad)
    path = bad / "PSI" / "validation.jsonl"
    path.write_text(path.read_text().replace('"PSI-validation-00001"', '"PSI-train-00004"'))
    with pytest.raises(ValueError, match="PSI: id 'PSI-train-00004' occurs in both train and validation"):
        export(bad, tmp_path / "out")


def test_the_card_links_the_licence_of_each_source(export_dir):
    card = (export_dir / "README.md").read_text(encoding="utf-8")
    assert "\nlicense: other\n" in card and "\nlicense_link: LICENSE.md\n" in card
    licence = (export_dir / "LICENSE.md").read_text(encoding="utf-8")
    for source in ("Amazon Review 2018", "Amazon-Google Products", "Shopping Queries Dataset", "AmazonQA"):
        assert source in licence and source in card
    assert "CC BY 4.0" in licence and "Apache License 2.0" in licence
