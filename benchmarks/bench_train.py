"""Training and generation throughput: our settings beside the released eCeLLM recipe's.

Random weights from a model config (no download): ``--config mistral-7b`` is
Mistral-7B-Instruct-v0.2's shape (use it on a GPU), ``--config small`` a
4-layer model of the same family for CPUs.  Examples are synthetic token
sequences whose lengths follow ECInstruct's shape (prompts of a few hundred
tokens, mostly one-letter answers, some long ones), drawn with a fixed seed.

Settings compared, in one run and on the same examples:

* training, released recipe: micro-batch 1, examples in random order,
  padding to a multiple of 8, no gradient checkpointing;
* training, ours: ``ecinstruct train``'s defaults (micro-batch 8, packed
  with flash-attention or length-grouped otherwise, gradient checkpointing
  ``auto``: measured on the GPU, only for the micro-batches that need it;
  see ``ecellm/checkpointing.py``), and the same with checkpointing always
  on and always off;
* generation, released recipe: batches of 2 in file order, LoRA unmerged;
* generation, ours: ``ecinstruct predict``'s (length-sorted batches, LoRA
  merged).

Both sides use the same LoRA (r=16 on all projections and the LM head) and
the same dtype (bf16 on GPUs that support it).  Throughput is real
(non-padding) tokens per second: the median over the timed optimizer steps
(training) or over repeated passes over all prompts (generation, after a
warm-up batch), and the ratio ours / released.

Training settings also report achieved TFLOP/s and MFU (model FLOPs
utilisation: achieved / the GPU's dense bf16 peak, from :data:`PEAK_BF16_TFLOPS`
by the GPU's name; ``n/a`` on a CPU, an unknown GPU or without bf16), counted
two ways (see :func:`train_flops`): LoRA-aware (``4*N_frozen + 6*N_lora``
per token for the weights, frozen matrices needing no weight gradients, plus
causal attention ``6*L*d_attn*(s+1)`` per token of a sequence of length s)
and the common ``6*N`` convention (all N parameters, 7.24e9 for Mistral-7B,
no attention term).  Model FLOPs only: gradient checkpointing's recomputed
forward is not counted, padding is not counted.

Example::

    python benchmarks/bench_train.py --config small           # CPU
    python benchmarks/bench_train.py --config mistral-7b      # one GPU
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIGS = {
    # Mistral-7B-Instruct-v0.2's architecture.
    "mistral-7b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=8, vocab_size=32000, max_position_embeddings=32768),
    "small": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=32000, max_position_embeddings=4096),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=1000, max_position_embeddings=2048),
}
PAD, EOS, BOS = 0, 2, 1
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"]


#: Dense (no sparsity) bf16 tensor-core peak in TFLOP/s, by a pattern on the GPU's name (first match
#: wins; NVIDIA's datasheets).  A GPU not listed gets MFU "n/a": add it here rather than guess.
PEAK_BF16_TFLOPS = (
    (r"H100.*PCIe", 756.0),
    (r"H100 NVL", 835.0),
    (r"H200 NVL", 835.0),
    (r"GH200|H100|H200", 989.0),  # SXM ("NVIDIA H100 80GB HBM3", "NVIDIA H200")
    (r"A100", 312.0),
    (r"L40S", 362.0),
    (r"\bL4\b", 121.0),
    (r"\bA10\b", 125.0),
)


def peak_bf16_tflops(device_name: str | None) -> float | None:
    """The dense bf16 peak of the named GPU, or ``None`` (a CPU, an unknown GPU).

    >>> peak_bf16_tflops("NVIDIA H100 80GB HBM3"), peak_bf16_tflops("NVIDIA H200"), peak_bf16_tflops("NVIDIA H100 PCIe")
    (989.0, 989.0, 756.0)
    >>> peak_bf16_tflops("NVIDIA A100-SXM4-80GB"), peak_bf16_tflops("NVIDIA L40S"), peak_bf16_tflops("NVIDIA L4")
    (312.0, 362.0, 121.0)
    >>> peak_bf16_tflops("CPU (2 threads)"), peak_bf16_tflops("Some Future GPU"), peak_bf16_tflops(None)
    (None, None, None)
    """
    import re

    if not device_name or device_name.startswith("CPU"):
        return None
    for pattern, peak in PEAK_BF16_TFLOPS:
        if re.search(pattern, device_name):
            return peak
    return None


def param_counts(cfg: dict, *, lora_r: int = 16, targets=None) -> dict:
    """Parameter counts of a Mistral-shaped ``cfg`` (a :data:`CONFIGS` entry) with LoRA on ``targets``.

    ``total``: every parameter of the base model (untied embeddings and LM
    head, norms included); ``embedding``: the input embedding table, a lookup
    that does no multiply-adds; ``frozen_matmul``: the frozen weights that do
    (every linear layer and the LM head); ``lora``: the trainable LoRA
    matrices (``r * (in + out)`` per adapted linear layer).

    >>> c = param_counts(CONFIGS["mistral-7b"])
    >>> round(c["total"] / 1e9, 2), c["embedding"], c["lora"], c["head"], c["lora_head"]
    (7.24, 131072000, 42520576, 131072000, 577536)
    """
    targets = TARGETS if targets is None else targets
    h, inter, n_layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    heads, kv, vocab = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    hd = cfg.get("head_dim") or h // heads
    shapes = {"q_proj": (h, heads * hd), "k_proj": (h, kv * hd), "v_proj": (h, kv * hd), "o_proj": (heads * hd, h),
              "gate_proj": (h, inter), "up_proj": (h, inter), "down_proj": (inter, h)}
    layer = sum(i * o for i, o in shapes.values())
    matmul = n_layers * layer + h * vocab  # + the LM head
    embedding = vocab * h
    norms = (2 * n_layers + 1) * h
    lora = n_layers * sum(lora_r * (i + o) for name, (i, o) in shapes.items() if name in targets)
    lora_head = lora_r * (h + vocab) if "lm_head" in targets else 0
    return {"total": matmul + embedding + norms, "embedding": embedding, "frozen_matmul": matmul, "lora": lora + lora_head,
            "head": h * vocab, "lora_head": lora_head, "layers": n_layers, "attention_width": heads * hd}


#: How :func:`train_flops` counts, printed with the figures.
FLOPS_FORMULA = ("LoRA-aware = sum over sequences of (4*N_frozen + 6*N_lora)*s + 6*L*d_attn*s*(s+1), with the LM head "
                 "(N_head, its LoRA) counted only at the positions the loss needs, the labelled tokens "
                 "[frozen weights: forward 2N + input gradients 2N, no weight gradients; LoRA: 6N; causal "
                 "attention QK^T and AV, forward 2*L*d_attn*s*(s+1), x3 with backward]; "
                 "6N = 6*N_total*tokens (all parameters, no attention term)")


def train_flops(lengths, counts: dict, labeled: int | None = None) -> dict:
    """Model FLOPs of one optimizer step over sequences of these real lengths, both ways.

    * ``lora_aware``: ``(4*N_frozen + 6*N_lora)`` per token, plus causal
      attention ``6*L*d_attn*s*(s+1)`` per sequence of length s (score and
      value products, forward ``2*L*d_attn*s*(s+1)``, backward twice that);
      the LM head and its LoRA count only at the ``labeled`` positions (the
      logits the loss needs; every token when ``labeled`` is ``None``), so
      the count is the task's, whichever way a setting computes it;
    * ``six_n``: ``6*N_total`` per token, the common convention.

    Padding, logits nobody needs and checkpointing's recomputation are not
    counted (model FLOPs).

    >>> c = {"total": 100, "frozen_matmul": 90, "lora": 2, "head": 10, "lora_head": 1, "layers": 2, "attention_width": 4}
    >>> train_flops([3, 1], c)  # 4 tokens: (4*90 + 6*2)*4 + 6*2*4*(3*4 + 1*2)
    {'lora_aware': 2160, 'six_n': 2400, 'attention': 672, 'tokens': 4}
    >>> train_flops([3, 1], c, labeled=1)["lora_aware"]  # minus the head at 3 unlabelled positions: 3*(4*10 + 6*1)
    2022
    """
    tokens = sum(lengths)
    attention = 6 * counts["layers"] * counts["attention_width"] * sum(s * (s + 1) for s in lengths)
    weights = (4 * counts["frozen_matmul"] + 6 * counts["lora"]) * tokens
    if labeled is not None:
        weights -= (4 * counts.get("head", 0) + 6 * counts.get("lora_head", 0)) * (tokens - labeled)
    return {"lora_aware": weights + attention, "six_n": 6 * counts["total"] * tokens, "attention": attention,
            "tokens": tokens}


def step_tflops(record: list, counts: dict) -> dict:
    """Achieved TFLOP/s of each recorded step, both ways (see :func:`train_flops`).

    >>> c = {"total": 10**12, "frozen_matmul": 10**12, "lora": 0, "layers": 1, "attention_width": 1}
    >>> step_tflops([{"lengths": [1], "seconds": 2.0}], c)
    {'lora_aware': [2.000000000006], 'six_n': [3.0]}
    """
    out = {"lora_aware": [], "six_n": []}
    for step in record:
        flops = train_flops(step["lengths"], counts, step.get("labeled"))
        for key in out:
            out[key].append(flops[key] / step["seconds"] / 1e12)
    return out


def synthetic_examples(n: int, *, vocab: int, prompt_median: int, seed: int = 0) -> list[dict]:
    """Encoded examples (``input_ids``, ``labels``) with ECInstruct-like lengths."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p_len = int(min(4 * prompt_median, max(prompt_median // 4, rng.lognormvariate(0, 0.5) * prompt_median)))
        r_len = 2 if rng.random() < 0.7 else rng.randint(8, 64)  # letters/yes-no vs AVE/AG answers
        prompt = [BOS] + [rng.randrange(3, vocab) for _ in range(p_len - 1)]
        resp = [rng.randrange(3, vocab) for _ in range(r_len - 1)] + [EOS]
        out.append({"input_ids": prompt + resp, "labels": [-100] * len(prompt) + resp, "prompt": prompt})
    return out


