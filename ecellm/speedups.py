"""Training speed-ups that leave the loss and the adapter as they are, and the defaults that use them.

Each lever is a small function, measured one by one by
``benchmarks/bench_train.py`` (Mistral-7B shape, ECInstruct's lengths):

* **packing with per-example attention** (:mod:`ecellm.varlen`): one row
  per micro-batch, no padding, attention within each example by PyTorch's
  own varlen flash kernel (no flash-attn wheel needed);
* **logits where the loss needs them** (:func:`keep_labeled_logits`): the
  LM head and the cross-entropy run only at positions whose next token is
  labelled.  An ECInstruct prompt has about 300 tokens and most answers 2,
  so this drops nearly all of the 32K-wide logits (and their float32 copy)
  rather than chunking them as fused linear cross-entropy kernels do.  Those
  kernels (Liger's, for one) also take the head's weight as a plain matrix
  and would skip the LoRA adapter the recipe puts on the head; here the head
  is called as it is, LoRA included;
* **regional compilation** (:func:`compile_layers`): ``torch.compile`` on
  the parts of each decoder layer (norms, attention block, MLP), which fuses
  the norms, rotary embeddings, SwiGLU and LoRA's dropout, scaling and adds
  into a few kernels, and compiles each part once for all layers;
* **LoRA inputs kept in bf16** (:func:`set_lora_input_cast`): peft casts
  each adapted input to the float32 adapter and autocast casts it back;
  skipping both gives the matmul the same bf16 values;
* larger micro-batches (the effective batch stays 128), and two levers that
  ``ecinstruct train`` does not use: LoRA weights in bf16
  (:func:`lora_to_bf16`; AdamW's updates then lose precision, so the adapter
  changes) and Liger's Triton kernels (:func:`apply_liger`; an optional
  package, measured to compare with compilation).

The same loss: :func:`keep_labeled_logits` drops only positions whose label
is ignored, so the loss is the full path's up to floating-point rounding
(``tests/train/test_speedups.py`` pins it on a tiny model, and the adapter a
short training run makes, with LoRA dropout 0).  With dropout on, the LM
head's LoRA draws its dropout mask over the kept positions only: each kept
position's mask has the same distribution as before, but the random stream,
and so the exact numbers, differ.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GPU_DEFAULTS",
    "Plan",
    "plan",
    "keep_labeled_logits",
    "supports_labeled_logits",
    "compile_layers",
    "uncompile_layers",
    "set_lora_input_cast",
    "decoder_layers",
    "uses_varlen_kwargs",
    "lora_to_bf16",
    "apply_liger",
]

log = logging.getLogger(__name__)

IGNORE_INDEX = -100

#: What ``ecinstruct train`` uses on a CUDA GPU when an option is left at ``auto`` (on CPUs: SDPA,
#: length-grouped batches, labelled logits, no compilation).  Change these only with
#: ``benchmarks/bench_train.py``'s figures for every lever, from one GPU run.
GPU_DEFAULTS: Mapping[str, Any] = {
    "attention": "varlen",  # flash_attention_2 instead when the flash-attn package is installed
    "batching": "packed",
    "logits": "labeled",
    "compile": False,
    # peft casts each LoRA module's bf16 input to the float32 adapter's dtype, and autocast casts it back
    # before the matmul: two copies of every adapted input per module, for the same bf16 numbers.
    "cast_lora_input": False,
}


@dataclass(frozen=True)
class Plan:
    """How ``ecinstruct train`` runs: attention kernel, batching, where logits are computed, compilation."""

    attention: str
    batching: str
    logits: str
    compile: bool
    #: peft's cast of each LoRA input to the adapter's dtype (off: the input stays bf16 under autocast)
    cast_lora_input: bool = True

    def describe(self) -> str:
        """One line for the training log.

        >>> Plan("varlen", "packed", "labeled", False, cast_lora_input=False).describe()
        'attention varlen, batching packed, logits labeled, compile off, LoRA input bf16'
        """
        return (f"attention {self.attention}, batching {self.batching}, logits {self.logits}, "
                f"compile {'on' if self.compile else 'off'}"
                + ("" if self.cast_lora_input else ", LoRA input bf16"))


ATTENTIONS = ("auto", "varlen", "flash_attention_2", "sdpa")
BATCHINGS = ("auto", "packed", "grouped", "padded")
LOGITS = ("auto", "labeled", "all")


def plan(*, attention: str = "auto", batching: str = "auto", logits: str = "auto", compile: bool | str = "auto",
         arch: str, cuda: bool, bf16: bool, flash_attn: bool, varlen_kernel: bool, labeled_ok: bool) -> Plan:
    """Resolve the ``auto`` options for this machine and model; raise ``ValueError`` on a combination that cannot run.

    ``cuda``/``bf16``: a CUDA GPU, with bf16; ``flash_attn``: the flash-attn
    package is installed; ``varlen_kernel``: PyTorch has its varlen kernel
    (:func:`ecellm.varlen.available`); ``labeled_ok``: the model takes
    logit positions (:func:`supports_labeled_logits`).

    Examples
    --------
    >>> gpu = dict(arch="causal", cuda=True, bf16=True, flash_attn=False, varlen_kernel=True, labeled_ok=True)
    >>> plan(**gpu).describe()
    'attention varlen, batching packed, logits labeled, compile off, LoRA input bf16'
    >>> plan(**{**gpu, "cuda": False, "bf16": False}).describe()
    'attention sdpa, batching grouped, logits labeled, compile off'
    >>> plan(**{**gpu, "flash_attn": True}, compile="on").describe()
    'attention flash_attention_2, batching packed, logits labeled, compile on, LoRA input bf16'
    >>> plan(**{**gpu, "arch": "seq2seq"}).describe()
    'attention sdpa, batching grouped, logits all, compile off, LoRA input bf16'
    """
    compile = {True: "on", False: "off"}.get(compile, compile)
    for name, value, choices in (("attention", attention, ATTENTIONS), ("batching", batching, BATCHINGS),
                                 ("logits", logits, LOGITS), ("compile", compile, ("auto", "on", "off"))):
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    causal = arch == "causal"
    if attention == "auto":
        if cuda and flash_attn:
            attention = "flash_attention_2"
        elif causal and cuda and bf16 and varlen_kernel:
            attention = GPU_DEFAULTS["attention"]
        else:
            attention = "sdpa"
    elif attention == "varlen":
        if not causal:
            raise ValueError("attention varlen is for causal models; a seq2seq model uses sdpa")
        if cuda and not varlen_kernel:
            raise ValueError("attention varlen needs PyTorch 2.10 or later (torch.nn.attention.varlen); "
                             "install flash-attn for flash_attention_2, or choose sdpa")
    if batching == "auto":
        # Packing pays off with varlen kernels; with SDPA a packed row attends (masked) over the
        # whole row, so length grouping is cheaper there.
        batching = GPU_DEFAULTS["batching"] if causal and attention in ("flash_attention_2", "varlen") else "grouped"
    if attention == "varlen" and batching != "packed":
        raise ValueError(f"attention varlen takes packed batches, not batching {batching!r}")
    if logits == "auto":
        logits = GPU_DEFAULTS["logits"] if causal and labeled_ok else "all"
    elif logits == "labeled" and not (causal and labeled_ok):
        raise ValueError("logits labeled needs a causal model whose forward takes logits_to_keep positions, and "
                         "whose loss takes shift_labels (a recent transformers); choose logits all")
    on = GPU_DEFAULTS["compile"] and cuda if compile == "auto" else compile == "on"
    # Only under bf16 autocast (the Trainer's on a bf16 GPU) does the input stay bf16 and the matmul still run.
    cast = GPU_DEFAULTS["cast_lora_input"] if cuda and bf16 else True
    return Plan(attention, batching, logits, bool(on), cast_lora_input=cast)


def keep_labeled_logits(batch: Mapping[str, Any]) -> dict:
    """``batch`` plus ``logits_to_keep`` and ``shift_labels``: the model computes logits only where the loss needs them.

    A position needs its logits when the next token's label is not
    ``-100``; with several rows, the union of the rows' positions is kept
    (and the labels there, ``-100`` where a row has none).  transformers'
    causal models then apply the LM head to those positions only and take
    the loss from ``shift_labels``.  Runs in the collator, on the CPU, so
    the data-dependent size costs the GPU no synchronization.  A batch with
    no label at all is returned unchanged.

    Examples
    --------
    >>> import torch
    >>> b = keep_labeled_logits({"input_ids": torch.arange(6)[None], "labels": torch.tensor([[-100, -100, -100, 7, 8, 2]])})
    >>> b["logits_to_keep"].tolist(), b["shift_labels"].tolist()
    ([2, 3, 4], [[7, 8, 2]])
    """
    import torch

    labels = batch["labels"]
    shifted = torch.nn.functional.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:]
    keep = torch.nonzero((shifted != IGNORE_INDEX).any(dim=0)).reshape(-1)
    if keep.numel() == 0:
        return dict(batch)
    return {**batch, "logits_to_keep": keep, "shift_labels": shifted[:, keep].contiguous()}


def supports_labeled_logits(model: Any) -> bool:
    """Whether ``model`` (a causal LM, wrapped by peft or not) takes ``logits_to_keep`` positions and ``shift_labels``.

    Older transformers took neither; the trainer then computes every position's logits, as before.
    """
    base = _unwrapped(model)
    try:
        forward = inspect.signature(base.forward).parameters
        from transformers.loss.loss_utils import ForCausalLMLoss

        loss = inspect.signature(ForCausalLMLoss).parameters
    except (ImportError, TypeError, ValueError):
        return False
    # shift_labels travels in **kwargs, through the decoder to the loss function.
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in forward.values())
    return "logits_to_keep" in forward and takes_kwargs and "shift_labels" in loss and getattr(
        base, "loss_type", None) in (None, "ForCausalLM", "ForCausalLMLoss")


def _unwrapped(model: Any) -> Any:
    """The transformers model inside a peft wrapper (or ``model`` itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def uses_varlen_kwargs(attention: str) -> bool:
    """Whether packed batches for this attention kernel carry the examples' boundaries (``cu_seq_lens_q``, ...)."""
    return attention in ("varlen", "flash_attention_2")


def decoder_layers(model: Any) -> list:
    """The repeated blocks of a transformers model: what gradient checkpointing wraps, one per layer
    (older transformers have no common class for them: then the usual ``...DecoderLayer`` names)."""
    try:
        from transformers.modeling_layers import GradientCheckpointingLayer
    except ImportError:
        return [m for m in model.modules() if type(m).__name__.endswith("DecoderLayer")]
    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]


