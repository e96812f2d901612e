"""Gradient checkpointing for the micro-batches that need it, and only those.

Checkpointing saves activation memory at the price of a second forward pass
(on one H200 with a 7B-shaped Mistral, LoRA, micro-batch 8: 3,674 vs 7,048
training tokens/s, ``benchmarks/bench_train.py``).  ECInstruct's lengths are
skewed, so a few long micro-batches need it and most do not.  ``auto`` mode
measures, on the GPU, the activation memory of one median micro-batch run
without checkpointing, extrapolates it linearly in tokens (SDPA and the
logits are linear in tokens; the memory a micro-batch needs is measured, not
guessed from the architecture) and turns checkpointing on only for
micro-batches above the resulting token budget.  The switch is a flag that
each checkpointable layer reads at every forward, so flipping it between
micro-batches costs nothing; results are the same as with checkpointing
always on or off (recomputation replays the same random state, and the
measurement runs on a forked random state so training draws what it would
have drawn without it).

On CPUs ``auto`` never checkpoints (memory is rarely the limit there), and
under FSDP it always does (the measurement would need the unsharded model,
and saving memory is why FSDP is used).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ActivationMemory",
    "CheckpointingPolicy",
    "batch_tokens",
    "example_tokens",
    "measure_activation_memory",
    "measure_policy",
    "set_layer_checkpointing",
]

log = logging.getLogger(__name__)

#: Share of the GPU's memory the measured extrapolation may plan to use; the
#: rest covers the optimizer's state, allocator fragmentation and other processes.
USABLE_SHARE = 0.85


@dataclass(frozen=True)
class CheckpointingPolicy:
    """When to checkpoint: ``"on"``, ``"off"``, or ``"budget"`` (above ``max_tokens`` per micro-batch).

    Examples
    --------
    >>> policy = CheckpointingPolicy("budget", max_tokens=4096)
    >>> policy.needed(4096), policy.needed(4097), policy.enabled
    (False, True, True)
    >>> CheckpointingPolicy("off").enabled
    False
    """

    mode: str
    max_tokens: int | None = None

    def __post_init__(self):
        if self.mode not in ("on", "off", "budget"):
            raise ValueError(f"checkpointing mode must be on, off or budget, not {self.mode!r}")
        if (self.mode == "budget") != (self.max_tokens is not None):
            raise ValueError("max_tokens is given exactly when the mode is 'budget'")

    @property
    def enabled(self) -> bool:
        """Whether any micro-batch may be checkpointed (the Trainer must then set checkpointing up)."""
        return self.mode != "off"

    def needed(self, tokens: int) -> bool:
        """Whether a micro-batch of ``tokens`` (padded) tokens is checkpointed."""
        if self.mode == "budget":
            return tokens > self.max_tokens
        return self.mode == "on"

    def describe(self) -> str:
        """Words for the training log and the adapter's metadata."""
        if self.mode == "budget":
            return f"above {self.max_tokens} tokens per micro-batch"
        return self.mode


def batch_tokens(batch: Mapping[str, Any], *, seq2seq: bool = False) -> int:
    """Token positions a collated micro-batch computes, padding included.

    A causal batch's labels align with its inputs; a seq2seq decoder runs
    over the labels too (and makes the vocabulary-sized logits), so they count.

    Examples
    --------
    >>> import torch
    >>> batch_tokens({"input_ids": torch.zeros(4, 100), "labels": torch.zeros(4, 100)})
    400
    >>> batch_tokens({"input_ids": torch.zeros(2, 50), "labels": torch.zeros(2, 8)}, seq2seq=True)
    116
    """
    tokens = int(batch["input_ids"].numel())
    if seq2seq:
        tokens += int(batch["labels"].numel())
    return tokens


def example_tokens(example: Mapping[str, Any], *, seq2seq: bool = False) -> int:
    """Tokens of one encoded example, counted as :func:`batch_tokens` counts them."""
    return len(example["input_ids"]) + (len(example["labels"]) if seq2seq else 0)


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    # cuBLAS and cuDNN report failed workspace allocations as plain RuntimeErrors.
    return isinstance(exc, RuntimeError) and any(
        s in str(exc) for s in ("out of memory", "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED")
    )


def set_layer_checkpointing(model: Any, on: bool) -> int:
    """Switch checkpointing of every checkpointable layer in ``model``; return how many were switched.

    The layers must have been set up by ``gradient_checkpointing_enable``
    (the Trainer does this when the policy is enabled); this only flips the
    flag that transformers' layers read at every forward.
    """
    switched = 0
    for module in model.modules():
        if isinstance(getattr(module, "gradient_checkpointing", None), bool) and hasattr(
            module, "_gradient_checkpointing_func"
        ):
            module.gradient_checkpointing = on
            switched += 1
    return switched