def build_model(name: str, dtype, device, attn: str):
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    cfg = MistralConfig(**CONFIGS[name], bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
                        tie_word_embeddings=False)
    cfg._attn_implementation = attn
    torch.manual_seed(0)
    with torch.device(device):
        model = MistralForCausalLM(cfg).to(dtype)
    model.config.use_cache = False
    return model


def with_lora(model):
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.1, target_modules=TARGETS))


def _tokenizer():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": PAD, "<s>": BOS, "</s>": EOS}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, "<pad>")))
    tok.pad_token, tok.bos_token, tok.eos_token = "<pad>", "<s>", "</s>"
    return tok


def micro_batches(examples, *, micro: int, grouped: bool, seed: int):
    """Example indices per micro-batch: the Trainer's length-grouped sampler, or random order."""
    import torch

    if grouped:
        from transformers.trainer_pt_utils import LengthGroupedSampler

        g = torch.Generator().manual_seed(seed)
        order = list(LengthGroupedSampler(micro, lengths=[len(e["input_ids"]) for e in examples], generator=g))
    else:
        order = list(range(len(examples)))
        random.Random(seed).shuffle(order)
    return [order[i : i + micro] for i in range(0, len(order), micro)]


def auto_policy(model, examples, *, micro, device, amp, collate):
    """``ecinstruct train``'s ``auto`` checkpointing policy for these examples and this collator (off on CPUs)."""
    import torch

    from ecellm.checkpointing import CheckpointingPolicy, measure_policy

    if device != "cuda":
        return CheckpointingPolicy("off")
    return measure_policy(model, collate, examples, micro_batch=micro, device=device,
                          autocast_dtype=torch.bfloat16 if amp else None)


