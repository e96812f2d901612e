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

Example::

    python benchmarks/bench_train.py --config small           # CPU
    python benchmarks/bench_train.py --config mistral-7b      # one GPU
"""

from __future__ import annotations

import argparse
import gc
import json
import random
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


def auto_policy(model, examples, *, micro, packed, device, amp):
    """``ecinstruct train``'s ``auto`` checkpointing policy for these examples (off on CPUs)."""
    import torch

    from ecellm.checkpointing import CheckpointingPolicy, measure_policy

    if device != "cuda":
        return CheckpointingPolicy("off")
    return measure_policy(model, _collator(packed, device), examples, micro_batch=micro, device=device,
                                autocast_dtype=torch.bfloat16 if amp else None)


def _collator(packed: bool, device: str):
    from ecellm.data import Collator

    return Collator(_tokenizer(), arch="causal", packed=packed, pad_to_multiple_of=8 if device != "cpu" else None)


def time_training(model, examples, *, micro, effective, packed, grouped, checkpointing, steps, warmup, device, amp):
    """Real tokens/s of each of the ``steps`` timed optimizer steps (after ``warmup``).

    ``checkpointing`` is a :class:`ecellm.checkpointing.CheckpointingPolicy`,
    applied per micro-batch as ``ecinstruct train`` does.
    """
    import torch

    from ecellm.checkpointing import batch_tokens, set_layer_checkpointing

    collate = _collator(packed, device)
    if checkpointing.enabled:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_disable()
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batches = micro_batches(examples, micro=micro, grouped=grouped, seed=0)
    per_step = effective // micro
    rates = []
    for step in range(warmup + steps):
        chunk = batches[step * per_step : (step + 1) * per_step]
        if len(chunk) < per_step:
            raise ValueError("not enough examples for the requested steps; raise --examples")
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        tokens = 0
        for idx in chunk:
            feats = [examples[i] for i in idx]
            tokens += sum(len(f["input_ids"]) for f in feats)
            batch = {k: v.to(device) for k, v in collate(feats).items()}
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
            rates.append(tokens / (time.perf_counter() - t0))
    return rates


def guarded(fn, *args, device, **kwargs):
    """``fn(model, ...)``'s rates, or ``None`` when the setting does not fit in GPU memory; and the peak GiB used."""
    import torch

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    try:
        rates = fn(*args, device=device, **kwargs)
    except torch.cuda.OutOfMemoryError:
        rates = None
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    if rates is None:  # free what the failed step held (its gradients) before the next setting
        args[0].zero_grad(set_to_none=True)
        gc.collect()
        torch.cuda.empty_cache()
    return rates, peak


def _progress(name: str, rates) -> None:
    """One line per finished setting on stderr, so that an interrupted run still tells something."""
    done = "out of memory" if rates is None else f"median {statistics.median(rates):.1f} tokens/s"
    print(f"  timed: {name}: {done}", file=sys.stderr, flush=True)


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
    ap.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True,
                    help="also time checkpointing always on and always off, and packed rows when flash-attention "
                    "is missing (SDPA with a block mask)")
    ap.add_argument("--generation", action=argparse.BooleanOptionalAction, default=True,
                    help="time generation too")
    ap.add_argument("--also-predict-batch", type=int, nargs="*", default=[64] if on_gpu else [],
                    help="further prediction batches to time")
    ap.add_argument("--predict-examples", type=int, default=128 if on_gpu else 16)
    ap.add_argument("--max-new-tokens", type=int, default=32 if on_gpu else 8)
    ap.add_argument("--repeats", type=int, default=3, help="timed prediction passes per setting")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    device = "cuda" if on_gpu else "cpu"
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    attn = attention_implementation()
    n_train = (args.warmup + args.steps) * args.effective_batch
    examples = synthetic_examples(n_train, vocab=CONFIGS[args.config]["vocab_size"], prompt_median=args.prompt_median)
    packed = attn == "flash_attention_2"

    model = with_lora(build_model(args.config, dtype, device, attn))
    common = dict(effective=args.effective_batch, steps=args.steps, warmup=args.warmup, device=device, amp=bf16)
    on, off = CheckpointingPolicy("on"), CheckpointingPolicy("off")
    auto = auto_policy(model, examples, micro=args.micro_batch, packed=packed, device=device, amp=bf16)
    batching = "packed" if packed else "length-grouped"
    settings_train = {
        "released (micro-batch 1, random order, no checkpointing)":
            dict(micro=1, packed=False, grouped=False, checkpointing=off),
        f"ours (micro-batch {args.micro_batch}, {batching}, checkpointing auto: {auto.describe()})":
            dict(micro=args.micro_batch, packed=packed, grouped=True, checkpointing=auto),
    }
    if args.variants:
        settings_train[f"ours with checkpointing on (micro-batch {args.micro_batch}, {batching})"] = dict(
            micro=args.micro_batch, packed=packed, grouped=True, checkpointing=on)
        for micro in [args.micro_batch, *args.also_micro_batch]:
            settings_train[f"ours with checkpointing off (micro-batch {micro}, {batching})"] = dict(
                micro=micro, packed=packed, grouped=True, checkpointing=off)
        if not packed:
            settings_train[f"ours packed, {attn} block mask, checkpointing off (micro-batch {args.micro_batch})"] = \
                dict(micro=args.micro_batch, packed=True, grouped=True, checkpointing=off)
    train, peaks = {}, {}
    for name, kw in settings_train.items():
        train[name], peaks[name] = guarded(time_training, model, examples, **kw, **common)
        _progress(name, train[name])

    gen = {}
    if args.generation:
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

    where = torch.cuda.get_device_name(0) if on_gpu else f"CPU ({torch.get_num_threads()} threads)"
    settings = {
        "device": where, "config": args.config, "dtype": str(dtype), "attention": attn,
        "effective_batch": args.effective_batch, "timed_steps": args.steps, "warmup_steps": args.warmup,
        "prompt_median": args.prompt_median, "predict_examples": args.predict_examples,
        "max_new_tokens": args.max_new_tokens, "repeats": args.repeats,
    }
    report = {"settings": settings, **summarize(train, gen, peaks)}
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


