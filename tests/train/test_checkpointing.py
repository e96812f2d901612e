"""Gradient checkpointing switched per micro-batch (``--gradient-checkpointing auto``).

The switching runs on any device (the policy is forced here); measuring the
activation memory needs a CUDA GPU and is tested only there.
"""

import json

import pytest

from ecellm import trainer as trainer_module
from ecellm.checkpointing import ActivationMemory, CheckpointingPolicy, batch_tokens
from ecinstruct_eval.cli import main


def _train(base, build, out, *extra):
    return main([
        "train", "--base", str(base), "--data", str(build), "--out", str(out), "--tasks", "SA,SR,AG",
        "--batch-size", "4", "--micro-batch-size", "2", "--max-steps", "3", "--save-steps", "100",
        "--warmup-ratio", "0", "--precision", "fp32", *extra,
    ])


def test_policy_rejects_unknown_modes_and_inconsistent_budgets():
    with pytest.raises(ValueError, match="on, off or budget"):
        CheckpointingPolicy("sometimes")
    with pytest.raises(ValueError, match="max_tokens"):
        CheckpointingPolicy("on", max_tokens=10)
    with pytest.raises(ValueError, match="max_tokens"):
        CheckpointingPolicy("budget")


def test_budget_comes_from_the_measured_memory():
    gib, mib = 2**30, 2**20
    memory = ActivationMemory(resting=15 * gib, per_token=7 * mib, total=140 * gib)
    budget = memory.token_budget()
    assert budget == int((0.85 * 140 * gib - 15 * gib) / (7 * mib))
    assert memory.policy(budget) == CheckpointingPolicy("off")
    assert memory.policy(budget + 1) == CheckpointingPolicy("budget", max_tokens=budget)
    # Weights alone above the headroom: every micro-batch is checkpointed.
    assert ActivationMemory(resting=130 * gib, per_token=mib, total=140 * gib).token_budget() == 0


def test_switching_per_micro_batch_changes_no_result(tmp_path, build_dir, tiny_llama, monkeypatch):
    """Checkpointing on, off, or only above a budget: the same adapter, and both kinds of micro-batch ran."""
    import torch
    from safetensors.torch import load_file

    import ecellm.checkpointing as ckpt

    adapters = {}
    for mode in ("off", "on"):
        assert _train(tiny_llama, build_dir, tmp_path / mode, "--gradient-checkpointing", mode) == 0
        adapters[mode] = load_file(str(tmp_path / mode / "adapter_model.safetensors"))
        meta = json.loads((tmp_path / mode / "ecellm.json").read_text())
        assert meta["gradient_checkpointing"] == mode

    seen, sizes = [], []
    real_switch, real_tokens = ckpt.set_layer_checkpointing, ckpt.batch_tokens

    def spy_switch(model, on):
        switched = real_switch(model, on)
        seen.append((on, switched))
        return switched

    def spy_tokens(batch):
        sizes.append(real_tokens(batch))
        return sizes[-1]

    monkeypatch.setattr(ckpt, "set_layer_checkpointing", spy_switch)
    monkeypatch.setattr(ckpt, "batch_tokens", spy_tokens)

    def run_with_budget(name, budget):
        seen.clear()
        sizes.clear()
        monkeypatch.setattr(trainer_module, "_checkpointing_policy",
                            lambda *a, **k: CheckpointingPolicy("budget", max_tokens=budget))
        assert _train(tiny_llama, build_dir, tmp_path / name) == 0
        return load_file(str(tmp_path / name / "adapter_model.safetensors"))

    run_with_budget("sizes", 10**9)  # learns the micro-batch sizes of this run
    assert len(sizes) == 6 and len(set(sizes)) > 1  # 3 steps x 2 micro-batches, of different lengths
    budget = sorted(sizes)[len(sizes) // 2 - 1]
    adapters["budget"] = run_with_budget("budget", budget)
    meta = json.loads((tmp_path / "budget" / "ecellm.json").read_text())
    assert meta["gradient_checkpointing"] == f"above {budget} tokens per micro-batch"

    assert {on for on, _ in seen} == {True, False}, seen  # some micro-batches above, some below
    assert [on for on, _ in seen] == [n > budget for n in sizes]
    assert all(switched >= 2 for _, switched in seen)  # at least the tiny Llama's two decoder layers
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if torch.cuda.is_available() else {"rtol": 0.0, "atol": 1e-7}
    for mode in ("on", "budget"):
        assert adapters[mode].keys() == adapters["off"].keys()
        for key in adapters["off"]:
            torch.testing.assert_close(adapters[mode][key], adapters["off"][key], **tolerance, msg=f"{mode} {key}")


def test_auto_is_off_on_cpus(tmp_path, build_dir, tiny_llama, monkeypatch):
    import torch

    if torch.cuda.is_available():
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        pytest.skip("measured on GPUs: see test_auto_measures_on_the_gpu")
    assert _train(tiny_llama, build_dir, tmp_path / "auto", "--max-steps", "1") == 0
    assert json.loads((tmp_path / "auto" / "ecellm.json").read_text())["gradient_checkpointing"] == "off"


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda(), reason="measuring activation memory needs a CUDA GPU")
def test_auto_measures_on_the_gpu(tmp_path, build_dir, tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    from ecellm.checkpointing import measure_activation_memory, measure_token_budget
    from ecellm.data import Collator, encode_example, load_training_records
    from ecellm.modeling import load_tokenizer

    tok = load_tokenizer(str(tiny_llama), arch="causal")
    records = load_training_records("SA,SR,AG", location=str(build_dir), instructions="diverse",
                                    train_size="92K", seed=1)
    encoded = [encode_example(r, tok, arch="causal", style="plain", max_length=512) for r in records]
    collate = Collator(tok, arch="causal", pad_to_multiple_of=8)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama))
    device = torch.device("cuda")

    memory = measure_activation_memory(model, collate(encoded[:2]), device=device)
    assert memory is not None and memory.per_token > 0 and memory.resting > 0
    assert memory.total == torch.cuda.get_device_properties(device).total_memory
    assert all(p.grad is None for p in model.parameters()) and next(model.parameters()).is_cuda
    # A tiny model fits whole; a GPU ten thousand times smaller would need a budget.
    assert measure_token_budget(model, collate, encoded, micro_batch=2, device=device) == CheckpointingPolicy("off")
    longest = batch_tokens(collate(sorted(encoded, key=lambda e: len(e["input_ids"]))[-2:]))
    small = ActivationMemory(resting=memory.resting, per_token=memory.per_token,
                             total=int((memory.resting + memory.per_token * longest / 2) / 0.85))
    assert small.policy(longest).mode == "budget"

    # End to end: the trainer measures and records its decision.
    assert _train(tiny_llama, build_dir, tmp_path / "auto", "--max-steps", "1", "--precision", "bf16") == 0
    assert json.loads((tmp_path / "auto" / "ecellm.json").read_text())["gradient_checkpointing"] == "off"


def test_cli_choices_and_the_old_flag():
    import argparse

    from ecellm.cli_train import configure_parser

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    base = ["--base", "phi-2", "--out", "x"]
    assert parser.parse_args(base).gradient_checkpointing == "auto"
    assert parser.parse_args(base + ["--gradient-checkpointing", "on"]).gradient_checkpointing == "on"
    assert parser.parse_args(base + ["--no-gradient-checkpointing"]).gradient_checkpointing == "off"