def _collator(packed: bool, device: str, *, varlen: bool = False, labeled: bool = False):
    from ecellm.data import Collator

    return Collator(_tokenizer(), arch="causal", packed=packed, pad_to_multiple_of=8 if device != "cpu" else None,
                    varlen_kwargs=varlen, labeled_logits=labeled)


def time_training(model, examples, *, micro, effective, packed, grouped, checkpointing, steps, warmup, device, amp,
                  collate=None, record: list | None = None):
    """Real tokens/s of each of the ``steps`` timed optimizer steps (after ``warmup``).

    ``checkpointing`` is a :class:`ecellm.checkpointing.CheckpointingPolicy`,
    applied per micro-batch as ``ecinstruct train`` does; ``collate`` is the
    setting's collator (default: padded or packed, all logits).  ``record``,
    when given, receives one ``{"lengths", "labeled", "seconds"}`` per timed
    step (the examples' real lengths and labelled tokens, for
    :func:`train_flops`).
    """
    import torch

    from ecellm.checkpointing import batch_tokens, set_layer_checkpointing

    collate = collate or _collator(packed, device)
    if checkpointing.enabled:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_disable()
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batches = micro_batches(examples, micro=micro, grouped=grouped, seed=0)
    labeled_of = [sum(x != -100 for x in e["labels"]) for e in examples]  # counted once, outside the timing
    per_step = effective // micro
    rates = []
    for step in range(warmup + steps):
        chunk = batches[step * per_step : (step + 1) * per_step]
        if len(chunk) < per_step:
            raise ValueError("not enough examples for the requested steps; raise --examples")
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        tokens = labeled = 0
        lengths = []
        for idx in chunk:
            feats = [examples[i] for i in idx]
            lengths += [len(f["input_ids"]) for f in feats]
            tokens += sum(len(f["input_ids"]) for f in feats)
            labeled += sum(labeled_of[i] for i in idx)
            batch = {k: v.to(device) if hasattr(v, "to") else v for k, v in collate(feats).items()}
            if checkpointing.mode == "budget":
                set_layer_checkpointing(model, checkpointing.needed(batch_tokens(batch)))
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=amp):
                loss = model(**batch, use_cache=False).loss / per_step
            loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            seconds = time.perf_counter() - t0
            rates.append(tokens / seconds)
            if record is not None:
                record.append({"lengths": lengths, "labeled": labeled, "seconds": seconds})
    return rates


#: Issue 16's ladder of levers, each added to the setting before it (``--levers`` picks some; the
#: micro-batch rows multiply ``--micro-batch``).  Compilation and the dtype changes act on the model in
#: place, so they come after the eager rows.  Rows marked ``changes_numbers`` are measured, not used by
#: ``ecinstruct train``: they change the adapter or need an optional package.
LEVERS = (
    ("packing", "+ packing, varlen attention (PyTorch kernel)", dict(packed=True, attention="varlen")),
    ("logits", "+ logits only where the loss needs them", dict(labeled=True)),
    ("lora-input", "+ LoRA input left in bf16 (no cast to the fp32 adapter)", dict(cast_lora_input=False)),
    ("compile", "+ torch.compile per decoder layer", dict(compile=True)),
    ("micro2x", "+ micro-batch x2", dict(micro_factor=2)),
    ("micro4x", "+ micro-batch x4", dict(micro_factor=4)),
    ("lora-bf16", "+ LoRA weights in bf16 (changes the adapter)", dict(lora_bf16=True)),
    # Liger's kernels fuse what compile fuses: they replace it, so that this row's effect is Liger's against it.
    ("liger", "+ Liger RMSNorm, RoPE, SwiGLU, eager (optional package)", dict(liger=True, compile=False)),
)


def lever_settings(levers, *, micro: int, attention: str, packed: bool = False) -> list[tuple[str, dict]]:
    """The ladder: ``ecinstruct train``'s default before issue 16 first, then each chosen lever on top of the one before.

    >>> [name for name, _ in lever_settings(["packing", "micro2x"], micro=8, attention="sdpa")]
    ['before (micro-batch 8, length-grouped, sdpa, all logits)', '+ packing, varlen attention (PyTorch kernel) (micro-batch 8)', '+ micro-batch x2 (micro-batch 16)']
    """
    current = dict(micro=micro, packed=packed, grouped=True, attention=attention, labeled=False, compile=False,
                   cast_lora_input=True, lora_bf16=False, liger=False)
    batching = "packed" if packed else "length-grouped"
    out = [(f"before (micro-batch {micro}, {batching}, {attention}, all logits)", dict(current))]
    for key, label, change in LEVERS:
        if key not in levers:
            continue
        change = dict(change)
        factor = change.pop("micro_factor", None)
        if factor:
            change["micro"] = micro * factor
        current = {**current, **change}
        out.append((f"{label} (micro-batch {current['micro']})", dict(current)))
    return out


