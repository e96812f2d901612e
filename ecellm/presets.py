"""The paper's six base models, the published eCeLLM models, and how ``--base`` is resolved.

A preset names the Hugging Face id, whether the model is causal or
sequence-to-sequence, the prompt wrapper it was instruction-tuned with, and
its LoRA target modules: every projection layer plus the language-modelling
head, as the paper does ("add LoRA adaptors to all the projection layers and
the language modeling head").  Any other model (a local folder or a Hub id)
is accepted too; its targets come from :data:`TARGETS_BY_MODEL_TYPE` or, for
an unknown architecture, from all of its linear layers.

The published eCeLLM models (``ecellm-s``, ``ecellm-m``, ``ecellm-l``; the
paper's Section 5: Phi-2, Mistral-7B Instruct-v0.2 and Llama-2 13B-chat,
tuned) default to the release's own prompt template
(``prompt_format="released"``, see :mod:`ecinstruct_eval.prompts`): they were
tuned on it, not on Appendix E.  Every other preset defaults to Appendix E.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

__all__ = ["Preset", "PRESETS", "ALIASES", "TARGETS_BY_MODEL_TYPE", "resolve_base"]

_LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head")
_T5_TARGETS = ("q", "k", "v", "o", "wi_0", "wi_1", "wo", "lm_head")
_PHI_TARGETS = ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2", "lm_head")

#: LoRA target modules per ``config.model_type`` (projections + LM head).
TARGETS_BY_MODEL_TYPE: dict[str, tuple[str, ...]] = {
    "llama": _LLAMA_TARGETS,
    "mistral": _LLAMA_TARGETS,
    "qwen2": _LLAMA_TARGETS,
    "qwen3": _LLAMA_TARGETS,
    "gemma": _LLAMA_TARGETS,
    "gemma2": _LLAMA_TARGETS,
    "t5": _T5_TARGETS,
    "phi": _PHI_TARGETS,
}


@dataclass(frozen=True)
class Preset:
    """How to load, wrap and tune one base model.

    Attributes
    ----------
    name : str
        Short name used on the command line (``"mistral-7b-instruct-v0.2"``).
    model_id : str
        Hugging Face id or local folder.
    arch : {"causal", "seq2seq"}
        ``AutoModelForCausalLM`` or ``AutoModelForSeq2SeqLM``.
    style : str
        Prompt wrapper (:data:`ecinstruct_eval.prompts.STYLES`).
    target_modules : tuple of str or None
        LoRA targets; ``None`` means "derive from the loaded model".
    prompt_format : {"appendix-e", "released"}
        Default prompt template family (``--prompt-format``).
    """

    name: str
    model_id: str
    arch: str
    style: str
    target_modules: tuple[str, ...] | None
    prompt_format: str = "appendix-e"


#: The paper's six base models (Section 4) and the published eCeLLM-S, -M and -L.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("flan-t5-xl", "google/flan-t5-xl", "seq2seq", "plain", _T5_TARGETS),
        Preset("flan-t5-xxl", "google/flan-t5-xxl", "seq2seq", "plain", _T5_TARGETS),
        Preset("llama-2-7b-chat", "meta-llama/Llama-2-7b-chat-hf", "causal", "llama2", _LLAMA_TARGETS),
        Preset("llama-2-13b-chat", "meta-llama/Llama-2-13b-chat-hf", "causal", "llama2", _LLAMA_TARGETS),
        Preset(
            "mistral-7b-instruct-v0.2", "mistralai/Mistral-7B-Instruct-v0.2", "causal", "mistral", _LLAMA_TARGETS
        ),
        Preset("phi-2", "microsoft/phi-2", "causal", "plain", _PHI_TARGETS),
        # The published eCeLLM models: the release's template, alpaca except Mistral-based eCeLLM-M.
        Preset("ecellm-s", "NingLab/eCeLLM-S", "causal", "alpaca", _PHI_TARGETS, "released"),
        Preset("ecellm-m", "NingLab/eCeLLM-M", "causal", "mistral", _LLAMA_TARGETS, "released"),
        Preset("ecellm-l", "NingLab/eCeLLM-L", "causal", "alpaca", _LLAMA_TARGETS, "released"),
    )
}

#: Short names accepted for the presets.
ALIASES = {
    "mistral": "mistral-7b-instruct-v0.2",
    "mistral-7b": "mistral-7b-instruct-v0.2",
    "mistral-7b-instruct": "mistral-7b-instruct-v0.2",
    "llama-2-7b": "llama-2-7b-chat",
    "llama-2-13b": "llama-2-13b-chat",
    "llama2-7b": "llama-2-7b-chat",
    "llama2-13b": "llama-2-13b-chat",
    "phi2": "phi-2",
    "flan-t5-3b": "flan-t5-xl",
    "flan-t5-11b": "flan-t5-xxl",
    "ecellm_s": "ecellm-s",
    "ecellm_m": "ecellm-m",
    "ecellm_l": "ecellm-l",
}


def resolve_base(
    base: str, *, arch: str | None = None, style: str | None = None, prompt_format: str | None = None
) -> Preset:
    """Return the :class:`Preset` for ``base``: a preset name, an alias, a Hub id or a folder.

    Preset names and aliases are case-insensitive; a preset's Hub id maps to
    the preset.  For other models ``arch`` (``"causal"``/``"seq2seq"``) may be
    given; when it is ``None`` it is read later from the model's config.
    ``arch``, ``style`` and ``prompt_format`` override the preset's values.

    Examples
    --------
    >>> resolve_base("mistral-7b").model_id
    'mistralai/Mistral-7B-Instruct-v0.2'
    >>> resolve_base("/models/my-llama", arch="causal").style
    'plain'
    >>> p = resolve_base("NingLab/eCeLLM-M")
    >>> p.name, p.style, p.prompt_format
    ('ecellm-m', 'mistral', 'released')
    """
    key = base.strip().lower()
    key = ALIASES.get(key, key)
    preset = PRESETS.get(key)
    if preset is None:
        preset = next((p for p in PRESETS.values() if p.model_id.lower() == key), None)
    if preset is None:
        if arch not in (None, "causal", "seq2seq"):
            raise ValueError(f"arch must be 'causal' or 'seq2seq', not {arch!r}")
        name = os.path.basename(os.path.normpath(base)) or base
        preset = Preset(name, base, arch or "", style or "plain", None)
    if arch and arch != preset.arch:
        preset = replace(preset, arch=arch)
    if style and style != preset.style:
        preset = replace(preset, style=style)
    if prompt_format and prompt_format != preset.prompt_format:
        if prompt_format not in ("appendix-e", "released"):
            raise ValueError(f"prompt format must be 'appendix-e' or 'released', not {prompt_format!r}")
        preset = replace(preset, prompt_format=prompt_format)
    return preset
