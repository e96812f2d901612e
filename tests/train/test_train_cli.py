"""The whole loop through the CLI: train two steps, resume, load the adapter, predict, score."""

import json
import logging
import shutil
import sys
import types
from pathlib import Path

import pytest
from ecinstruct_leaderboard.baselines import METHODS

from ecinstruct_eval.cli import main


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _train(base, build, out, *extra):
    return main([
        "train", "--base", str(base), "--data", str(build), "--out", str(out), "--batch-size", "4",
        "--micro-batch-size", "2", "--save-steps", "1", "--logging-steps", "1", *extra,
    ])


def test_causal_train_resume_predict_score(tmp_path, build_dir, tiny_llama, caplog):
    out = tmp_path / "adapter"
    assert _train(tiny_llama, build_dir, out, "--tasks", "SA,SR", "--max-steps", "2", "--arch", "causal") == 0
    meta = json.loads((out / "ecellm.json").read_text())
    assert meta["global_step"] == 2 and meta["tasks"] == ["SA", "SR"] and meta["arch"] == "causal"
    assert meta["gradient_accumulation_steps"] == 2
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == 16 and adapter_cfg["lora_alpha"] == 16
    assert set(adapter_cfg["target_modules"]) == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"
    }
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert not (out / ".staging").exists()

    # An interruption after step 1: the last checkpoint and the final adapter are gone,
    # and a half-written checkpoint sits in the staging area.
    shutil.rmtree(out / "checkpoint-2")
    (out / "ecellm.json").unlink()
    (out / ".staging" / "checkpoint-2").mkdir(parents=True)
    caplog.set_level(logging.WARNING, logger="ecellm.trainer")
    assert _train(tiny_llama, build_dir, out, "--tasks", "SA,SR", "--max-steps", "3") == 0
    assert any("resuming from" in r.message and r.message.endswith("checkpoint-1") for r in caplog.records)
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2, 3]
    assert json.loads((out / "ecellm.json").read_text())["global_step"] == 3

    preds_path = tmp_path / "preds.jsonl"
    assert main([
        "predict", "--adapter", str(out), "--data", str(build_dir), "--config", "sr", "--split", "test_ood",
        "--out", str(preds_path), "--batch-size", "3", "--max-new-tokens", "4", "--no-progress",
    ]) == 0
    preds = _read_jsonl(preds_path)
    from ecinstruct_eval.data import load_split

    gold = load_split("SR", "test_ood", build_dir)
    assert [p["id"] for p in preds] == [r["id"] for r in gold]
    assert {(p["task"], p["split"]) for p in preds} == {("SR", "test_ood")}
    assert all(isinstance(p["prediction"], str) for p in preds)

    from ecellm.predictor import write_predictions
    from ecinstruct_eval import score

    result = score(preds_path, "SR", references=gold, split="test_ood")
    assert result.n == len(gold) and 0.0 <= result["hr@1"] <= 1.0
    # The file format is the evaluator's: gold outputs written the same way score 1.0.
    write_predictions(tmp_path / "gold.jsonl", gold, [r["output"] for r in gold])
    assert score(tmp_path / "gold.jsonl", "SR", references=gold)["hr@1"] == 1.0


def test_seq2seq_train_and_one_shot_predict(tmp_path, build_dir, tiny_t5):
    out = tmp_path / "t5"
    assert _train(tiny_t5, build_dir, out, "--tasks", "AG", "--max-steps", "2", "--instructions", "single") == 0
    meta = json.loads((out / "ecellm.json").read_text())
    assert meta["arch"] == "seq2seq"
    assert set(json.loads((out / "adapter_config.json").read_text())["target_modules"]) == {
        "q", "k", "v", "o", "wi_0", "wi_1", "wo", "lm_head"
    }
    preds_path = tmp_path / "ag.jsonl"
    assert main([
        "predict", "--adapter", str(out), "--data", str(build_dir), "--config", "AG", "--split", "test",
        "--shots", "1", "--out", str(preds_path), "--max-new-tokens", "5", "--no-progress",
    ]) == 0
    assert [p["id"] for p in _read_jsonl(preds_path)] == [f"AG-test-{i:05d}" for i in range(4)]


