"""Batched greedy generation for the ten tasks, with optional LoRA adapters and vLLM.

Prompts are sorted by length (longest first, so memory problems show up at
once) and generated in batches; the outputs are put back in input order
with the prompt echo removed.  The released recipe predicted two prompts at
a time in file order; sorting keeps padding low so large batches pay off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ecinstruct_eval.prompts import (
    RELEASED_TEMPLATES,
    answer_from_released,
    build_prompt,
    find_shot,
    released_style,
)

__all__ = [
    "MAX_NEW_TOKENS",
    "default_max_new_tokens",
    "build_prompts",
    "released_answers",
    "load_for_inference",
    "generate",
    "generate_token_ids",
    "generate_vllm",
    "load_vllm",
    "write_predictions",
    "read_adapter_meta",
]

#: Generation budget per task kind: enough for the gold answers of each kind.
MAX_NEW_TOKENS = {
    "multiclass": 16,
    "binary": 16,
    "pick": 16,
    "ranking": 32,
    "extraction": 256,
    "generation": 256,
}


def default_max_new_tokens(task: str) -> int:
    """Generation budget of ``task`` from :data:`MAX_NEW_TOKENS`.

    Examples
    --------
    >>> default_max_new_tokens("SA"), default_max_new_tokens("AG")
    (16, 256)
    """
    from ecinstruct_eval.tasks import get_task

    return MAX_NEW_TOKENS[get_task(task).kind]


def build_prompts(
    records: Sequence[Mapping[str, Any]],
    *,
    style: str = "plain",
    shots: int = 0,
    train_by_id: Mapping[str, Mapping[str, Any]] | None = None,
    tokenizer: Any = None,
    prompt_format: str = "appendix-e",
    arch: str | None = None,
) -> list[str]:
    """Zero- or one-shot prompts for ``records``: Appendix E wrapped in ``style``, or the release's template.

    ``prompt_format="released"`` uses the release's template of
    ``released_style(style, arch)`` (:mod:`ecinstruct_eval.prompts`).
    """
    if shots not in (0, 1):
        raise ValueError(f"shots must be 0 or 1, not {shots!r}")
    if shots == 1 and train_by_id is None:
        raise ValueError("one-shot prompts need the training records (train_by_id)")
    return [
        build_prompt(r, shot=find_shot(r, train_by_id) if shots else None, style=style, tokenizer=tokenizer,
                     prompt_format=prompt_format, arch=arch)
        for r in records
    ]


def released_answers(generations: Sequence[str], *, style: str, arch: str | None = None) -> list[str]:
    """Answers of generations (prompt echo already removed) by the release's rule.

    Causal models: the text up to the next response marker, stripped (the
    release's split on the prompt-plus-generation, whose first marker ends
    the prompt); Flan-T5: the text whole.

    Examples
    --------
    >>> released_answers(["A: good\\n\\n### Response:\\nB"], style="llama2")
    ['A: good']
    """
    marker = RELEASED_TEMPLATES[released_style(style, arch)].marker
    return [answer_from_released(marker + g, marker) if marker else g.strip() for g in generations]


def read_adapter_meta(adapter: str | os.PathLike | None) -> dict:
    """The ``ecellm.json`` an adapter folder was saved with (``{}`` when absent)."""
    from ecellm.trainer import ADAPTER_META

    if not adapter:
        return {}
    path = Path(adapter) / ADAPTER_META
    return json.loads(path.read_text()) if path.is_file() else {}


def load_for_inference(
    base: str | None,
    *,
    adapter: str | None = None,
    arch: str | None = None,
    style: str | None = None,
    allow_download: bool = False,
    device: str | None = None,
    merge: bool = True,
    prompt_format: str | None = None,
):
    """Load (model, tokenizer, preset) ready to generate.

    ``base`` may be omitted when ``adapter`` was saved by ``ecinstruct
    train`` (its ``ecellm.json`` names the base model, architecture and
    prompt style and format).  The adapter is merged into the weights by default (unless
    the LM head is tied to the input embeddings), which makes generation as
    fast as the base model's.
    """
    import torch

    from ecellm.modeling import (
        best_dtype,
        check_available,
        load_base_model,
        load_tokenizer,
        resolve_arch,
    )
    from ecellm.presets import resolve_base

    meta = read_adapter_meta(adapter)
    base = base or meta.get("base_model")
    if not base:
        raise ValueError("give the base model (--model), or an adapter folder saved by `ecinstruct train`")
    preset = resolve_base(base, arch=arch or meta.get("arch"), style=style or meta.get("style"),
                          prompt_format=prompt_format or meta.get("prompt_format"))
    check_available(preset.model_id, allow_download=allow_download)
    arch_ = resolve_arch(preset, allow_download=allow_download)
    if preset.arch != arch_:
        from dataclasses import replace

        preset = replace(preset, arch=arch_)
    tok_source = adapter if adapter and (Path(adapter) / "tokenizer_config.json").is_file() else preset.model_id
    tokenizer = load_tokenizer(
        tok_source, arch=arch_, allow_download=allow_download, padding_side="left" if arch_ == "causal" else "right"
    )
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_base_model(preset.model_id, arch=arch_, dtype=best_dtype(), allow_download=allow_download)
    if adapter:
        from peft import PeftModel

        out_emb, in_emb = model.get_output_embeddings(), model.get_input_embeddings()
        # Merging a LoRA on a head tied to the input embeddings would change those too.
        tied = out_emb is not None and in_emb is not None and out_emb.weight is in_emb.weight
        model = PeftModel.from_pretrained(model, adapter)
        if merge and not tied:
            model = model.merge_and_unload()
    model.to(device).eval()
    return model, tokenizer, preset


def _greedy_config(model: Any, pad_token_id, eos_token_id, max_new_tokens: int, min_new_tokens: int | None):
    import copy

    cfg = copy.deepcopy(model.generation_config)
    cfg.do_sample = False
    cfg.num_beams = 1
    cfg.temperature = None
    cfg.top_p = None
    cfg.top_k = None
    cfg.max_new_tokens = max_new_tokens
    cfg.max_length = None
    cfg.min_new_tokens = min_new_tokens
    cfg.pad_token_id = pad_token_id
    # Checkpoints saved from training often carry use_cache=false, which
    # transformers copies into the generation config: every new token would
    # then re-run the whole prompt.  Greedy outputs are the same either way.
    cfg.use_cache = True
    if eos_token_id is not None:
        cfg.eos_token_id = eos_token_id
    return cfg


def generate_token_ids(
    model: Any,
    encoded: Sequence[Sequence[int]],
    *,
    arch: str,
    pad_token_id: int,
    eos_token_id: int | None,
    batch_size: int = 16,
    max_new_tokens: int = 64,
    sort_by_length: bool = True,
    progress: bool = True,
    min_new_tokens: int | None = None,
) -> list[list[int]]:
    """Greedy continuations of tokenized prompts, in input order, ending at EOS (kept) or the budget.

    Causal prompts are left-padded so that all of a batch's prompts end
    where generation starts; the prompt part of the output is then cut off.
    """
    import torch
    from tqdm.auto import tqdm

    order = list(range(len(encoded)))
    if sort_by_length:
        order.sort(key=lambda i: -len(encoded[i]))
    device = next(model.parameters()).device
    gen_cfg = _greedy_config(model, pad_token_id, eos_token_id, max_new_tokens, min_new_tokens)
    results: list[list[int]] = [[] for _ in encoded]
    bar = tqdm(total=len(encoded), desc="predict", unit="ex", disable=not progress)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            seqs = [list(encoded[i]) for i in idx]
            width = max(len(s) for s in seqs)
            rows, masks = [], []
            for s in seqs:
                fill = [pad_token_id] * (width - len(s))
                if arch == "causal":
                    rows.append(fill + s)
                    masks.append([0] * len(fill) + [1] * len(s))
                else:
                    rows.append(s + fill)
                    masks.append([1] * len(s) + [0] * len(fill))
            out = model.generate(
                input_ids=torch.tensor(rows, device=device),
                attention_mask=torch.tensor(masks, device=device),
                generation_config=gen_cfg,
            )
            new = out[:, width:] if arch == "causal" else out[:, 1:]  # drop the prompt / decoder start
            for i, row in zip(idx, new.tolist()):
                if eos_token_id is not None and eos_token_id in row:
                    row = row[: row.index(eos_token_id) + 1]
                else:
                    while row and row[-1] == pad_token_id:
                        row.pop()
                results[i] = row
            bar.update(len(idx))
    bar.close()
    return results


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    arch: str,
    batch_size: int = 16,
    max_new_tokens: int = 64,
    sort_by_length: bool = True,
    progress: bool = True,
    min_new_tokens: int | None = None,
    stats: dict | None = None,
) -> list[str]:
    """Greedy outputs for ``prompts``, in input order, prompt echo stripped and whitespace trimmed.

    Parameters
    ----------
    arch : {"causal", "seq2seq"}
    batch_size : int
        Prompts per ``generate`` call.
    sort_by_length : bool
        Batch prompts of similar length together (longest first); the
        released recipe's behaviour is ``sort_by_length=False, batch_size=2``.
    stats : dict, optional
        Filled with ``prompt_tokens`` and ``new_tokens`` (EOS included) counts.
    """
    from ecellm.modeling import prompt_token_ids

    encoded = [prompt_token_ids(tokenizer, p, arch=arch) for p in prompts]
    new = generate_token_ids(
        model, encoded, arch=arch, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        batch_size=batch_size, max_new_tokens=max_new_tokens, sort_by_length=sort_by_length, progress=progress,
        min_new_tokens=min_new_tokens,
    )
    if stats is not None:
        stats["prompt_tokens"] = sum(len(e) for e in encoded)
        stats["new_tokens"] = sum(len(n) for n in new)
    return [tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in new]


def load_vllm(base: str, *, adapter: str | None = None, allow_download: bool = False):
    """A vLLM engine for ``base`` (+ ``adapter``); pass it to :func:`generate_vllm`.

    vLLM serves LoRA on projection layers but not on the LM head, which the
    paper's adapters include; such adapters are merged into a full copy of
    the weights (``ADAPTER/merged``, written once) and served from there.
    """
    try:
        from vllm import LLM
    except ImportError:
        raise ImportError("the vllm backend needs the vllm package: pip install vllm (or use --backend hf)") from None
    from ecellm.modeling import check_available

    check_available(base, allow_download=allow_download)
    model_path, lora_request, llm_kwargs = base, None, {}
    if adapter:
        cfg = json.loads((Path(adapter) / "adapter_config.json").read_text())
        targets = set(cfg.get("target_modules") or [])
        if targets & {"lm_head", "embed_tokens", "wte"}:
            model_path = str(_merged_copy(base, adapter, allow_download=allow_download))
        else:
            from vllm.lora.request import LoRARequest

            lora_request = LoRARequest("ecellm", 1, str(adapter))
            llm_kwargs = {"enable_lora": True, "max_lora_rank": max(16, int(cfg.get("r", 16)))}
    llm = LLM(model=model_path, **llm_kwargs)
    llm.ecellm_lora_request = lora_request
    return llm


def generate_vllm(llm: Any, prompts: Sequence[str], *, tokenizer: Any, max_new_tokens: int = 64) -> list[str]:
    """Greedy outputs through a :func:`load_vllm` engine, in input order, whitespace trimmed."""
    from vllm import SamplingParams

    from ecellm.modeling import prompt_token_ids

    token_prompts = [{"prompt_token_ids": prompt_token_ids(tokenizer, p, arch="causal")} for p in prompts]
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
    results = llm.generate(token_prompts, params, lora_request=getattr(llm, "ecellm_lora_request", None))
    return [r.outputs[0].text.strip() for r in results]


def _merged_copy(base: str, adapter: str, *, allow_download: bool) -> Path:
    target = Path(adapter) / "merged"
    if (target / "config.json").is_file():
        return target
    from peft import PeftModel

    from ecellm.modeling import best_dtype, load_base_model, load_tokenizer

    meta = read_adapter_meta(adapter)
    arch = meta.get("arch", "causal")
    model = load_base_model(base, arch=arch, dtype=best_dtype(), allow_download=allow_download)
    out_emb, in_emb = model.get_output_embeddings(), model.get_input_embeddings()
    if out_emb is not None and in_emb is not None and out_emb.weight is in_emb.weight:
        raise ValueError(f"{base} ties its LM head to the input embeddings, so its LM-head adapter cannot be "
                         "merged for vLLM; use --backend hf")
    model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    tmp = Path(adapter) / ".staging" / "merged"
    model.save_pretrained(str(tmp))
    load_tokenizer(adapter if (Path(adapter) / "tokenizer_config.json").is_file() else base, arch=arch,
                   allow_download=allow_download).save_pretrained(str(tmp))
    os.replace(tmp, target)
    return target


def write_predictions(
    path: str | os.PathLike, records: Sequence[Mapping[str, Any]], predictions: Sequence[str]
) -> Path:
    """Write JSONL ``{"task", "split", "id", "prediction"}`` lines atomically, in record order."""
    if len(records) != len(predictions):
        raise ValueError(f"{len(records)} records but {len(predictions)} predictions")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec, pred in zip(records, predictions):
            line = {"task": rec.get("task"), "split": rec.get("split"), "id": rec["id"], "prediction": pred}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path