def apply_setting(model, setting: dict, done: set, *, amp: bool) -> str | None:
    """Put ``model`` in ``setting``'s state (attention kernel, LoRA input cast; compilation, bf16 LoRA, Liger once
    each, in place; compilation undone for a setting without it); a reason when the setting cannot run here, else
    ``None``.  ``amp``: bf16 autocast is on (the LoRA input may stay bf16 only then)."""
    from ecellm import speedups, varlen

    base = model.get_base_model()
    speedups.set_lora_input_cast(model, setting["cast_lora_input"] or not amp)
    name = varlen.register() if setting["attention"] == "varlen" else setting["attention"]
    if base.config._attn_implementation != name:
        base.set_attn_implementation(name)
    if setting["liger"] and "liger" not in done:
        try:
            speedups.apply_liger(model)
        except ImportError as exc:
            return f"liger-kernel cannot be imported here ({exc})"
        done.add("liger")
    if not setting["compile"] and "compile" in done:  # a row in place of compilation (Liger's)
        speedups.uncompile_layers(model)
        done.discard("compile")
    for lever, act in (("compile", speedups.compile_layers), ("lora_bf16", speedups.lora_to_bf16)):
        if setting[lever] and lever not in done:
            act(model)
            done.add(lever)
    return None


def setting_seconds(record: list, *, warmup: int, steps: int, wall: float) -> float:
    """About how long the next setting takes, judged by the last one: its median timed step times its steps
    (warm-up included) and one more for the checkpointing measurement.  The wall time would count the one-off
    compilation of the first compiled setting, after which the ones that follow would not be started.

    >>> setting_seconds([{"seconds": 2.0}, {"seconds": 3.0}], warmup=1, steps=2, wall=95.0)
    10.0
    >>> setting_seconds([], warmup=1, steps=2, wall=95.0)  # nothing timed (out of memory): the wall time
    95.0
    """
    if not record:
        return wall
    return (warmup + steps + 1) * statistics.median(r["seconds"] for r in record)


def restore_module(module, names: dict) -> None:
    """Bind again in ``module`` what ``names = dict(vars(module))`` held.  Names added since stay: compiled
    code keeps the globals it adds to the modules it compiled.

    >>> import types
    >>> m = types.ModuleType("m"); m.f = len; names = dict(vars(m))
    >>> m.f, m.g = abs, abs
    >>> restore_module(m, names); m.f is len, m.g is abs
    (True, True)
    """
    for key, value in names.items():
        if getattr(module, key, None) is not value:
            setattr(module, key, value)


def undo_compile_after_failure(model, done: set) -> None:
    """A compiled setting that failed (compilation happens at its first forward) must not leave later
    settings compiled: they would fail the same way."""
    from ecellm import speedups

    if "compile" in done:
        speedups.uncompile_layers(model)
        done.discard("compile")


class _Stopped(BaseException):  # not an Exception: the per-setting error handlers must let it through
    """SIGTERM arrived (``timeout`` ends the run): stop timing and print what was measured."""


def _stop(signum, frame):
    raise _Stopped


def stopped_early(skipped: dict) -> bool:
    """Whether the run was told to end while a setting ran (then nothing more is timed)."""
    return any(why.startswith("stopped:") for why in skipped.values())


def _failed(exc: BaseException) -> str:
    """One line for a setting that raised.

    >>> _failed(RuntimeError("bad shape\\nmore"))
    'failed: RuntimeError: bad shape'
    """
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"failed: {type(exc).__name__}: {first}"


def guarded(fn, *args, device, **kwargs):
    """``fn(model, ...)``'s rates, or ``None`` when the setting does not fit in GPU memory; and the peak GiB used."""
    import torch

    from ecellm.checkpointing import _is_out_of_memory

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    try:
        rates = fn(*args, device=device, **kwargs)
    except RuntimeError as exc:  # cuBLAS and cuDNN report failed allocations as plain RuntimeErrors
        if not _is_out_of_memory(exc):
            raise
        rates = None
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    if rates is None:
        free_memory(args[0], device)
    return rates, peak


def free_memory(model, device: str) -> None:
    """Free what a failed setting held (its gradients, cached blocks) before the next one."""
    import torch

    model.zero_grad(set_to_none=True)
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def _progress(name: str, rates, tflops: dict | None = None, peak: float | None = None) -> None:
    """One line per finished setting on stderr, so that an interrupted run still tells something."""
    done = "out of memory" if rates is None else f"median {statistics.median(rates):.1f} tokens/s"
    if rates and tflops and tflops["lora_aware"]:
        done += "".join(f"; {label} {_tf_mfu(statistics.median(tflops[key]), peak)}"
                        for key, label in (("lora_aware", "LoRA-aware"), ("six_n", "6N")))
    print(f"  timed: {name}: {done}", file=sys.stderr, flush=True)


def _tf_mfu(tflops: float, peak: float | None) -> str:
    """``"123.4 TFLOP/s, MFU 12.5%"`` (MFU ``n/a`` without a known peak).

    >>> _tf_mfu(123.44, 989.0), _tf_mfu(0.02, None)
    ('123.4 TFLOP/s, MFU 12.5%', '0.02 TFLOP/s, MFU n/a')
    """
    return f"{_tf(tflops)} TFLOP/s, MFU {'n/a' if not peak else f'{100 * tflops / peak:.1f}%'}"


def _tf(tflops: float) -> str:
    """TFLOP/s to one decimal, or three significant digits below 10 (CPUs).

    >>> _tf(123.44), _tf(0.0123456)
    ('123.4', '0.0123')
    """
    return f"{tflops:.1f}" if tflops >= 10 else f"{tflops:.3g}"