def test_missing_model_offline_is_one_clear_sentence(tmp_path, build_dir, capsys):
    rc = main(["train", "--base", "mistral-7b", "--data", str(build_dir), "--tasks", "SA", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert "'mistralai/Mistral-7B-Instruct-v0.2' is not on this machine" in err
    assert "HF_HUB_OFFLINE=1" in err and "--allow-download" in err and err.count(".") <= 3
    rc = main(["predict", "--model", str(tmp_path / "nowhere"), "--data", str(build_dir), "--config", "SA",
               "--split", "test", "--out", str(tmp_path / "p.jsonl")])
    assert rc == 2 and "is not on this machine" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_baseline_models_dispatch_to_the_leaderboard(tmp_path, build_dir, monkeypatch):
    calls = {}

    def fake_predict(records, method, *, train_records, seed):
        calls.update(method=method, n_train=len(train_records), seed=seed)
        return ["A"] * len(records)

    monkeypatch.setitem(sys.modules, "ecinstruct_leaderboard.baselines", types.SimpleNamespace(predict=fake_predict, METHODS=METHODS))
    out = tmp_path / "maj.jsonl"
    assert main(["predict", "--model", "baseline:majority", "--data", str(build_dir), "--config", "SA",
                 "--split", "test", "--out", str(out), "--seed", "7"]) == 0
    assert calls == {"method": "majority", "n_train": 8, "seed": 7}
    assert [p["prediction"] for p in _read_jsonl(out)] == ["A"] * 4


def test_vllm_backend_without_vllm_says_how_to_get_it(tmp_path, build_dir, tiny_llama, capsys):
    pytest.importorskip("transformers")
    if "vllm" in sys.modules or __import__("importlib").util.find_spec("vllm"):
        pytest.skip("vllm is installed")
    rc = main(["predict", "--model", str(tiny_llama), "--backend", "vllm", "--data", str(build_dir),
               "--config", "SA", "--split", "test", "--out", str(tmp_path / "p.jsonl")])
    assert rc == 2 and "pip install vllm" in capsys.readouterr().err


def test_several_configs_and_splits_go_to_one_file(tmp_path, build_dir, monkeypatch):
    seen = []

    def fake_predict(records, method, *, train_records, seed):
        seen.append((records[0]["task"], records[0]["split"], method))
        return [r["output"] for r in records]

    monkeypatch.setitem(sys.modules, "ecinstruct_leaderboard.baselines", types.SimpleNamespace(predict=fake_predict, METHODS=METHODS))
    out = tmp_path / "sub.jsonl"
    assert main(["predict", "--model", "baseline:lexical", "--data", str(build_dir), "--config", "ag,SA",
                 "--split", "test,test_ood", "--out", str(out)]) == 0
    assert seen == [("SA", "test", "lexical"), ("SA", "test_ood", "lexical"),
                    ("AG", "test", "lexical"), ("AG", "test_ood", "lexical")]
    lines = _read_jsonl(out)
    assert [(p["task"], p["split"]) for p in lines] == (
        [("SA", "test")] * 4 + [("SA", "test_ood")] * 5 + [("AG", "test")] * 4 + [("AG", "test_ood")] * 5
    )
    assert len({p["id"] for p in lines}) == len(lines)


def test_training_is_deterministic_and_packing_changes_nothing(tmp_path, build_dir, tiny_llama):
    from safetensors.torch import load_file

    def run(name, batching):
        out = tmp_path / name
        assert _train(tiny_llama, build_dir, out, "--tasks", "SA,SR,AG", "--max-steps", "2", "--batching",
                      batching, "--lora-dropout", "0", "--micro-batch-size", "4", "--warmup-ratio", "0",
                      "--precision", "fp32") == 0
        return out / "adapter_model.safetensors"

    grouped, again, packed = run("a", "grouped"), run("b", "grouped"), run("c", "packed")
    assert grouped.read_bytes() == again.read_bytes()
    import torch

    a, c = load_file(grouped), load_file(packed)
    assert a.keys() == c.keys()
    assert any(k.endswith("lora_B.weight") and a[k].abs().max() > 0 for k in a)  # it did learn
    # Packed rows and padded rows run different attention kernels: on a GPU they agree to
    # float rounding (checked on an H200 in fp32), on a CPU to 1e-6.
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if torch.cuda.is_available() else {"rtol": 0.0, "atol": 1e-6}
    for key in a:
        torch.testing.assert_close(a[key], c[key], **tolerance, msg=key)


SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.skipif(not (SAMPLES / "sample_build.json").is_file(), reason="no bundled samples")
def test_generalist_loop_on_the_bundled_sample_build(tmp_path, tiny_llama):
    from ecinstruct_builders import pipeline
    from ecinstruct_builders.core import BuildConfig

    from ecinstruct_eval import score
    from ecinstruct_eval.data import load_split
    from ecinstruct_eval.tasks import TASKS

    build = tmp_path / "build"
    pipeline.build(BuildConfig.from_file(SAMPLES / "sample_build.json", sources=SAMPLES / "sources", out=build),
                   log=lambda msg: None)
    out = tmp_path / "generalist"
    assert _train(tiny_llama, build, out, "--tasks", "all", "--train-size", "1K", "--max-steps", "2") == 0
    meta = json.loads((out / "ecellm.json").read_text())
    expected = sum(min(100, len(load_split(t, "train", build))) for t in TASKS)
    assert meta["tasks"] == list(TASKS) and meta["train_records"] == expected

    preds_path = tmp_path / "all.jsonl"
    assert main(["predict", "--adapter", str(out), "--data", str(build), "--config", "all", "--split", "test",
                 "--limit", "3", "--max-new-tokens", "3", "--batch-size", "8", "--no-progress",
                 "--out", str(preds_path)]) == 0
    preds = _read_jsonl(preds_path)
    assert [p["task"] for p in preds] == [t for t in TASKS for _ in range(3)]
    for task in TASKS:
        if task == "AG":  # BERTScore needs a downloaded model; AG is scored in the evaluator's tests
            continue
        mine = [p for p in preds if p["task"] == task]
        result = score(mine, task, references=load_split(task, "test", build)[:3])
        assert result.n == 3, task


def test_bad_inputs_give_one_line_not_a_traceback(tmp_path, build_dir, tiny_llama, capsys, monkeypatch):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    assert main(["train", "--base", str(empty), "--data", str(build_dir), "--out", str(tmp_path / "o"),
                 "--tasks", "SA"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "without config.json" in err

    # --shots 1 on the train split (no one-shot examples there): refused before any model is loaded
    import ecellm.predictor

    def no_load(*args, **kwargs):
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr(ecellm.predictor, "load_for_inference", no_load)
    assert main(["predict", "--model", str(tiny_llama), "--data", str(build_dir), "--config", "SA",
                 "--split", "train", "--shots", "1", "--out", str(tmp_path / "p.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "has no few_shot_id" in err


def test_checkpoints_do_not_hold_the_lm_head_base_weight(tmp_path, build_dir, tiny_llama):
    from safetensors.torch import load_file

    out = tmp_path / "adapter"
    assert _train(tiny_llama, build_dir, out, "--tasks", "SA", "--max-steps", "1") == 0
    for folder in (out, out / "checkpoint-1"):
        keys = load_file(str(folder / "adapter_model.safetensors")).keys()
        assert any("lm_head.lora_A" in k for k in keys)
        assert not [k for k in keys if "base_layer" in k or k.endswith("lm_head.weight")], folder


def test_released_prompt_format_train_and_predict(tmp_path, build_dir, tiny_llama, capsys):
    out = tmp_path / "released"
    assert _train(tiny_llama, build_dir, out, "--tasks", "SA", "--max-steps", "1", "--arch", "causal",
                  "--prompt-format", "released") == 0
    meta = json.loads((out / "ecellm.json").read_text())
    assert meta["prompt_format"] == "released" and meta["style"] == "plain"
    capsys.readouterr()
    preds_path = tmp_path / "preds.jsonl"
    # The adapter's format is the default; the flag overrides it.
    for flag, expected in [((), "released"), (("--prompt-format", "appendix-e"), "appendix-e")]:
        assert main(["predict", "--adapter", str(out), "--data", str(build_dir), "--config", "SA", "--split",
                     "test", "--out", str(preds_path), "--max-new-tokens", "3", "--no-progress", *flag]) == 0
        assert f"prompt format: {expected}" in capsys.readouterr().err
        assert len(_read_jsonl(preds_path)) == 4


def test_released_training_text_is_prompt_then_output(build_dir, tiny_llama):
    from ecellm.data import encode_example
    from ecellm.modeling import load_tokenizer, prompt_token_ids
    from ecinstruct_eval.data import load_split
    from ecinstruct_eval.prompts import build_released_prompt

    tok = load_tokenizer(str(tiny_llama), arch="causal")
    rec = load_split("SR", "train", build_dir)[0]
    enc = encode_example(rec, tok, arch="causal", prompt_format="released")
    prompt = prompt_token_ids(tok, build_released_prompt(rec), arch="causal")
    assert enc["input_ids"][: len(prompt)] == prompt
    n_prompt = sum(1 for x in enc["labels"] if x == -100)
    assert n_prompt == len(prompt) and enc["labels"][-1] == tok.eos_token_id
    assert "### Options:\n['A: item 0" in build_released_prompt(rec)  # SR: str(list)
