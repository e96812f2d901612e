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
    # Weights alone above the usable share: every micro-batch is checkpointed.
    full = ActivationMemory(resting=130 * gib, per_token=mib, total=140 * gib)
    assert full.token_budget() == 0 and full.policy(1) == CheckpointingPolicy("on")


@pytest.fixture
def simulated_gpu(monkeypatch):
    """torch.cuda's memory and random-state calls answered on the CPU: 1 GB in all, 100 MB resting.

    Each forward and backward peaks 1 KB per token above rest, so the measurement's
    control flow (fit, out of memory, other errors, cleanup) runs without a GPU.
    """
    import contextlib
    import types

    import torch

    state = {"peak": 10**8}
    fakes = {
        "get_device_properties": lambda device=None: types.SimpleNamespace(total_memory=10**9),
        "empty_cache": lambda: None,
        "synchronize": lambda device=None: None,
        "memory_allocated": lambda device=None: 10**8,
        "reset_peak_memory_stats": lambda device=None: state.update(peak=10**8),
        "max_memory_allocated": lambda device=None: state["peak"],
        "get_rng_state": lambda device=None: torch.get_rng_state(),
        "set_rng_state": lambda new_state, device=None: None,
    }
    for name, fake in fakes.items():
        monkeypatch.setattr(torch.cuda, name, fake)
    monkeypatch.setattr(torch, "autocast", lambda *a, **k: contextlib.nullcontext())
    return state