def time_generation(model, prompts, *, batch, sort, max_new, device, repeats):
    """Generated tokens/s of each of ``repeats`` passes over all prompts (each makes ``max_new`` tokens)."""
    import torch

    from ecellm.predictor import generate_token_ids

    model.eval()
    model.config.use_cache = True
    run = dict(arch="causal", pad_token_id=PAD, eos_token_id=EOS, batch_size=batch, max_new_tokens=max_new,
               min_new_tokens=max_new, sort_by_length=sort, progress=False)
    generate_token_ids(model, prompts[:batch], **run)  # warm-up
    rates = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = generate_token_ids(model, prompts, **run)
        if device == "cuda":
            torch.cuda.synchronize()
        rates.append(sum(len(o) for o in out) / (time.perf_counter() - t0))
    return rates


def main(argv=None) -> int:
    import torch

    from ecellm import speedups, varlen
    from ecellm.checkpointing import CheckpointingPolicy
    from ecellm.modeling import attention_implementation

    on_gpu = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="mistral-7b" if on_gpu else "small")
    ap.add_argument("--micro-batch", type=int, default=8, help="our micro-batch (ecinstruct train's default)")
    ap.add_argument("--also-micro-batch", type=int, nargs="*", default=[],
                    help="further micro-batches to time with checkpointing off")
    ap.add_argument("--effective-batch", type=int, default=32 if on_gpu else 16,
                    help="examples per optimizer step in this benchmark (the recipe's 128 takes long)")
    ap.add_argument("--steps", type=int, default=3, help="timed optimizer steps per setting")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--prompt-median", type=int, default=300 if on_gpu else 96, help="median prompt tokens")
    ap.add_argument("--predict-batch", type=int, default=32 if on_gpu else 8, help="our prediction batch")
    ap.add_argument("--levers", nargs="*", default=[key for key, _, _ in LEVERS], choices=[k for k, _, _ in LEVERS],
                    help="levers to add, one by one, to the default before issue 16 (all by default)")
    ap.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True,
                    help="also time the default with checkpointing always on and always off")
    ap.add_argument("--generation", action=argparse.BooleanOptionalAction, default=True,
                    help="time generation too")
    ap.add_argument("--also-predict-batch", type=int, nargs="*", default=[64] if on_gpu else [],
                    help="further prediction batches to time")
    ap.add_argument("--predict-examples", type=int, default=128 if on_gpu else 16)
    ap.add_argument("--max-new-tokens", type=int, default=32 if on_gpu else 8)
    ap.add_argument("--repeats", type=int, default=3, help="timed prediction passes per setting")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds from the start; a training setting that would end later (judged by the steps of "
                    "the one before, plus its compilation if it compiles again) is listed, not run; SIGTERM (from "
                    "`timeout`) also ends the timing and prints what was measured")
    args = ap.parse_args(argv)
    started = time.perf_counter()  # --time-limit counts from here, model build included

    device = "cuda" if on_gpu else "cpu"
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    attn = attention_implementation()  # what ecinstruct train used before issue 16: flash-attn's, else SDPA
    n_train = (args.warmup + args.steps) * args.effective_batch
    examples = synthetic_examples(n_train, vocab=CONFIGS[args.config]["vocab_size"], prompt_median=args.prompt_median)

    where = torch.cuda.get_device_name(0) if on_gpu else f"CPU ({torch.get_num_threads()} threads)"
    peak = peak_bf16_tflops(where) if bf16 else None  # a bf16 peak says nothing of an fp32 run
    counts = param_counts(CONFIGS[args.config])
    # ecinstruct train's default on this machine, as its plan resolves it.
    plan = speedups.plan(arch="causal", cuda=on_gpu, bf16=bf16, flash_attn=attn == "flash_attention_2",
                         varlen_kernel=varlen.available(), labeled_ok=True)
    default = dict(micro=args.micro_batch, packed=plan.batching == "packed", grouped=True, attention=plan.attention,
                   labeled=plan.logits == "labeled", compile=plan.compile, cast_lora_input=plan.cast_lora_input,
                   lora_bf16=False, liger=False)
    ladder = lever_settings(args.levers, micro=args.micro_batch, attention=attn, packed=attn == "flash_attention_2")
    ladder_names = {name for name, _ in ladder}  # each adds one lever to the one before
    default_name = next((name for name, setting in ladder if setting == default), None)
    if default_name is None:  # not on the ladder: timed right after the last row it builds on
        default_name = f"default ({plan.describe()}, micro-batch {args.micro_batch})"
        at = max((i for i, (_, st) in enumerate(ladder)
                 if st["compile"] == default["compile"] and not st["lora_bf16"] and not st["liger"]), default=0)
        ladder.insert(at + 1, (default_name, default))
    largest = max(setting["micro"] for _, setting in ladder)
    if largest > args.effective_batch:
        ap.error(f"--effective-batch {args.effective_batch} is smaller than the micro-batch {largest} of the micro-batch "
                 "levers: raise it, or leave out micro2x/micro4x")
    model = with_lora(build_model(args.config, dtype, device, attn))
    modeling = sys.modules[type(model.get_base_model()).__module__]
    modeling_names = dict(vars(modeling))  # Liger rebinds names there (RoPE, the norm and MLP classes)
    common = dict(effective=args.effective_batch, steps=args.steps, warmup=args.warmup, device=device, amp=bf16)
    on, off = CheckpointingPolicy("on"), CheckpointingPolicy("off")

    released = dict(micro=1, packed=False, grouped=False, attention=attn, labeled=False, compile=False,
                    cast_lora_input=True, lora_bf16=False, liger=False)
    timed = [("released (micro-batch 1, random order, no checkpointing, all logits)", released, off)]
    for name, setting in ladder:
        timed.append((name, setting, None))  # None: the auto policy, measured for this setting
        if name == default_name and args.variants:
            for policy, label in ((on, "on"), (off, "off")):
                timed.append((f"default with checkpointing {label} (micro-batch {args.micro_batch})", setting, policy))
            for micro in args.also_micro_batch:
                timed.append((f"default with checkpointing off (micro-batch {micro})", {**setting, "micro": micro}, off))

    train, peaks, tflops, described, skipped = {}, {}, {}, {}, {}
    builds_on: dict = {}  # ladder row label -> the label of the ladder row timed before it
    previous = None
    done: set = set()
    last = 0.0  # about what the last setting took, compilation left out: one that would not end in time is not started
    compile_cost = 0.0  # seconds the last compiling setting spent beyond its steps
    previous_term = signal.signal(signal.SIGTERM, _stop)  # `timeout` stops us: report what was measured
    name = None
    try:
        for name, setting, policy in timed:
            elapsed = time.perf_counter() - started
            compiles = setting["compile"] and ("compile" not in done or (setting["lora_bf16"] and "lora_bf16" not in done))
            need = last + (compile_cost if compiles else 0.0)  # new LoRA dtypes: the parts compile again
            if args.time_limit and elapsed + need > args.time_limit:
                why = (f"not run: {elapsed:.0f} s gone and this setting needs about {need:.0f} s by the last one, "
                       f"of a {args.time_limit:g} s time limit")
            else:
                try:
                    why = apply_setting(model, setting, done, amp=bf16)
                except Exception as exc:  # noqa: BLE001 - one lever failing must not lose the others' figures
                    why = _failed(exc)
            if why:
                skipped[name] = why
                print(f"  skipped: {name}: {why}", file=sys.stderr, flush=True)
                continue
            setting_start = time.perf_counter()
            collate = _collator(setting["packed"], device, varlen=speedups.uses_varlen_kwargs(setting["attention"]),
                                labeled=setting["labeled"])
            record = []
            failure = None
            try:
                if policy is None:
                    policy = auto_policy(model, examples, micro=setting["micro"], device=device, amp=bf16, collate=collate)
                label = f"{name}, checkpointing {policy.describe()}"
                if name == default_name:
                    label = f"ours = ecinstruct train's default: {label}"
                train[label], peaks[label] = guarded(time_training, model, examples, micro=setting["micro"],
                                                     packed=setting["packed"], grouped=setting["grouped"],
                                                     checkpointing=policy, collate=collate, **common, record=record)
            except Exception as exc:  # noqa: BLE001
                failure = _failed(exc)
            if failure:  # freed here, once the handler has let go of the traceback and the frames it holds
                skipped[name] = failure
                print(f"  skipped: {name}: {failure}", file=sys.stderr, flush=True)
                free_memory(model, device)
                if setting["compile"]:
                    undo_compile_after_failure(model, done)
                continue
            wall = time.perf_counter() - setting_start
            last = setting_seconds(record, warmup=args.warmup, steps=args.steps, wall=max(wall, last))
            if compiles:
                compile_cost = max(compile_cost, wall - last)
            if name in ladder_names:
                builds_on[label], previous = previous, label
            tflops[label] = step_tflops(record, counts) if train[label] else None
            described[label] = name
            _progress(label, train[label], tflops[label], peak)
            if args.json:  # a run stopped at its time limit still leaves what it measured
                _write(args.json, train, {}, peaks, tflops, peak, skipped, _settings(args, where, dtype, attn, peak,
                                                                                         counts, plan), builds_on)
    except _Stopped:
        skipped[name] = "stopped: the process was told to end (its time limit) while this setting ran"
        print(f"  skipped: {name}: {skipped[name]}", file=sys.stderr, flush=True)
    # The table: the released recipe, then the default (its ratio is the summary's), then the rest in order.
    order = sorted(train, key=lambda k: (not k.startswith("released"), not k.startswith("ours = ")))
    train = {k: train[k] for k in order}

    gen = {}
    if args.generation and not stopped_early(skipped):
        # A fresh model: the ladder changed the trained one in place (attention kernel, compilation, dtype),
        # and Liger its modeling module, which a new model would pick up.
        restore_module(modeling, modeling_names)
        del model
        gc.collect()
        if on_gpu:
            torch.cuda.empty_cache()
        model = with_lora(build_model(args.config, dtype, device, attn))
        prompts = [e["prompt"] for e in synthetic_examples(
            args.predict_examples, vocab=CONFIGS[args.config]["vocab_size"], prompt_median=args.prompt_median, seed=1)]
        run = dict(max_new=args.max_new_tokens, device=device, repeats=args.repeats)
        name = "released (batch 2, file order, LoRA unmerged)"
        gen[name], peaks[name] = guarded(time_generation, model, prompts, batch=2, sort=False, **run)
        _progress(name, gen[name])
        merged = model.merge_and_unload()
        for batch in [args.predict_batch, *args.also_predict_batch]:
            name = f"ours (batch {batch}, length-sorted, LoRA merged)"
            gen[name], peaks[name] = guarded(time_generation, merged, prompts, batch=batch, sort=True, **run)
            _progress(name, gen[name])

    signal.signal(signal.SIGTERM, previous_term)
    settings = _settings(args, where, dtype, attn, peak, counts, plan)
    report = {"settings": settings, "skipped": skipped, **summarize(train, gen, peaks, tflops, peak)}
    add_lever_effects(report["train"], builds_on)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _settings(args, where, dtype, attn, peak, counts, plan) -> dict:
    return {
        "device": where, "config": args.config, "dtype": str(dtype), "attention_before": attn,
        "default": plan.describe(), "levers": list(args.levers),
        "effective_batch": args.effective_batch, "timed_steps": args.steps, "warmup_steps": args.warmup,
        "prompt_median": args.prompt_median, "predict_examples": args.predict_examples,
        "max_new_tokens": args.max_new_tokens, "repeats": args.repeats,
        "peak_bf16_tflops": peak, "params": counts, "flops_formula": FLOPS_FORMULA,
    }


