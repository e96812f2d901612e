"""Attention over packed rows without flash-attn: PyTorch's own variable-length kernel.

A packed micro-batch is one row holding several examples back to back
(:class:`ecellm.data.Collator` with ``packed=True``).  Each example must
attend only to itself.  flash-attn does that with its varlen kernel, but its
wheels are large and tied to one CUDA and PyTorch build; SDPA with the block
mask transformers derives from ``position_ids`` computes (and masks) the
whole row, quadratic in the row's length.  PyTorch (2.10 and later) ships a
varlen flash kernel of its own, :func:`torch.nn.attention.varlen.varlen_attn`;
this module registers it with transformers' attention interface as
``"ecellm_varlen"``, so any model written for that interface (Llama,
Mistral, Qwen, ...) uses it unchanged.

The example boundaries come from the collator (``cu_seq_lens_q`` and
``max_length_q``, the arguments flash-attn's path uses too), or else from
``position_ids`` restarting at 0.  On a CPU, or in float32, each example goes
through SDPA on its own: the same result, slowly (the tests use it).
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["NAME", "available", "register", "attention_forward"]

#: The ``attn_implementation`` name the function is registered under.
NAME = "ecellm_varlen"


_KERNEL: list = []  # filled once by _kernel(); a plain global, which torch.compile reads without tracing a cache


def _kernel():
    """``(varlen_attn, its parameter names)``, or ``None`` before PyTorch 2.10."""
    if not _KERNEL:
        try:
            from torch.nn.attention.varlen import varlen_attn
        except ImportError:
            _KERNEL.append(None)
        else:
            _KERNEL.append((varlen_attn, frozenset(inspect.signature(varlen_attn).parameters)))
    return _KERNEL[0]


def available(*, cuda: bool | None = None) -> bool:
    """Whether packed rows can use the varlen kernel here: a CUDA GPU, PyTorch >= 2.10 and transformers'
    attention interface (``cuda=False`` asks about the interface alone, as the CPU tests do)."""
    import torch

    try:
        from transformers import AttentionInterface  # noqa: F401
    except ImportError:
        return False
    if cuda is False:
        return True
    return torch.cuda.is_available() and _kernel() is not None


def register() -> str:
    """Register :func:`attention_forward` with transformers (idempotent); return its name, :data:`NAME`.

    No attention mask is registered with it: transformers then builds none,
    which is what a packed row needs (the boundaries are the mask).
    """
    from transformers import AttentionInterface

    _kernel()  # resolved here, outside any compiled region
    AttentionInterface.register(NAME, attention_forward)
    return NAME


def boundaries(position_ids) -> tuple[Any, int]:
    """``(cu_seq_lens, max_length)`` of a packed row from its ``position_ids`` (each example restarts at 0).

    Examples
    --------
    >>> import torch
    >>> cu, longest = boundaries(torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3]]))
    >>> cu.tolist(), longest
    ([0, 3, 5, 9], 4)
    """
    import torch

    pos = position_ids.reshape(-1)
    starts = torch.nonzero(pos == 0).reshape(-1)
    if starts.numel() == 0 or int(starts[0]) != 0:
        starts = torch.cat([starts.new_zeros(1), starts])
    cu = torch.cat([starts, starts.new_tensor([pos.numel()])]).to(torch.int32)
    return cu, int((cu[1:] - cu[:-1]).max())


def attention_forward(module, query, key, value, attention_mask, scaling: float | None = None, dropout: float = 0.0,
                      sliding_window: int | None = None, **kwargs):
    """transformers' attention-function signature over one packed row.

    ``query`` is ``(1, heads, tokens, head_dim)``, ``key`` and ``value``
    ``(1, kv_heads, tokens, head_dim)``; returns ``(1, tokens, heads,
    head_dim)`` and no weights, as transformers' SDPA function does.
    """
    import torch

    if query.shape[0] != 1 or attention_mask is not None:
        raise ValueError(f"attention {NAME!r} takes packed micro-batches (one row, no attention mask): train with "
                         "batching 'packed', or choose attention 'sdpa'")
    if dropout:
        raise ValueError(f"attention {NAME!r} has no attention dropout; this model asks for {dropout}")
    if kwargs.get("is_causal") is False:
        raise ValueError(f"attention {NAME!r} is causal only")
    for unsupported in ("softcap", "s_aux", "sinks"):  # Gemma-2's logit soft-capping, attention sinks
        if kwargs.get(unsupported) is not None:
            raise ValueError(f"attention {NAME!r} does not apply {unsupported}, which this model uses: choose "
                             "attention sdpa")
    cu, longest = kwargs.get("cu_seq_lens_q"), kwargs.get("max_length_q")
    if cu is None or longest is None:
        cu, longest = boundaries(kwargs["position_ids"])
    cu = cu.to(device=query.device, dtype=torch.int32)
    q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))  # (tokens, heads, head_dim)
    kernel = _KERNEL[0] if _KERNEL else _kernel()
    if query.is_cuda and query.dtype in (torch.float16, torch.bfloat16) and kernel is not None:
        out = _varlen(kernel, q, k, v, cu, int(longest), scaling, sliding_window)
    else:
        out = _per_example(q, k, v, cu, scaling, sliding_window)
    return out.unsqueeze(0), None


def _varlen(kernel, q, k, v, cu, longest: int, scaling, sliding_window):
    varlen_attn, params = kernel
    kw: dict[str, Any] = {}
    if "scale" in params:
        kw["scale"] = scaling
    elif scaling is not None and abs(scaling - q.shape[-1] ** -0.5) > 1e-12:
        raise ValueError(f"this PyTorch's varlen_attn takes no scale, and the model's ({scaling}) is not 1/sqrt(d)")
    window = sliding_window is not None and longest > sliding_window
    if "window_size" in params:  # PyTorch > 2.10: causal is the window (-1, 0)
        kw["window_size"] = (sliding_window - 1 if window else -1, 0)
    else:  # PyTorch 2.10: is_causal, no window
        if window:
            raise ValueError(f"an example of {longest} tokens exceeds the model's sliding window ({sliding_window}), "
                             "which this PyTorch's varlen_attn cannot apply")
        kw["is_causal"] = True
    if k.shape[1] != q.shape[1]:
        if "enable_gqa" in params:
            kw["enable_gqa"] = True
        else:
            k, v = (t.repeat_interleave(q.shape[1] // t.shape[1], dim=1) for t in (k, v))
    q, k, v = (t.contiguous() for t in (q, k, v))
    return varlen_attn(q, k, v, cu, cu, longest, longest, **kw)


def _per_example(q, k, v, cu, scaling, sliding_window):
    """The reference: SDPA over each example of the row on its own (CPU, float32)."""
    import torch
    from torch.nn.functional import scaled_dot_product_attention

    groups = q.shape[1] // k.shape[1]
    outs = []
    bounds = cu.tolist()
    for start, end in zip(bounds[:-1], bounds[1:]):
        qs, ks, vs = (t[start:end].transpose(0, 1) for t in (q, k, v))  # (heads, n, head_dim)
        ks, vs = (t.repeat_interleave(groups, dim=0) for t in (ks, vs))
        n = end - start
        mask = torch.ones(n, n, dtype=torch.bool, device=q.device).tril()
        if sliding_window is not None:
            mask = mask & ~torch.ones(n, n, dtype=torch.bool, device=q.device).tril(-sliding_window)
        outs.append(scaled_dot_product_attention(qs, ks, vs, attn_mask=mask, scale=scaling).transpose(0, 1))
    return torch.cat(outs, dim=0)