def test_measurement_on_a_simulated_gpu(simulated_gpu, tiny_llama, monkeypatch):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from ecellm.checkpointing import measure_policy

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_llama)),
                           LoraConfig(r=4, lora_dropout=0.5, target_modules=["q_proj"]))
    examples = [{"input_ids": list(range(3, 8 + i)), "labels": list(range(3, 8 + i))} for i in range(10)]

    def collate(feats):
        width = max(len(f["input_ids"]) for f in feats)
        ids = torch.tensor([f["input_ids"] + [0] * (width - len(f["input_ids"])) for f in feats])
        return {"input_ids": ids, "labels": ids.clone(), "attention_mask": (ids > 0).long()}

    def count_tokens(module, args, kwargs):
        simulated_gpu["tokens"] = kwargs["input_ids"].numel()

    model.register_forward_pre_hook(count_tokens, with_kwargs=True)
    real_backward = torch.Tensor.backward

    def backward(self, *args, **kwargs):
        real_backward(self, *args, **kwargs)
        simulated_gpu["peak"] = 10**8 + 1000 * simulated_gpu["tokens"]

    monkeypatch.setattr(torch.Tensor, "backward", backward)
    cpu = torch.device("cpu")
    rng = torch.get_rng_state()
    assert measure_policy(model, collate, examples, micro_batch=2, device=cpu) == CheckpointingPolicy("off")
    assert torch.equal(torch.get_rng_state(), rng)  # dropout drew from a forked random state
    assert all(p.grad is None for p in model.parameters())
    # (0.85 GB - 100 MB) / 1 KB per token = 750,000 tokens: everything fits.  A share just above
    # the resting memory leaves 20 tokens: the median micro-batch (2 x 10) fits, the longest (2 x 14) not.
    policy = measure_policy(model, collate, examples, micro_batch=2, device=cpu, usable_share=0.10002)
    assert policy == CheckpointingPolicy("budget", max_tokens=20)

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with monkeypatch.context() as m:
        m.setattr(type(model), "forward", out_of_memory)
        assert measure_policy(model, collate, examples, micro_batch=2, device=cpu) == CheckpointingPolicy("on")

    def broken(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with monkeypatch.context() as m:
        m.setattr(type(model), "forward", broken)
        with pytest.raises(RuntimeError, match="shapes"):  # a real error is not mistaken for memory
            measure_policy(model, collate, examples, micro_batch=2, device=cpu)
    assert model.training  # left in its previous mode


def test_seq2seq_batches_count_decoder_tokens(build_dir, tiny_t5):
    from ecellm.checkpointing import example_tokens
    from ecellm.data import Collator, encode_example, load_training_records
    from ecellm.modeling import load_tokenizer

    tok = load_tokenizer(str(tiny_t5), arch="seq2seq")
    records = load_training_records("AG", location=str(build_dir))[:4]
    encoded = [encode_example(r, tok, arch="seq2seq", max_length=512) for r in records]
    batch = Collator(tok, arch="seq2seq")(encoded)
    inputs, labels = batch["input_ids"].numel(), batch["labels"].numel()
    assert labels > 4  # AG answers are several tokens
    assert batch_tokens(batch, seq2seq=True) == inputs + labels and batch_tokens(batch) == inputs
    assert example_tokens(encoded[0], seq2seq=True) == len(encoded[0]["input_ids"]) + len(encoded[0]["labels"])


def test_switching_per_micro_batch_changes_no_result(tmp_path, build_dir, tiny_llama, monkeypatch):
    """Checkpointing on, off, or only above a budget: the same adapter, and both kinds of micro-batch ran."""
    import torch
    from safetensors.torch import load_file
    from transformers.models.llama import modeling_llama

    import ecellm.checkpointing as ckpt

    # Each MLP forward is counted: a checkpointed layer runs it again in the backward pass.
    mlp_calls = []
    real_mlp_forward = modeling_llama.LlamaMLP.forward

    def counting_forward(self, *args, **kwargs):
        mlp_calls.append(1)
        return real_mlp_forward(self, *args, **kwargs)

    monkeypatch.setattr(modeling_llama.LlamaMLP, "forward", counting_forward)
    calls, adapters = {}, {}
    for mode in ("off", "on"):
        mlp_calls.clear()
        assert _train(tiny_llama, build_dir, tmp_path / mode, "--gradient-checkpointing", mode) == 0
        calls[mode] = len(mlp_calls)
        adapters[mode] = load_file(str(tmp_path / mode / "adapter_model.safetensors"))
        meta = json.loads((tmp_path / mode / "ecellm.json").read_text())
        assert meta["gradient_checkpointing"] == mode

    seen, sizes = [], []
    real_switch, real_tokens = ckpt.set_layer_checkpointing, ckpt.batch_tokens

    def spy_switch(model, on):
        switched = real_switch(model, on)
        seen.append((on, switched))
        return switched

    def spy_tokens(batch, **kwargs):
        sizes.append(real_tokens(batch, **kwargs))
        return sizes[-1]

    monkeypatch.setattr(ckpt, "set_layer_checkpointing", spy_switch)
    monkeypatch.setattr(ckpt, "batch_tokens", spy_tokens)

    def run_with_budget(name, budget):
        seen.clear()
        sizes.clear()
        mlp_calls.clear()
        monkeypatch.setattr(trainer_module, "_checkpointing_policy",
                            lambda *a, **k: CheckpointingPolicy("budget", max_tokens=budget))
        assert _train(tiny_llama, build_dir, tmp_path / name) == 0
        return load_file(str(tmp_path / name / "adapter_model.safetensors"))

    run_with_budget("sizes", 10**9)  # learns the micro-batch sizes of this run
    assert len(sizes) == 6 and len(set(sizes)) > 1  # 3 steps x 2 micro-batches, of different lengths
    budget = sorted(sizes)[len(sizes) // 2 - 1]
    adapters["budget"] = run_with_budget("budget", budget)
    calls["budget"] = len(mlp_calls)
    meta = json.loads((tmp_path / "budget" / "ecellm.json").read_text())
    assert meta["gradient_checkpointing"] == f"above {budget} tokens per micro-batch"

    assert {on for on, _ in seen} == {True, False}, seen  # some micro-batches above, some below
    assert [on for on, _ in seen] == [n > budget for n in sizes]
    assert all(switched >= 2 for _, switched in seen)  # at least the tiny Llama's two decoder layers
    # 6 micro-batches x 2 layers forward; "on" recomputes every one, "budget" those above the budget.
    above = sum(n > budget for n in sizes)
    assert (calls["off"], calls["on"], calls["budget"]) == (12, 24, 12 + 2 * above)
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if torch.cuda.is_available() else {"rtol": 0.0, "atol": 1e-7}
    for mode in ("on", "budget"):
        assert adapters[mode].keys() == adapters["off"].keys()
        for key in adapters["off"]:
            torch.testing.assert_close(adapters[mode][key], adapters["off"][key], **tolerance, msg=f"{mode} {key}")


def test_auto_is_off_on_cpus(tmp_path, build_dir, tiny_llama):
    import torch

    if torch.cuda.is_available():
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

    from ecellm.checkpointing import measure_activation_memory, measure_policy
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
    assert measure_policy(model, collate, encoded, micro_batch=2, device=device) == CheckpointingPolicy("off")
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
