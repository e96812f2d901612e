"""The rendered dataset card: valid metadata (huggingface_hub card tools), generated content."""

from __future__ import annotations

import json
import re

import pytest
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from ecinstruct_builders.instructions import INSTRUCTIONS
from huggingface_hub import DatasetCard, DatasetCardData

import ecinstruct_eval
from ecinstruct_dataset import CONFIGS, FEATURES
from ecinstruct_dataset.card import find_template, render_template, size_category
from ecinstruct_eval.tasks import TASKS


@pytest.fixture(scope="module")
def card(export_dir):
    return DatasetCard.load(export_dir / "README.md", ignore_metadata_errors=False)


def _counts(build_dir):
    return json.loads((build_dir / "build_report.json").read_text())["tasks"]


def test_card_metadata_validates_with_huggingface_hub(card):
    data = card.data.to_dict()
    # round trip through the typed card data: no field is rejected or lost
    again = DatasetCardData(**data, ignore_metadata_errors=False)
    assert again.to_dict() == data
    assert data["pretty_name"] == "ECInstruct"
    assert data["license"] == "other" and data["license_name"]
    assert data["language"] == ["en"]
    assert set(data["task_categories"]) >= {"text-generation", "text-classification", "question-answering"}
    assert data["size_categories"] == ["n<1K"]


def test_configs_block_maps_every_config_and_split_to_existing_files(card, export_dir):
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    assert list(configs) == ["all"] + list(TASKS)
    assert [n for n, c in configs.items() if c.get("default")] == ["all"]
    for name, cfg in configs.items():
        splits = {d["split"]: d["path"] for d in cfg["data_files"]}
        assert list(splits) == list(CONFIGS[name].splits)
        for paths in splits.values():
            assert paths and all((export_dir / p).is_file() for p in paths)


def test_dataset_info_declares_features_and_split_sizes(card, build_dir):
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    counts = _counts(build_dir)
    for name, info in infos.items():
        assert info.features == FEATURES
        for split, si in info.splits.items():
            assert si.num_examples == sum(counts[t]["splits"][split] for t in CONFIGS[name].tasks_with(split))


def test_splits_table_is_generated_from_the_build(card, build_dir):
    counts = _counts(build_dir)
    table = card.text.split("Rows per config and split")[1].split("\n\n")[1].splitlines()
    rows = {r.split("|")[1].strip(" `"): [c.strip() for c in r.strip("|").split("|")[1:]]
            for r in table[2:]}
    assert rows["SR"] == [str(counts["SR"]["splits"][s]) for s in TASKS["SR"].splits]
    assert rows["PM"][-2:] == ["–", "–"]  # no OOD test sets
    assert rows["all"][:2] == [str(sum(c["splits"][s] for c in counts.values()))
                               for s in ("train", "validation")]


def test_card_shows_an_example_and_the_six_instructions_of_every_task(card):
    text = card.text
    assert not re.search(r"\{\{\s*\w+\s*\}\}", text) and "<!--" not in text
    for code in TASKS:
        assert f'"id": "{code}-train-00000"' in text
        block = text.split(f"**{code}** ({TASKS[code].name})")[-1]  # the instructions section
        for instruction in (*INSTRUCTIONS[code].seen, INSTRUCTIONS[code].unseen):
            assert instruction in block, (code, instruction[:40])


def test_card_tells_how_to_load_evaluate_and_cite(card):
    text = card.text
    assert "It holds 202 samples of 10 tasks (254 rows" in text
    assert "Built with seed 1 and at most 30 training and 3 validation and test samples" in text
    assert 'load_dataset("path/to/ECInstruct", "SR", split="test_ood")' in text
    assert 'ecinstruct_eval.score(predictions, "SR", references=refs)' in text
    assert "Peng, Bo and Ling, Xinyi and Chen, Ziru and Sun, Huan and Ning, Xia" in text
    for licence in ("CC BY 4.0", "Apache License 2.0", "not specified"):
        assert licence in text


def test_backticks_in_data_cannot_break_the_code_fences(card):
    fences = re.findall(r"^(`{3,})", card.text, flags=re.M)
    assert len(fences) % 2 == 0