#: Issue 6's targets, on a GPU: ours / released recipe.
TARGETS_ON_GPU = {"train": 3.0, "generate": 5.0}


def summarize(train: dict, gen: dict, peaks: dict | None = None) -> dict:
    """Medians, spreads and ratios vs the first (released) setting of each table.

    A setting whose rates are ``None`` did not fit in memory: it is kept,
    marked ``"out_of_memory": True``, with no figures.

    Examples
    --------
    >>> r = summarize({"released": [1, 2, 3], "ours": [6, 6, 9], "big": None}, {"released": [2.0], "ours": [10.0]})
    >>> r["train"]["ours"]["ratio_vs_released"], r["generate"]["ours"]["median_tokens_per_s"]
    (3.0, 10.0)
    >>> r["train"]["big"]
    {'out_of_memory': True, 'peak_gib': None}
    """
    peaks = peaks or {}
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
    return out


def format_report(report: dict) -> str:
    """The tables and the final summary that the script prints."""
    s = report["settings"]
    lines = [
        f"device: {s['device']}; config: {s['config']}; dtype: {s['dtype']}; attention: {s['attention']}",
        f"training: effective batch {s['effective_batch']}, median over {s['timed_steps']} timed optimizer steps "
        f"(after {s['warmup_steps']} warm-up); generation: {s['predict_examples']} prompts "
        f"(median {s['prompt_median']} tokens) x {s['max_new_tokens']} new tokens, median over "
        f"{s['repeats']} passes",
    ]
    def ratio(r):
        return "n/a" if r.get("ratio_vs_released") is None else f"x{r['ratio_vs_released']:.2f}"

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
    lines += ["", "SUMMARY (ours / released recipe, medians; issue 6 targets are for a GPU)"]
    for key, what in (("train", "training  "), ("generate", "generation")):
        items = list(report[key].items())
        if len(items) < 2:
            continue
        base, ours = items[0][1], items[1][1]
        extra = "".join(
            f"; {'out of memory' if r.get('out_of_memory') else ratio(r)} {n.split(' (')[0]} ({n.split(' (')[1]}"
            for n, r in items[2:]
        )
        if ours.get("out_of_memory") or base.get("out_of_memory"):
            head = "n/a (out of memory)"
        else:
            head = f"{ratio(ours)} ({ours['median_tokens_per_s']:.1f} vs {base['median_tokens_per_s']:.1f} tokens/s)"
        lines.append(f"  {what}: {head}{extra}; target >= x{TARGETS_ON_GPU[key]:g}")
    if not s["device"].startswith("CPU"):
        return "\n".join(lines)
    return "\n".join(lines + ["  (measured on a CPU: the GPU targets do not apply as such)"])

if __name__ == "__main__":
    sys.exit(main())
