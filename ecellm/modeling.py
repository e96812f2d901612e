"""Loading base models, tokenizers and LoRA adapters, offline unless the user asks.

Nothing here downloads weights unless ``allow_download=True``: a model that
is neither a local folder nor in the Hugging Face cache raises
:class:`ModelNotAvailableError` with one sentence on how to point at a copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ecellm.presets import TARGETS_BY_MODEL_TYPE, Preset

__all__ = [
    "ModelNotAvailableError",
    "check_available",
    "load_tokenizer",
    "load_base_model",
    "lora_target_modules",
    "best_dtype",
    "attention_implementation",
    "resolve_arch",
    "prompt_token_ids",
]


class ModelNotAvailableError(FileNotFoundError):
    """The requested model is not on this machine and downloading was not allowed."""


def _in_hf_cache(model_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        hit = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # invalid repo ids (e.g. a missing local path) are simply "not cached"
        return False
    return isinstance(hit, str)


def check_available(model_id: str, *, allow_download: bool = False) -> None:
    """Raise :class:`ModelNotAvailableError` unless ``model_id`` can be loaded without surprises.

    A local folder, a model in the Hugging Face cache, or ``allow_download``
    make it available.
    """
    folder = Path(os.path.expanduser(model_id))
    if folder.is_dir():
        if (folder / "config.json").is_file():
            return
        raise ModelNotAvailableError(
            f"{model_id} is a folder without config.json, so it holds no model: pass a folder saved with "
            f"save_pretrained (config.json and the weights) as --base/--model"
            + (", and a LoRA adapter folder as --adapter" if (folder / "adapter_config.json").is_file() else "")
        )
    if allow_download or _in_hf_cache(model_id):
        return
    raise ModelNotAvailableError(
        f"model {model_id!r} is not on this machine: pass a local folder (with config.json and "
        f"the weights) as --base/--model, or put it in the Hugging Face cache (HF_HOME) and set "
        f"HF_HUB_OFFLINE=1, or add --allow-download to fetch it from the Hub."
    )


def _local_only(allow_download: bool) -> bool:
    return not allow_download or os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0")


def best_dtype() -> Any:
    """bfloat16 on a GPU that supports it, float32 otherwise (CPU)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_tokenizer(model_id: str, *, arch: str, allow_download: bool = False, padding_side: str = "right"):
    """The model's tokenizer with a pad token (unk, else eos) and the given padding side."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_id, local_files_only=_local_only(allow_download))
    if tok.pad_token is None:
        # A pad distinct from EOS when the vocabulary has one keeps "stop" unambiguous.
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token
    tok.padding_side = padding_side
    return tok


def resolve_arch(preset: Preset, *, allow_download: bool = False) -> str:
    """``"causal"`` or ``"seq2seq"``: the preset's value, else read from the model's config."""
    if preset.arch:
        return preset.arch
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(preset.model_id, local_files_only=_local_only(allow_download))
    return "seq2seq" if getattr(cfg, "is_encoder_decoder", False) else "causal"


def attention_implementation() -> str:
    """``"flash_attention_2"`` on a GPU with the flash-attn package, else ``"sdpa"``."""
    import importlib.util

    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def load_base_model(
    model_id: str, *, arch: str, dtype: Any = None, allow_download: bool = False, attn_implementation: str | None = None
):
    """Load the base model (weights in ``dtype``, default :func:`best_dtype`) on CPU.

    Placement on devices is left to the caller (``Trainer``/``accelerate`` or
    the predictor), so the same code runs under ``torchrun`` and FSDP.
    """
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cls = AutoModelForSeq2SeqLM if arch == "seq2seq" else AutoModelForCausalLM
    kwargs = {"dtype": dtype if dtype is not None else best_dtype(), "local_files_only": _local_only(allow_download)}
    if attn_implementation:
        try:
            return cls.from_pretrained(model_id, attn_implementation=attn_implementation, **kwargs)
        except (ValueError, ImportError) as exc:  # architectures without that attention kernel
            if "attn" not in str(exc).lower() and "attention" not in str(exc).lower():
                raise
    return cls.from_pretrained(model_id, **kwargs)


def lora_target_modules(model: Any, preset: Preset | None = None) -> list[str]:
    """LoRA targets: the preset's, else by ``model_type``, else every linear layer's name.

    The generic fallback collects the last name component of every
    ``torch.nn.Linear`` (which includes the LM head), so an unknown
    architecture still gets "all projection layers and the LM head".
    """
    if preset is not None and preset.target_modules:
        return list(preset.target_modules)
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type in TARGETS_BY_MODEL_TYPE:
        return list(TARGETS_BY_MODEL_TYPE[model_type])
    import torch

    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if isinstance(mod, torch.nn.Linear)}
    return sorted(names)


def prompt_token_ids(tokenizer: Any, prompt: str, *, arch: str) -> list[int]:
    """Token ids of a prompt as the model must see it.

    Special tokens are added by the tokenizer unless the prompt already
    starts with the BOS text (the Llama-2 wrapper writes ``<s>`` itself); a
    causal prompt never ends with EOS (some tokenizers append one).
    """
    bos = getattr(tokenizer, "bos_token", None)
    add_special = not (bos and prompt.startswith(bos))
    ids = list(tokenizer(prompt, add_special_tokens=add_special)["input_ids"])
    if arch == "causal" and ids and tokenizer.eos_token_id is not None and ids[-1] == tokenizer.eos_token_id:
        ids = ids[:-1]
    return ids