def add_lever_effects(rows: dict, builds_on: dict) -> None:
    """Each ladder row's ``ratio_vs_previous_row``: its tokens/s over the row it adds a lever to.

    >>> rows = {"a": {"median_tokens_per_s": 10.0}, "b": {"median_tokens_per_s": 15.0}, "c": {"out_of_memory": True}}
    >>> add_lever_effects(rows, {"a": None, "b": "a", "c": "b"}); rows["b"]["ratio_vs_previous_row"], "ratio_vs_previous_row" in rows["c"]
    (1.5, False)
    """
    for label, before in builds_on.items():
        mine, theirs = rows.get(label, {}), rows.get(before, {})
        if mine.get("median_tokens_per_s") and theirs.get("median_tokens_per_s"):
            mine["ratio_vs_previous_row"] = round(mine["median_tokens_per_s"] / theirs["median_tokens_per_s"], 3)


def _write(path: Path, train, gen, peaks, tflops, peak, skipped, settings, builds_on) -> None:
    report = {"settings": settings, "skipped": skipped, "partial": True, **summarize(train, gen, peaks, tflops, peak)}
    add_lever_effects(report["train"], builds_on)
    path.write_text(json.dumps(report, indent=2) + "\n")


#: Issue 6's targets, on a GPU: ours / released recipe.
TARGETS_ON_GPU = {"train": 3.0, "generate": 5.0}