@dataclass(frozen=True)
class ActivationMemory:
    """One measured forward and backward pass without checkpointing, in bytes.

    Examples
    --------
    >>> gib = 2**30
    >>> m = ActivationMemory(resting=16 * gib, per_token=8 * 2**20, total=80 * gib)
    >>> m.token_budget(usable_share=0.85)  # (0.85 * 80 - 16) GiB / 8 MiB
    6656
    >>> m.policy(longest_tokens=16384).describe()
    'above 6656 tokens per micro-batch'
    >>> m.policy(longest_tokens=4096).describe()
    'off'
    """

    resting: int
    per_token: float
    total: int

    def token_budget(self, *, usable_share: float = USABLE_SHARE) -> int:
        """Most tokens per micro-batch that stay within ``usable_share`` of the GPU's memory."""
        return max(0, int((usable_share * self.total - self.resting) / max(self.per_token, 1.0)))

    def policy(self, longest_tokens: int, *, usable_share: float = USABLE_SHARE) -> CheckpointingPolicy:
        """``off`` when the longest micro-batch fits, else checkpointing above the token budget (``on`` if 0)."""
        budget = self.token_budget(usable_share=usable_share)
        if budget >= longest_tokens:
            return CheckpointingPolicy("off")
        if budget == 0:
            return CheckpointingPolicy("on")
        return CheckpointingPolicy("budget", max_tokens=budget)


def measure_activation_memory(
    model: Any, batch: Mapping[str, Any], *, device: Any, autocast_dtype: Any = None, seq2seq: bool = False
) -> ActivationMemory | None:
    """Run ``batch`` forward and backward on the CUDA ``device`` without checkpointing and measure it.

    Returns ``None`` when the batch does not fit.  Gradients are cleared
    afterwards, the model is left on ``device`` in its previous mode, and
    the random state (dropout) is as it was before.
    """
    import torch

    with torch.random.fork_rng(devices=[device]):
        return _measure(model, batch, device=device, autocast_dtype=autocast_dtype, seq2seq=seq2seq)


def _measure(model, batch, *, device, autocast_dtype, seq2seq):
    import torch

    model.to(device)
    was_training = model.training
    model.train()
    set_layer_checkpointing(model, False)
    total = torch.cuda.get_device_properties(device).total_memory
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.synchronize(device)
    resting = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    tokens = batch_tokens(batch, seq2seq=seq2seq)
    inputs = loss = None
    try:
        inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}  # max_length_q is an int
        with torch.autocast("cuda", dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None):
            loss = model(**inputs).loss
        loss.backward()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
        if not _is_out_of_memory(exc):
            raise
        peak = None
    finally:
        loss = inputs = None
        model.zero_grad(set_to_none=True)
        model.train(was_training)
        gc.collect()
        torch.cuda.empty_cache()
    if peak is None:
        return None
    return ActivationMemory(resting=resting, per_token=(peak - resting) / tokens, total=total)


def measure_policy(
    model: Any,
    collate: Callable[[Sequence[Mapping[str, Any]]], Mapping[str, Any]],
    examples: Sequence[Mapping[str, Any]],
    *,
    micro_batch: int,
    device: Any,
    autocast_dtype: Any = None,
    seq2seq: bool = False,
    usable_share: float = USABLE_SHARE,
) -> CheckpointingPolicy:
    """The ``auto`` policy for ``model`` on the CUDA ``device``, measured on ``examples``.

    Measures the ``micro_batch`` examples around the median length
    (:func:`measure_activation_memory`) and extrapolates to the longest
    ``micro_batch`` examples (:meth:`ActivationMemory.policy`); ``on`` when
    not even the median micro-batch fits.
    """
    order = sorted(range(len(examples)), key=lambda i: example_tokens(examples[i], seq2seq=seq2seq))
    if not order:
        return CheckpointingPolicy("off")
    mid = max(0, min(len(order) - micro_batch, len(order) // 2 - micro_batch // 2))
    median_batch = collate([examples[i] for i in order[mid : mid + micro_batch]])
    longest_tokens = batch_tokens(collate([examples[i] for i in order[-micro_batch:]]), seq2seq=seq2seq)
    memory = measure_activation_memory(model, median_batch, device=device, autocast_dtype=autocast_dtype,
                                       seq2seq=seq2seq)
    if memory is None:
        log.warning("gradient checkpointing: a median micro-batch (%d tokens) does not fit without it",
                    batch_tokens(median_batch, seq2seq=seq2seq))
        return CheckpointingPolicy("on")
    policy = memory.policy(longest_tokens, usable_share=usable_share)
    log.warning(
        "gradient checkpointing: %.2f MiB of activations per token (measured on %d tokens); %d tokens per "
        "micro-batch fit in %.0f%% of %.1f GiB; the longest micro-batch has %d: %s",
        memory.per_token / 2**20, batch_tokens(median_batch, seq2seq=seq2seq),
        memory.token_budget(usable_share=usable_share),
        100 * usable_share, memory.total / 2**30, longest_tokens, policy.describe(),
    )
    return policy