def compile_layers(model: Any, *, dynamic: bool = True) -> int:
    """``torch.compile`` the parts of each decoder layer in place (regional compilation); return how many.

    Each child of a decoder layer (its norms, attention block and MLP, LoRA
    included) is compiled, not the layer itself: transformers' gradient
    checkpointing wraps the layer (its ``__call__`` or, in recent versions,
    its ``forward``), and a checkpoint inside a compiled frame falls back to
    eager, while compiled parts inside a checkpoint work, so checkpointing
    per micro-batch stays free.  The parts repeat in every layer, so each is
    compiled once (parameters are inputs of the graph, not constants); the
    parts with data-dependent control flow (masks, the loss) stay eager.
    ``dynamic`` shapes: packed rows change length at every micro-batch.
    """
    parts = [child for layer in decoder_layers(model) for child in layer.children()]
    for part in parts:
        part.compile(dynamic=dynamic)
    return len(parts)


def uncompile_layers(model: Any) -> None:
    """Undo :func:`compile_layers` (the modules run eagerly again)."""
    for layer in decoder_layers(model):
        for part in layer.children():
            part._compiled_call_impl = None


def set_lora_input_cast(model: Any, enabled: bool) -> int:
    """Switch peft's cast of each LoRA module's input to the adapter's dtype; return how many modules.

    Under bf16 autocast the cast is wasted work: the float32 copy of the
    input goes through dropout and is cast back to bf16 before the adapter's
    matmul.  Without it the same bf16 values reach the matmul (dropout rounds
    once either way), the adapter's weights stay float32, and each adapted
    module reads and writes two fewer copies of its input.  Only for bf16
    autocast: without autocast a bf16 input cannot meet float32 weights.
    """
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:
        return 0
    modules = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    for module in modules:
        module.cast_input_dtype_enabled = enabled
    return len(modules)


def lora_to_bf16(model: Any) -> int:
    """Cast the trainable (LoRA) parameters to bf16 in place; return how many. A lever for the benchmark only:
    AdamW's updates to bf16 weights lose precision, so the adapter is no longer the float32 one."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.to(torch.bfloat16)
    return len(params)


def apply_liger(model: Any) -> bool:
    """Liger's Triton RMSNorm, RoPE and SwiGLU kernels on ``model``, in place (its cross-entropy kernels are
    left off: see the module's note on the LoRA head).  Raises ``ImportError`` when ``liger_kernel`` (or the
    Triton it needs) cannot be imported."""
    from liger_kernel.transformers import _apply_liger_kernel_to_instance

    _apply_liger_kernel_to_instance(model=_unwrapped(model), rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                    fused_linear_cross_entropy=False)
    return True