def summarize(train: dict, gen: dict, peaks: dict | None = None, tflops: dict | None = None,
              peak_tflops: float | None = None) -> dict:
    """Medians, spreads and ratios vs the first (released) setting of each table.

    A setting whose rates are ``None`` did not fit in memory: it is kept,
    marked ``"out_of_memory": True``, with no figures.  ``tflops`` (setting ->
    :func:`step_tflops`) adds the median achieved TFLOP/s of each training
    setting, both ways, and its MFU against ``peak_tflops`` (``None``: n/a).

    Examples
    --------
    >>> r = summarize({"released": [1, 2, 3], "ours": [6, 6, 9], "big": None}, {"released": [2.0], "ours": [10.0]})
    >>> r["train"]["ours"]["ratio_vs_released"], r["generate"]["ours"]["median_tokens_per_s"]
    (3.0, 10.0)
    >>> r["train"]["big"]
    {'out_of_memory': True, 'peak_gib': None}
    >>> t = summarize({"ours": [1.0]}, {}, None, {"ours": {"lora_aware": [98.9, 100], "six_n": [148.35]}}, 989.0)
    >>> t["train"]["ours"]["tflops_lora_aware"], t["train"]["ours"]["mfu_lora_aware"], t["train"]["ours"]["mfu_6n"]
    (99.45, 0.1006, 0.15)
    >>> summarize({"ours": [1.0]}, {}, None, {"ours": {"lora_aware": [1.0], "six_n": [1.5]}})["train"]["ours"]["mfu_6n"]
    """
    peaks = peaks or {}
    tflops = tflops or {}
    out = {}
    for key, table in (("train", train), ("generate", gen)):
        first = next(iter(table.values()), None)
        base = statistics.median(first) if first else None
        out[key] = {}
        for name, rates in table.items():
            peak = round(peaks[name], 2) if peaks.get(name) is not None else None
            if not rates:
                out[key][name] = {"out_of_memory": True, "peak_gib": peak}
                continue
            median = statistics.median(rates)
            out[key][name] = {
                "median_tokens_per_s": round(median, 2),
                "min_tokens_per_s": round(min(rates), 2),
                "max_tokens_per_s": round(max(rates), 2),
                "n": len(rates),
                "ratio_vs_released": round(median / base, 3) if base else None,
                "peak_gib": peak,
            }
            achieved = tflops.get(name) if key == "train" else None
            if achieved and achieved["lora_aware"]:
                for way, label in (("lora_aware", "lora_aware"), ("six_n", "6n")):
                    tf = statistics.median(achieved[way])
                    out[key][name][f"tflops_{label}"] = float(f"{tf:.4g}")
                    out[key][name][f"mfu_{label}"] = round(tf / peak_tflops, 4) if peak_tflops else None
    return out


