"""The training speed-ups change nothing but the speed: the loss, the gradients and the adapter are the
current path's (``ecellm/speedups.py``, ``ecellm/varlen.py``)."""

import copy
import json
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from ecellm import speedups, varlen  # noqa: E402
from ecellm.data import Collator  # noqa: E402
from ecinstruct_eval.cli import main  # noqa: E402


def _tokenizer():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<pad>": 0, "<s>": 1, "</s>": 2},
                                                                              "<pad>")))
    tok.pad_token, tok.bos_token, tok.eos_token = "<pad>", "<s>", "</s>"
    return tok


def _features(shape=((20, 2), (35, 5), (9, 2), (50, 1), (3, 12)), vocab=300):
    """Examples with ECInstruct's shape: a prompt, then a short labelled answer ending in EOS."""
    rng = random.Random(0)
    feats = []
    for prompt, answer in shape:
        p = [1] + [rng.randrange(3, vocab) for _ in range(prompt - 1)]
        a = [rng.randrange(3, vocab) for _ in range(answer - 1)] + [2]
        feats.append({"input_ids": p + a, "labels": [-100] * prompt + a})
    return feats


@pytest.fixture(scope="module")
def lora_model():
    """A tiny random Llama (grouped-query attention) with LoRA on attention, MLP and the LM head, B nonzero."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, tie_word_embeddings=False, attn_implementation="sdpa")
    model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(
        r=4, lora_alpha=4, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "gate_proj", "down_proj", "lm_head"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.1)
    return model.train()


def _loss_and_grads(model, batch):
    model.zero_grad(set_to_none=True)
    loss = model(**batch, use_cache=False).loss
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def _assert_same(reference, other):
    (loss_a, grads_a), (loss_b, grads_b) = reference, other
    torch.testing.assert_close(loss_b, loss_a, rtol=1e-6, atol=1e-7)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_b[name], grads_a[name], rtol=1e-5, atol=1e-7, msg=name)


def test_keep_labeled_logits_keeps_the_union_of_the_rows_positions():
    labels = torch.tensor([[-100, -100, 5, 2, -100], [-100, -100, -100, 7, 2]])
    batch = speedups.keep_labeled_logits({"input_ids": torch.zeros(2, 5, dtype=torch.long), "labels": labels})
    assert batch["logits_to_keep"].tolist() == [1, 2, 3]  # position p predicts the token at p + 1
    assert batch["shift_labels"].tolist() == [[5, 2, -100], [-100, 7, 2]]
    assert torch.equal(batch["labels"], labels)  # the loss is still counted from the labels
    nothing = {"input_ids": torch.zeros(1, 3, dtype=torch.long), "labels": torch.full((1, 3), -100)}
    assert speedups.keep_labeled_logits(nothing).keys() == nothing.keys()


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_labeled_logits_give_the_full_loss_and_gradients(lora_model, packed):
    feats = _features()
    reference = _loss_and_grads(lora_model, Collator(_tokenizer(), arch="causal")(feats))
    batch = Collator(_tokenizer(), arch="causal", packed=packed, labeled_logits=True)(feats)
    labeled = int((batch["shift_labels"] != -100).sum())
    assert labeled == sum(len([x for x in f["labels"] if x != -100]) for f in feats)
    kept = batch["logits_to_keep"].numel()  # positions whose logits are computed, in every row
    assert kept == labeled if packed else kept <= labeled < batch["input_ids"].shape[1]
    _assert_same(reference, _loss_and_grads(lora_model, batch))
    assert speedups.supports_labeled_logits(lora_model)


@pytest.mark.parametrize("boundaries", ["from the collator", "from position_ids"])
def test_varlen_attention_on_packed_rows_gives_the_padded_loss(lora_model, boundaries):
    feats = _features()
    reference = _loss_and_grads(lora_model, Collator(_tokenizer(), arch="causal")(feats))
    model = copy.deepcopy(lora_model)
    model.base_model.model.set_attn_implementation(varlen.register())
    batch = Collator(_tokenizer(), arch="causal", packed=True, labeled_logits=True,
                     varlen_kwargs=boundaries == "from the collator")(feats)
    assert ("cu_seq_lens_q" in batch) == (boundaries == "from the collator")
    _assert_same(reference, _loss_and_grads(model, batch))
    with pytest.raises(ValueError, match="takes packed micro-batches"):
        model(**Collator(_tokenizer(), arch="causal")(feats))


def test_varlen_reference_applies_the_sliding_window():
    from torch.nn.functional import scaled_dot_product_attention

    torch.manual_seed(0)
    q, k, v = (torch.randn(10, 2, 8) for _ in range(3))
    cu = torch.tensor([0, 10], dtype=torch.int32)
    out = varlen._per_example(q, k, v, cu, None, 3)
    mask = torch.ones(10, 10, dtype=torch.bool).tril() & ~torch.ones(10, 10, dtype=torch.bool).tril(-3)
    expected = scaled_dot_product_attention(*(t.transpose(0, 1) for t in (q, k, v)), attn_mask=mask).transpose(0, 1)
    torch.testing.assert_close(out, expected)


@pytest.mark.skipif(not varlen.available(), reason="needs a CUDA GPU and PyTorch's varlen kernel")
def test_varlen_kernel_matches_the_reference_on_the_gpu():
    torch.manual_seed(0)
    cu = torch.tensor([0, 37, 40, 300, 301], dtype=torch.int32, device="cuda")
    q = torch.randn(301, 8, 64, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(301, 2, 64, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    got = varlen._varlen(varlen._kernel(), q, k, v, cu, 260, 0.125, None)
    expected = varlen._per_example(q.float(), k.float(), v.float(), cu.cpu(), 0.125, None)
    torch.testing.assert_close(got.float(), expected, rtol=2e-2, atol=2e-2)


@pytest.mark.skipif(not varlen.available(), reason="needs a CUDA GPU and PyTorch's varlen kernel")
def test_packed_varlen_bf16_loss_matches_padded_sdpa_on_the_gpu(lora_model):
    """What ecinstruct train's GPU default computes (bf16, packed rows, varlen kernel, labelled logits) against the
    padded SDPA path with every logit, in the same bf16."""
    feats = _features(((300, 2), (120, 40), (800, 1), (64, 3)))
    model = copy.deepcopy(lora_model).to("cuda", torch.bfloat16)
    padded = {k: v.cuda() for k, v in Collator(_tokenizer(), arch="causal")(feats).items()}
    reference = _loss_and_grads(model, padded)
    model.base_model.model.set_attn_implementation(varlen.register())
    batch = Collator(_tokenizer(), arch="causal", packed=True, varlen_kwargs=True, labeled_logits=True)(feats)
    fast = _loss_and_grads(model, {k: v.cuda() if hasattr(v, "cuda") else v for k, v in batch.items()})
    torch.testing.assert_close(fast[0].float(), reference[0].float(), rtol=2e-2, atol=2e-2)
    for name in reference[1]:  # bf16 rounding differs element by element; the gradient as a whole agrees
        a, b = reference[1][name].float(), fast[1][name].float()
        assert (b - a).norm() <= 3e-2 * a.norm() + 1e-6, name


def test_lora_input_left_in_bf16_under_autocast_changes_nothing(lora_model):
    """peft's cast of the bf16 input to the float32 adapter, undone by autocast before the matmul, is skipped:
    the same loss and gradients (CPU autocast here; the GPU default under the Trainer's)."""
    model = copy.deepcopy(lora_model).to(torch.bfloat16)
    for p in model.parameters():
        if p.requires_grad:  # the adapter stays float32, as peft keeps it under a bf16 base model
            p.data = p.data.float()
    batch = Collator(_tokenizer(), arch="causal", labeled_logits=True)(_features())

    def run():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return _loss_and_grads(model, batch)

    cast = run()
    assert speedups.set_lora_input_cast(model, False) == 4 * 2 + 1  # q, v, gate, down in 2 layers, and the head
    kept = run()
    torch.testing.assert_close(kept[0], cast[0], rtol=0, atol=0)
    for name in cast[1]:
        torch.testing.assert_close(kept[1][name], cast[1][name], rtol=0, atol=0, msg=name)
    assert speedups.plan(**GPU).cast_lora_input is False
    assert speedups.plan(**{**GPU, "cuda": False, "bf16": False}).cast_lora_input is True


def test_varlen_refuses_what_it_cannot_apply(lora_model):
    q = torch.zeros(1, 4, 6, 8)
    kv = torch.zeros(1, 2, 6, 8)
    pos = torch.arange(6)[None]
    with pytest.raises(ValueError, match="softcap"):
        varlen.attention_forward(None, q, kv, kv, None, position_ids=pos, softcap=30.0)
    with pytest.raises(ValueError, match="no attention dropout"):
        varlen.attention_forward(None, q, kv, kv, None, dropout=0.1, position_ids=pos)


def test_labeled_logits_need_a_forward_that_passes_kwargs_on():
    class NoKwargs(torch.nn.Module):
        def forward(self, input_ids, labels=None, logits_to_keep=0):
            return input_ids

    assert not speedups.supports_labeled_logits(NoKwargs())


def test_compilation_is_regional_and_undone(lora_model):
    model = copy.deepcopy(lora_model)
    parts = speedups.compile_layers(model)  # lazy: nothing is compiled before a forward
    assert parts == 2 * 4  # two layers: two norms, the attention block and the MLP each
    layer = speedups.decoder_layers(model)[0]
    assert layer._compiled_call_impl is None  # the layer stays eager, so checkpointing can wrap it
    assert all(part._compiled_call_impl is not None for part in layer.children())
    speedups.uncompile_layers(model)
    assert all(part._compiled_call_impl is None for part in layer.children())


GPU = dict(arch="causal", cuda=True, bf16=True, flash_attn=False, varlen_kernel=True, labeled_ok=True)


@pytest.mark.parametrize("options, message", [
    (dict(attention="varlen", batching="grouped"), "takes packed batches"),
    (dict(attention="varlen", arch="seq2seq"), "causal models"),
    (dict(attention="varlen", varlen_kernel=False), "PyTorch 2.10"),
    (dict(logits="labeled", labeled_ok=False), "logits_to_keep"),
    (dict(attention="flash"), "attention must be one of"),
    (dict(compile="sometimes"), "compile must be one of"),
])
def test_impossible_plans_are_one_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        speedups.plan(**{**GPU, **options})


def test_gpu_defaults_use_every_exact_lever():
    plan = speedups.plan(**GPU)
    assert (plan.attention, plan.batching, plan.logits) == ("varlen", "packed", "labeled")
    assert speedups.plan(**{**GPU, "varlen_kernel": False}).attention == "sdpa"  # PyTorch < 2.10: as before
    assert speedups.plan(**{**GPU, "bf16": False}).batching == "grouped"


def _train(base, build, out, *extra):
    return main(["train", "--base", str(base), "--data", str(build), "--out", str(out), "--batch-size", "8",
                 "--micro-batch-size", "4", "--tasks", "SA,SR,AG", "--max-steps", "2", "--lora-dropout", "0",
                 "--warmup-ratio", "0", "--precision", "fp32", "--logging-steps", "1", "--save-steps", "100", *extra])


def _adapter_and_losses(out):
    from safetensors.torch import load_file

    state = json.loads(next(out.glob("checkpoint-*/trainer_state.json"), out / "none").read_text()) \
        if any(out.glob("checkpoint-*")) else None
    meta = json.loads((out / "ecellm.json").read_text())
    return load_file(out / "adapter_model.safetensors"), meta, state


@pytest.mark.parametrize("levers", [
    ("--logits", "labeled"),
    ("--attention", "varlen", "--batching", "packed"),
    ("--attention", "varlen", "--batching", "packed", "--compile", "on", "--gradient-checkpointing", "on"),
], ids=["labeled logits", "varlen packing", "compiled"])
def test_each_lever_trains_the_adapter_the_current_path_trains(tmp_path, build_dir, tiny_llama, levers, capsys):
    """``ecinstruct train`` with a lever on and with every lever off (SDPA, length-grouped, all logits, eager):
    the same losses at every step and the same adapter, to float rounding."""
    current = tmp_path / "current"
    assert _train(tiny_llama, build_dir, current, "--logits", "all", "--attention", "sdpa", "--batching", "grouped",
                  "--compile", "off", "--save-steps", "2") == 0
    fast = tmp_path / "fast"
    assert _train(tiny_llama, build_dir, fast, *levers, "--save-steps", "2") == 0
    a, meta_a, state_a = _adapter_and_losses(current)
    b, meta_b, state_b = _adapter_and_losses(fast)
    assert (meta_a["logits"], meta_a["attention"], meta_a["compile"]) == ("all", "sdpa", False)
    assert meta_b["logits"] == "labeled" and meta_b["compile"] == ("on" in levers)
    assert meta_b["attention"] == ("varlen" if "varlen" in levers else "sdpa")
    losses_a = [e["loss"] for e in state_a["log_history"] if "loss" in e]
    losses_b = [e["loss"] for e in state_b["log_history"] if "loss" in e]
    assert len(losses_a) == 2 and losses_b == pytest.approx(losses_a, rel=1e-5)
    assert a.keys() == b.keys() and any(k.endswith("lora_B.weight") and a[k].abs().max() > 0 for k in a)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-6, msg=key)
