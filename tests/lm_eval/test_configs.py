"""The shipped lm-eval task folder and ``ecinstruct lm-eval-path``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from ecinstruct_eval import lm_eval_cli
from ecinstruct_eval.lm_eval_tasks import (
    COMMON_FILE,
    FILTER_NAME,
    NO_DATA_MESSAGE,
    STOP_SEQUENCES,
    TASKS_DIR,
    UNSET_DATASET,
    answer_text,
    metric_names,
    render_configs,
    write_configs,
)
from ecinstruct_eval.tasks import TASKS


class _Loader(yaml.SafeLoader):
    """Reads lm-eval YAML without importing the hooks (``!function`` -> its dotted name)."""


_Loader.add_constructor("!function", lambda loader, node: "!function " + node.value)


def _load(text: str) -> dict:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    lm_eval_cli.configure_parser(parser)
    return lm_eval_cli.run(parser.parse_args(list(argv)))


def test_shipped_yaml_files_are_the_generated_ones():
    shipped = {p.name: p.read_text(encoding="utf-8") for p in TASKS_DIR.glob("*.yaml")}
    assert shipped == render_configs(UNSET_DATASET), (
        "regenerate with: python -c 'from ecinstruct_eval.lm_eval_tasks import *; "
        "write_configs(UNSET_DATASET, out=TASKS_DIR)'"
    )
    assert _load(shipped[COMMON_FILE])["dataset_path"] == UNSET_DATASET


def test_the_shipped_folder_refuses_to_load_with_a_pointer_to_lm_eval_path():
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    with pytest.raises(ValueError, match="ecinstruct lm-eval-path --data DATA") as info:
        manager.load(["ecinstruct_sa"])
    assert NO_DATA_MESSAGE in str(info.value)


def test_one_task_per_task_and_test_set_and_the_groups():
    configs = {name: _load(text) for name, text in render_configs().items()}
    tasks = {c["task"]: c for c in configs.values() if "task" in c and isinstance(c["task"], str)}
    groups = {c["group"]: c["task"] for c in configs.values() if "group" in c}
    expected = {}
    for code, spec in TASKS.items():
        expected[f"ecinstruct_{code.lower()}"] = "test"
        expected[f"ecinstruct_{code.lower()}_unseen"] = "test_unseen"
        if spec.has_ood:
            expected[f"ecinstruct_{code.lower()}_ood"] = "test_ood"
            expected[f"ecinstruct_{code.lower()}_ood_unseen"] = "test_ood_unseen"
    assert {name: c["test_split"] for name, c in tasks.items()} == expected
    assert len(tasks) == 32
    for name, config in tasks.items():
        assert config["include"] == COMMON_FILE
        assert name.split("_")[1].upper() == config["dataset_name"]
    assert groups["ecinstruct"] == ["ecinstruct_ind", "ecinstruct_ood"]
    assert len(groups["ecinstruct_ind"]) == 10 and len(groups["ecinstruct_ood"]) == 6
    assert all(t.endswith("_ood") for t in groups["ecinstruct_ood"])
    assert len(groups["ecinstruct_unseen"]) == 16


def test_generation_and_metric_settings():
    configs = {name: _load(text) for name, text in render_configs().items()}
    sa, ag, qpr = (configs[f"ecinstruct_{c}.yaml"] for c in ("sa", "ag", "qpr"))
    for config in (sa, ag, qpr):
        kwargs = config["generation_kwargs"]
        assert kwargs["until"] == list(STOP_SEQUENCES) and kwargs["do_sample"] is False
        # lm-eval cuts at a stop found anywhere, position 0 included: a stop that a
        # leading blank line could match would turn "\n\nB" into "".
        assert all(stop.strip() for stop in kwargs["until"])
    assert ag["generation_kwargs"]["max_gen_toks"] > sa["generation_kwargs"]["max_gen_toks"]
    assert [m["metric"] for m in qpr["metric_list"]] == ["ndcg", "n_failed"]
    assert [m["metric"] for m in sa["metric_list"]][0] == "macro_f1"
    for code in TASKS:
        assert metric_names(code)[0] == TASKS[code].primary_metric
    failed = qpr["metric_list"][1]
    assert failed["higher_is_better"] is False
    assert failed["aggregation"].endswith("utils.agg_n_failed")
    common = _load(render_configs()[COMMON_FILE])
    assert common["output_type"] == "generate_until"
    assert common["fewshot_split"] == "train"
    assert "num_fewshot" not in common  # a config value of 0 would make lm-eval ignore --num_fewshot
    (answer_filter,) = common["filter_list"]
    assert answer_filter["name"] == FILTER_NAME
    assert [f["function"] for f in answer_filter["filter"]] == ["custom", "take_first"]
    assert answer_filter["filter"][0]["filter_fn"].endswith("utils.answer_filter")


@pytest.mark.parametrize(
    ("generation", "answer"),
    [
        ("\n\nB", "B"),  # the model opens with a blank line
        ("\n \n  B: positive\n\nThe review is upbeat.", "B: positive"),
        (" yes\n \nno", "yes"),
        ("C, A, B", "C, A, B"),
        ('[{"attribute": "color",\n  "value": "red", "source": "title"}]\n\nDone.',
         '[{"attribute": "color",\n  "value": "red", "source": "title"}]'),
        ("\n\n", ""),
        ("", ""),
    ],
)
def test_answer_text_skips_leading_blank_lines_and_stops_at_the_next(generation, answer):
    assert answer_text(generation) == answer


def test_every_aggregation_hook_exists():
    pytest.importorskip("lm_eval")
    from ecinstruct_eval.lm_eval_tasks import utils

    for text in render_configs().values():
        for metric in _load(text).get("metric_list", []):
            name = metric["aggregation"].rsplit(".", 1)[1]
            assert callable(getattr(utils, name)), name
            assert getattr(utils, name).__name__ == name


def test_relative_data_path_is_written_absolute(tmp_path, monkeypatch, hub_dir):
    # The trap: lm-eval hands dataset_path to load_dataset as is.
    monkeypatch.chdir(hub_dir.parent)
    out = write_configs(hub_dir.name, out=tmp_path / "tasks")
    common = _load((out / COMMON_FILE).read_text())
    assert common["dataset_path"] == str(hub_dir.resolve())
    assert (out / "ecinstruct_sa.yaml").is_file()


def test_build_folder_uses_the_json_loader_with_absolute_files(tmp_path, monkeypatch, build_dir):
    monkeypatch.chdir(build_dir.parent)
    out = write_configs(build_dir.name, out=tmp_path / "tasks")
    names = sorted(p.name for p in out.glob("*.yaml"))
    # Only the test sets the build holds (SA and QPR, IND test only).
    assert names == [COMMON_FILE, "ecinstruct.yaml", "ecinstruct_ind.yaml",
                     "ecinstruct_qpr.yaml", "ecinstruct_sa.yaml"]
    sa = _load((out / "ecinstruct_sa.yaml").read_text())
    assert sa["dataset_path"] == "json"
    assert sa["dataset_kwargs"]["data_files"] == {
        "train": str(build_dir.resolve() / "SA" / "train.jsonl"),
        "test": str(build_dir.resolve() / "SA" / "test.jsonl"),
    }
    assert _load((out / "ecinstruct.yaml").read_text())["task"] == ["ecinstruct_ind"]


def test_rewriting_a_folder_removes_stale_tasks(tmp_path, build_dir, hub_dir):
    out = tmp_path / "tasks"
    write_configs(hub_dir, out=out)
    (out / "notes.txt").write_text("kept")
    write_configs(build_dir, out=out)
    assert not (out / "ecinstruct_sa_ood.yaml").exists()
    assert (out / "notes.txt").read_text() == "kept"


@pytest.mark.parametrize("argv", [(), ("--out", "tasks")])
def test_cli_without_data_fails_with_one_sentence(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("ECINSTRUCT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert _cli(*argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err.strip()
    assert "\n" not in message and message.count(". ") == 0 and message.endswith(".")
    assert "pass --data" in message and "ECINSTRUCT_DATA" in message
    assert "exported folder, a build folder or the Hub id" in message
    assert not (tmp_path / "tasks").exists()


def test_cli_writes_a_resolved_copy_for_local_data(capsys, monkeypatch, tmp_path, hub_dir):
    monkeypatch.setenv("ECINSTRUCT_DATA", str(hub_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _cli() == 0
    folder = capsys.readouterr().out.strip()
    assert folder.startswith(str(tmp_path / "cache"))
    assert json.dumps(str(hub_dir)) in (Path(folder) / COMMON_FILE).read_text()


def test_cli_fails_clearly_on_a_missing_folder(capsys, tmp_path):
    assert _cli("--data", str(tmp_path / "missing"), "--out", str(tmp_path / "t")) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_registers_the_subcommand():
    from ecinstruct_eval.cli import COMMANDS

    assert ("lm-eval-path", "ecinstruct_eval.lm_eval_cli") in [c[:2] for c in COMMANDS]


@pytest.mark.parametrize(
    ("code", "prediction", "reference"),
    [
        ("SA", "A", "A"),
        ("PM", "yes", "yes"),
        ("SR", "C", "C"),
        ("QPR", "A, B", {"output": "A, B", "options": ["A: x", "B: y"], "relevance": ["E", "I"]}),
        ("AVE", '[{"attribute": "color", "value": "red", "source": "title"}]',
         {"output": '[{"attribute": "color", "value": "red", "source": "title"}]',
          "attributes": [{"attribute": "color", "value": "red", "source": "title"}]}),
    ],
)
def test_task_metrics_are_names_ecinstruct_score_reports(code, prediction, reference):
    from ecinstruct_eval import score

    result = score([prediction], code, [reference])
    assert set(metric_names(code)) - {"n_failed"} <= set(result)


@pytest.mark.parametrize("style, stop", [("alpaca", "### Response:"), ("mistral", "[/INST] ### Response:"),
                                         ("flan-t5", None)])
def test_released_prompt_format_configs(style, stop):
    files = render_configs("/data/hub", prompt_format="released", prompt_style=style)
    common = _load(files[COMMON_FILE])
    assert common["metadata"]["prompt_format"] == "released" and common["metadata"]["prompt_style"] == style
    hook = common["filter_list"][0]["filter"][0]["filter_fn"]
    assert hook.endswith("released_answer_filter_" + style.replace("-", "_"))
    sa = _load(files["ecinstruct_sa.yaml"])
    assert sa["generation_kwargs"]["until"] == ([stop] if stop else [])
    # Default and the shipped files: Appendix E, no prompt metadata.
    assert "prompt_format" not in _load(render_configs("/data/hub")[COMMON_FILE])["metadata"]
    with pytest.raises(ValueError):
        render_configs("/data/hub", prompt_format="alpaca")


def test_released_prompt_renders_through_the_task_hooks():
    pytest.importorskip("lm_eval")
    from ecinstruct_eval.lm_eval_tasks import utils
    from ecinstruct_eval.prompts import build_released_prompt

    doc = {"id": "SA-test-00000", "task": "SA", "instruction": "Pick.", "input": "good",
           "options": ["A: good", "B: bad"], "output": "A: good"}
    for style in ("alpaca", "mistral", "flan-t5"):
        meta = {"prompt_format": "released", "prompt_style": style}
        assert utils._build_prompt(doc, None, meta) == build_released_prompt(doc, style=style)
    assert '### Options:\n["A: good", "B: bad"]\n\n [/INST] ### Response:\n' in utils._build_prompt(
        doc, None, {"prompt_format": "released", "prompt_style": "mistral"})
    assert utils._build_prompt(doc) == utils.doc_to_text(doc)  # Appendix E without metadata
    assert utils.released_answer_filter_alpaca([["A: good\n\n### Response:\nB"]], [doc]) == [["A: good"]]
    assert utils.released_answer_filter_mistral([[" B \n[/INST] ### Response: A"]], [doc]) == [["B"]]
    assert utils.released_answer_filter_flan_t5([[" B ### Response: A "]], [doc]) == [["B ### Response: A"]]


def test_cli_writes_released_format(capsys, tmp_path, hub_dir):
    assert _cli("--data", str(hub_dir), "--out", str(tmp_path / "rel"), "--prompt-format", "released",
                "--prompt-style", "mistral") == 0
    common = _load((tmp_path / "rel" / COMMON_FILE).read_text())
    assert common["metadata"]["prompt_style"] == "mistral"