def test_template_placeholders_must_all_be_filled():
    with pytest.raises(KeyError, match="missing_one"):
        render_template("{{ a }} {{ missing_one }}", {"a": "x"})
    assert find_template().name == "dataset_card.md"


@pytest.mark.parametrize("n,expected", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                         (116_528, "100K<n<1M"), (4_800_000, "1M<n<10M")])
def test_size_category(n, expected):
    assert size_category(n) == expected


def test_the_cards_evaluation_recipe_runs(export_dir, hf_cache):
    from datasets import load_dataset

    refs = load_dataset(str(export_dir), "SR", split="test_ood", cache_dir=str(hf_cache))
    result = ecinstruct_eval.score(list(refs["output"]), "SR", references=refs)
    assert result.primary == "hr@1" and result[result.primary] == 1.0 and result.n_failed == 0
    wrong = ["Z"] * refs.num_rows
    assert ecinstruct_eval.score(wrong, "SR", references=refs)[result.primary] == 0.0


def _task_rows(text: str) -> dict[str, dict[str, str]]:
    table = text.split("## The ten tasks")[1].split("\n\n")[1].splitlines()
    header = [c.strip() for c in table[0].strip("|").split("|")]
    return {row.split("|")[1].strip(" `"): dict(zip(header, (c.strip() for c in row.strip("|").split("|"))))
            for row in table[2:]}


def test_task_table_shows_the_builds_categories_next_to_the_papers(card):
    rows = _task_rows(card.text)
    assert list(rows) == list(TASKS)
    for code, row in rows.items():
        assert row["IND source (paper)"] == TASKS[code].ind_source
        assert row["OOD test (paper)"] == (TASKS[code].ood_source if TASKS[code].has_ood else "–")
    # the fixture build's records: SR "Electronics" in every split, PM without categories
    assert rows["SR"]["IND categories (this build)"] == rows["SR"]["OOD test (this build)"] == "Electronics"
    assert rows["PM"]["IND categories (this build)"] == rows["PM"]["OOD test (this build)"] == "–"
    assert "Sports_and_Outdoors" not in rows["SR"]["IND categories (this build)"]
    note = card.text.split("## The ten tasks")[1].split("One example per task")[0]
    assert "This build takes SR, AG from other product categories than the paper" in note


def _result(categories, attribute_names=None):
    from pathlib import Path

    from ecinstruct_dataset.exporter import ExportResult, SplitFiles

    splits = {t: {s: SplitFiles([], 1, 1, 1) for s in by_split} for t, by_split in categories.items()}
    return ExportResult(out=Path("unused"), splits=splits, categories=categories,
                        attribute_names=attribute_names or {})


def test_build_categories_from_records():
    from ecinstruct_dataset.card import build_categories, categories_note

    paper_sa = {"train": {"Electronics": 5, "Home_and_Kitchen": 4, "Sports_and_Outdoors": 3},
                "test": {"Electronics": 1}, "test_ood": {"Tools_and_Home_Improvement": 2}}
    ave = {"train": {"Boots": 3, "Dresses": 2}, "test_ood": {"Boots": 1}}
    result = _result({"SA": paper_sa, "AVE": ave, "PM": {"train": {"": 4}, "test": {"": 1}}},
                     {"AVE": {"train": {"color", "size"}, "test_ood": {"color", "neckline"}}})
    assert build_categories(result) == {
        "SA": ("Electronics, Home_and_Kitchen, Sports_and_Outdoors", "Tools_and_Home_Improvement"),
        "AVE": ("Boots, Dresses", "1 held-out attribute: neckline"),
        "PM": ("–", "–"),
    }
    assert categories_note(result) == ""  # the paper's categories: nothing to warn about
    samples = _result({"SA": {"train": {"Gift_Cards": 3, "Magazine_Subscriptions": 2},
                              "test_ood": {"All_Beauty": 1}}})
    assert build_categories(samples)["SA"] == ("Gift_Cards, Magazine_Subscriptions", "All_Beauty")
    assert categories_note(samples).startswith("This build takes SA from other product categories")
