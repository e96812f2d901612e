"""ECInstruct.py without load_dataset, and push-to-hub without a network."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest
from datasets import load_dataset
from ecinstruct_builders.core import read_jsonl

import ECInstruct as ecinstruct_script
from ecinstruct_dataset import CONFIGS, FEATURES
from ecinstruct_dataset.hub import HubPushError, push_to_hub
from ecinstruct_eval.cli import main
from ecinstruct_eval.tasks import TASKS

ECInstruct = ecinstruct_script.ECInstruct


def test_configs_are_data_classes_carrying_tasks_and_splits():
    configs = {c.name: c for c in ECInstruct.BUILDER_CONFIGS}
    assert list(configs) == list(TASKS) + ["all"]
    for code, spec in TASKS.items():
        assert dataclasses.is_dataclass(configs[code])
        assert configs[code].tasks == (code,) and configs[code].splits == spec.splits
    assert configs["all"].tasks == tuple(TASKS) and configs["all"].splits == ("train", "validation")
    assert ECInstruct.DEFAULT_CONFIG_NAME == "all"


@pytest.mark.parametrize("name", ["SR", "PM", "all"])
def test_builder_materializes_arrow_shards_without_load_dataset(name, build_dir, tmp_path):
    builder = ECInstruct(config_name=name, data_dir=str(build_dir), cache_dir=str(tmp_path))
    builder.download_and_prepare()
    ds = builder.as_dataset()
    assert list(ds) == list(CONFIGS[name].splits)
    for split, d in ds.items():
        assert d.features == FEATURES
        expected = [r for t in CONFIGS[name].tasks_with(split)
                    for r in read_jsonl(build_dir / t / f"{split}.jsonl")]
        assert d.to_list() == expected
    assert list((tmp_path / f"ecinstruct_{name.lower()}").rglob("*.arrow"))


def test_builder_and_export_give_the_same_rows(build_dir, export_dir, tmp_path, hf_cache):
    builder = ECInstruct(config_name="SR", data_dir=str(build_dir), cache_dir=str(tmp_path))
    builder.download_and_prepare()
    built = builder.as_dataset(split="test_ood")
    exported = load_dataset(str(export_dir), "SR", split="test_ood", cache_dir=str(hf_cache))
    assert built.to_list() == exported.to_list()


def test_configs_and_builds_never_share_a_cache(build_dir, tmp_path):
    sr = ECInstruct(config_name="SR", data_dir=str(build_dir), cache_dir=str(tmp_path))
    sa = ECInstruct(config_name="SA", data_dir=str(build_dir), cache_dir=str(tmp_path))
    assert sr.dataset_name == "ecinstruct_sr" and sa.dataset_name == "ecinstruct_sa"
    assert sr.cache_dir != sa.cache_dir
    # a rebuilt folder (other bytes, same path) gets a fresh cache, never the stale one
    copy = tmp_path / "build"
    shutil.copytree(build_dir, copy)
    before = ECInstruct(config_name="PM", data_dir=str(copy), cache_dir=str(tmp_path)).cache_dir
    path = copy / "PM" / "test.jsonl"
    path.write_text(path.read_text().replace("« café »", "cafe"))
    after = ECInstruct(config_name="PM", data_dir=str(copy), cache_dir=str(tmp_path)).cache_dir
    assert before != after


def test_builder_without_data_says_how_to_point_at_it(tmp_path):
    builder = ECInstruct(config_name="SR", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="pass data_dir=BUILD"):
        builder.download_and_prepare()


def test_push_to_hub_offline_fails_with_one_sentence(export_dir, build_dir, tmp_path, capsys):
    start = time.monotonic()
    out = tmp_path / "o"
    code = main(["export", "--from", str(build_dir), "--out", str(out), "--push-to-hub", "me/ECInstruct"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "offline mode is on (HF_HUB_OFFLINE=1)" in err
    assert (out / "README.md").is_file()  # the export itself was written
    assert 'load_dataset("me/ECInstruct", "SR"' in (out / "README.md").read_text()
    assert time.monotonic() - start < 30


def test_push_to_hub_without_network_fails_fast(export_dir, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    start = time.monotonic()
    with pytest.raises(HubPushError, match="unreachable"):
        push_to_hub(export_dir, "me/ECInstruct", token="hf_fake", endpoint="http://127.0.0.1:9")
    assert time.monotonic() - start < 15


def test_push_to_hub_without_token_says_how_to_log_in(export_dir, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(HubPushError, match="no Hugging Face token found; run `hf auth login`"):
        push_to_hub(export_dir, "me/ECInstruct")


SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_builder_materializes_from_raw_sources_through_the_pipeline(tmp_path):
    opts = {"config": str(SAMPLES / "sample_build.json")}
    builder = ECInstruct(config_name="PM", sources=str(SAMPLES / "sources"), build_options=opts,
                         cache_dir=str(tmp_path))
    builder.download_and_prepare()
    ds = builder.as_dataset()
    # the real Leipzig files give the paper's PM sizes (Table A3)
    assert {s: d.num_rows for s, d in ds.items()} == {
        "train": 2022, "validation": 253, "test": 253, "test_unseen": 253}
    assert ds["test"].features == FEATURES