def format_report(report: dict) -> str:
    """The tables and the final summary that the script prints."""
    s = report["settings"]
    lines = [
        f"device: {s['device']}; config: {s['config']}; dtype: {s['dtype']}; attention before issue 16: "
        f"{s['attention_before']}; ecinstruct train's default here: {s['default']}",
        f"training: effective batch {s['effective_batch']}, median over {s['timed_steps']} timed optimizer steps "
        f"(after {s['warmup_steps']} warm-up); generation: {s['predict_examples']} prompts "
        f"(median {s['prompt_median']} tokens) x {s['max_new_tokens']} new tokens, median over "
        f"{s['repeats']} passes",
    ]
    if s.get("flops_formula"):
        n = s["params"]
        peak = s.get("peak_bf16_tflops")
        of = f"{peak:g} TFLOP/s dense bf16" if peak else "n/a: CPU, unknown GPU or no bf16"
        lines += [
            f"MFU: achieved model TFLOP/s / peak ({of}); N_total {n['total']:,}, N_frozen (matmul) {n['frozen_matmul']:,}, "
            f"N_lora {n['lora']:,}, L {n['layers']}, d_attn {n['attention_width']}",
            f"  {s['flops_formula']}",
        ]

    def ratio(r):
        return "n/a" if r.get("ratio_vs_released") is None else f"x{r['ratio_vs_released']:.2f}"

    def mfu(r):
        if "tflops_lora_aware" not in r:
            return ""
        out = ""
        for k, label in (("lora_aware", "LoRA-aware"), ("6n", "6N")):
            share = r["mfu_" + k]
            out += f"  {label} {_tf(r['tflops_' + k])} TFLOP/s MFU {'n/a' if share is None else f'{100 * share:.1f}%'}"
        return out

    for key, title in (("train", "training tokens/s"), ("generate", "generation tokens/s")):
        if not report[key]:
            continue
        lines += ["", f"{title}: median [min-max]  ratio vs released  peak GPU memory"]
        for name, r in report[key].items():
            peak = "" if r.get("peak_gib") is None else f"  {r['peak_gib']:.1f} GiB"
            if r.get("out_of_memory"):
                lines.append(f"  {'out of memory':>10}{' ' * 22}{name}{peak}")
                continue
            lines.append(f"  {r['median_tokens_per_s']:10.1f} [{r['min_tokens_per_s']:.1f}-{r['max_tokens_per_s']:.1f}]"
                         f"  {ratio(r):>6}  {name}{peak}")
            if mfu(r):
                lines.append(f"  {'':10}{mfu(r)}")
    for name, why in report.get("skipped", {}).items():
        lines.append(f"  {'skipped':>10}{' ' * 22}{name}: {why}")
    lines += ["", "SUMMARY (ours / released recipe, medians; issue 6 targets are for a GPU)"]
    for key, what in (("train", "training  "), ("generate", "generation")):
        items = list(report[key].items())
        if len(items) < 2:
            continue
        if key == "train" and not items[1][0].startswith("ours = "):
            lines.append(f"  {what}: n/a (ecinstruct train's default was not timed)")
            continue
        base, ours = items[0][1], items[1][1]
        extra = "".join(f"; {'out of memory' if r.get('out_of_memory') else ratio(r)} {n}" for n, r in items[2:])
        if ours.get("out_of_memory") or base.get("out_of_memory"):
            head = "n/a (out of memory)"
        else:
            head = f"{ratio(ours)} ({ours['median_tokens_per_s']:.1f} vs {base['median_tokens_per_s']:.1f} tokens/s)"
        lines.append(f"  {what}: {head}{extra}; target >= x{TARGETS_ON_GPU[key]:g}")
        if key == "train" and "tflops_lora_aware" in ours:
            lines.append(f"  training MFU, ours:{mfu(ours)}; released:{mfu(base) or ' n/a'}")
    if s["device"].startswith("CPU"):
        lines.append("  (measured on a CPU: the GPU targets do not apply as such)")
    return "\n".join(lines + ["", markdown_table(report)])


def markdown_table(report: dict) -> str:
    """The training table as Markdown, for the closing note: one row per setting, both MFU counts, peak memory.

    >>> print(markdown_table({"settings": {"device": "GPU X"}, "train": {"ours": {"median_tokens_per_s": 10.0,
    ...     "ratio_vs_released": 2.0, "tflops_lora_aware": 400.0, "mfu_lora_aware": 0.4044, "tflops_6n": 500.0,
    ...     "mfu_6n": 0.5056, "peak_gib": 70.0}, "big": {"out_of_memory": True, "peak_gib": 79.1}}}))
    TABLE (GPU X)
    | setting | tokens/s | vs released | lever's effect | TFLOP/s LoRA-aware | MFU LoRA-aware | TFLOP/s 6N | MFU 6N | peak GiB |
    |---|---:|---:|---:|---:|---:|---:|---:|---:|
    | ours | 10.0 | x2.00 |  | 400.0 | 40.4% | 500.0 | 50.6% | 70.0 |
    | big | out of memory | | | | | | | 79.1 |
    """
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    rows = [f"TABLE ({report['settings']['device']})",
            "| setting | tokens/s | vs released | lever's effect | TFLOP/s LoRA-aware | MFU LoRA-aware | TFLOP/s 6N | "
            "MFU 6N | peak GiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report["train"].items():
        peak = "" if r.get("peak_gib") is None else f"{r['peak_gib']:.1f}"
        if r.get("out_of_memory"):
            rows.append(f"| {name} | out of memory | | | | | | | {peak} |")
            continue
        ratio = "n/a" if r.get("ratio_vs_released") is None else f"x{r['ratio_vs_released']:.2f}"
        effect = f"x{r['ratio_vs_previous_row']:.2f}" if "ratio_vs_previous_row" in r else ""
        tf = [(_tf(r[f"tflops_{k}"]), pct(r[f"mfu_{k}"])) if f"tflops_{k}" in r else ("", "")
              for k in ("lora_aware", "6n")]
        rows.append(f"| {name} | {r['median_tokens_per_s']:.1f} | {ratio} | {effect} | {tf[0][0]} | {tf[0][1]} | "
                    f"{tf[1][0]} | {tf[1][1]} | {peak} |")
    return "\n".join(rows)

if __name__ == "__main__":
    sys.exit(main())
