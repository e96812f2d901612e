"""Make ``bleurt-pytorch`` 0.0.1 importable and runnable under transformers 5.

bleurt-pytorch imports ``find_pruneable_heads_and_indices`` from
``transformers.pytorch_utils`` and ``BertTokenizerFast`` from
``transformers.models.bert.tokenization_bert_fast``, and calls ``PreTrainedModel.get_extended_attention_mask``
and ``get_head_mask``; transformers 5 removed all of these.  This module supplies
them, only where missing (an older transformers is left untouched):

* the module ``transformers.models.bert.tokenization_bert_fast`` (merged into
  ``tokenization_bert`` in transformers 5) is aliased for the import;
* the helper function is added to ``transformers.pytorch_utils`` before the
  import (bleurt-pytorch's modeling module reads it at import time);
* the two methods are set on ``BleurtPreTrainedModel`` only, never on
  transformers' own classes.

Use :func:`import_bleurt` instead of ``import bleurt_pytorch``, and
:func:`load_tokenizer` instead of ``BleurtTokenizer.from_pretrained``: under
transformers 5 the latter silently returns a WordPiece tokenizer with an
empty vocabulary (every token ``[UNK]``) for the SentencePiece checkpoints
(BLEURT-20, BLEURT-20-D12, ...), where it used to fail and fall back.  For
those checkpoints :func:`load_tokenizer` gives :class:`SentencePiecePairTokenizer`,
not bleurt-pytorch's ``BleurtSPTokenizer``, whose output depends on the
transformers version (see the class).
"""

from __future__ import annotations

import functools

__all__ = ["MissingBleurtError", "SentencePiecePairTokenizer", "import_bleurt", "load_tokenizer", "repair_buffers"]


class MissingBleurtError(ImportError):
    """bleurt-pytorch is not installed."""


def find_pruneable_heads_and_indices(heads, n_heads, head_size, already_pruned_heads):
    """The transformers 4 helper: heads still to prune and the kept indices of a pruned layer."""
    import torch

    mask = torch.ones(n_heads, head_size)
    heads = set(heads) - already_pruned_heads
    for head in heads:
        head = head - sum(1 if h < head else 0 for h in already_pruned_heads)
        mask[head] = 0
    mask = mask.view(-1).contiguous().eq(1)
    index = torch.arange(len(mask))[mask].long()
    return heads, index


def get_extended_attention_mask(self, attention_mask, input_shape=None, device=None, dtype=None):
    """A broadcastable additive mask: 0 where attended, the dtype's minimum where masked."""
    import torch

    dtype = dtype or next(self.parameters()).dtype
    if attention_mask.dim() == 3:
        extended = attention_mask[:, None, :, :]
    elif attention_mask.dim() == 2:
        extended = attention_mask[:, None, None, :]
    else:
        raise ValueError(f"wrong shape for attention_mask: {tuple(attention_mask.shape)}")
    extended = extended.to(dtype=dtype)
    return (1.0 - extended) * torch.finfo(dtype).min


def get_head_mask(self, head_mask, num_hidden_layers, is_attention_chunked=False):
    """Per-layer head masks (``None`` per layer when no mask is given)."""
    if head_mask is None:
        return [None] * num_hidden_layers
    if head_mask.dim() == 1:
        head_mask = head_mask[None, :, None, None].expand(num_hidden_layers, -1, -1, -1, -1)
        head_mask = head_mask.unsqueeze(1)
    elif head_mask.dim() == 2:
        head_mask = head_mask[:, None, :, None, None]
    head_mask = head_mask.to(dtype=next(self.parameters()).dtype)
    if is_attention_chunked:
        head_mask = head_mask.unsqueeze(-1)
    return head_mask


@functools.lru_cache(maxsize=1)
def import_bleurt():
    """Return ``(BleurtConfig, BleurtForSequenceClassification, BleurtTokenizer)``.

    Raises
    ------
    MissingBleurtError
        bleurt-pytorch is not installed (``pip install ecinstruct[bleurt]``).
    """
    import importlib
    import sys
    import types

    import transformers
    import transformers.pytorch_utils as pytorch_utils

    if not hasattr(pytorch_utils, "find_pruneable_heads_and_indices"):
        pytorch_utils.find_pruneable_heads_and_indices = find_pruneable_heads_and_indices
    fast_name = "transformers.models.bert.tokenization_bert_fast"
    try:
        importlib.import_module(fast_name)
    except ModuleNotFoundError:
        # transformers 5 merged the fast BERT tokenizer into tokenization_bert.
        alias = types.ModuleType(fast_name)
        alias.BertTokenizerFast = transformers.BertTokenizerFast
        sys.modules[fast_name] = alias
    try:
        from bleurt_pytorch import BleurtConfig, BleurtForSequenceClassification, BleurtTokenizer
        from bleurt_pytorch.bleurt.modeling_bleurt import BleurtPreTrainedModel
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("bleurt_pytorch"):
            raise MissingBleurtError(
                "BLEURT needs the bleurt-pytorch package: pip install 'ecinstruct[bleurt]'"
            ) from e
        raise
    for name, fn in (("get_extended_attention_mask", get_extended_attention_mask),
                     ("get_head_mask", get_head_mask)):
        if not hasattr(BleurtPreTrainedModel, name):
            setattr(BleurtPreTrainedModel, name, fn)
    return BleurtConfig, BleurtForSequenceClassification, BleurtTokenizer


def repair_buffers(model) -> None:
    """Reset the embeddings' index buffers of a loaded BLEURT model.

    transformers 5 materialises models from the meta device and leaves buffers
    that the checkpoint does not hold uninitialised; bleurt-pytorch's
    ``token_type_ids`` (non-persistent) and, for checkpoints without it,
    ``position_ids`` are such buffers.  Their correct values are fixed:
    zeros and ``0..max_position_embeddings - 1``.
    """
    import torch

    emb = model.bleurt.embeddings if hasattr(model, "bleurt") else model.embeddings
    with torch.no_grad():
        n = emb.position_ids.shape[-1]
        emb.position_ids.copy_(torch.arange(n, device=emb.position_ids.device).expand(1, -1))
        emb.token_type_ids.zero_()


def bleurt_version() -> str:
    """Installed bleurt-pytorch version (for result hashes)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bleurt-pytorch")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _checkpoint_file(checkpoint: str, name: str) -> str | None:
    """Path of ``name`` in a local folder or a (cached or reachable) Hub repo, else ``None``."""
    import os

    if os.path.isdir(checkpoint):
        path = os.path.join(checkpoint, name)
        return path if os.path.isfile(path) else None
    from transformers.utils import cached_file

    try:
        return cached_file(checkpoint, name, _raise_exceptions_for_missing_entries=False,
                           _raise_exceptions_for_connection_errors=False)
    except OSError:
        return None


class SentencePiecePairTokenizer:
    """BLEURT-20's input: ``[CLS] reference [SEP] candidate [SEP]`` of SentencePiece ids, segment ids 0 then 1.

    bleurt-pytorch's ``BleurtSPTokenizer`` inherits transformers' DeBERTa-v2
    tokenizer, which gives the plain SentencePiece pieces under transformers 4
    and from 5.24, but under 5.0 to 5.23 left out ``[CLS]``/``[SEP]``, then
    lost the ``"▁"`` before each text's first word: silently different BLEURT
    scores.  This class calls ``sentencepiece`` itself, so that every
    transformers version gives the pieces the checkpoint was trained on.
    Truncation is transformers' ``longest_first`` (the longer text loses
    tokens first, then both in turn, the candidate first on a tie), padding
    is on the right, as the released scorer's tokenizer did.
    """

    def __init__(self, model_file: str):
        import sentencepiece

        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        # As the DeBERTa-v2 tokenizer looked them up: a piece the model lacks is its unknown id.
        self.cls_token_id, self.sep_token_id, self.pad_token_id = (
            self.sp.piece_to_id(piece) for piece in ("[CLS]", "[SEP]", "[PAD]"))

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def __call__(self, references, candidates, *, max_length: int, padding: bool = True, truncation: bool = True,
                 return_tensors: str | None = "pt"):
        """Encode the pairs, cut to ``max_length`` tokens and padded to the longest; a ``BatchEncoding``."""
        from transformers import BatchEncoding

        if not (padding and truncation):
            raise ValueError("BLEURT pairs are always padded and truncated")
        rows = [self._pair(a, b, max_length)
                for a, b in zip(self.sp.encode(list(references)), self.sp.encode(list(candidates)), strict=True)]
        width = max((len(ids) for ids, _ in rows), default=0)
        data = {"input_ids": [ids + [self.pad_token_id] * (width - len(ids)) for ids, _ in rows],
                "token_type_ids": [types + [0] * (width - len(types)) for _, types in rows],
                "attention_mask": [[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in rows]}
        return BatchEncoding(data, tensor_type=return_tensors)

    def _pair(self, a: list[int], b: list[int], max_length: int) -> tuple[list[int], list[int]]:
        keep_a, keep_b = longest_first(len(a), len(b), max_length - 3)
        a, b = a[:keep_a], b[:keep_b]
        ids = [self.cls_token_id, *a, self.sep_token_id, *b, self.sep_token_id]
        return ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)


def longest_first(len_a: int, len_b: int, room: int) -> tuple[int, int]:
    """How many tokens of each text transformers' ``longest_first`` truncation keeps in ``room`` tokens.

    One token at a time goes from the longer text, from the second on a tie.

    >>> longest_first(12, 10, 17)  # 5 too many: 2 from the first to even them, then 2 from the second, 1 from the first
    (9, 8)
    >>> longest_first(10, 12, 17), longest_first(3, 4, 10), longest_first(5, 5, 0)
    ((9, 8), (3, 4), (0, 0))
    """
    excess = len_a + len_b - max(room, 0)
    if excess <= 0:
        return len_a, len_b
    even = min(abs(len_a - len_b), excess)
    cut_a = (even if len_a > len_b else 0) + (excess - even) // 2
    return len_a - cut_a, len_b - (excess - cut_a)


def load_tokenizer(checkpoint: str):
    """The right BLEURT tokenizer for ``checkpoint``, chosen by its files.

    ``spm.model`` -> :class:`SentencePiecePairTokenizer` (SentencePiece: needs
    the ``sentencepiece`` package), ``vocab.txt`` -> ``BleurtTokenizerFast``
    (WordPiece).

    Raises
    ------
    OSError
        Neither file is found (a missing or unreachable checkpoint), or the
        vocabulary is empty.
    ImportError
        The SentencePiece tokenizer cannot be built (sentencepiece missing).
    """
    spm_model = _checkpoint_file(checkpoint, "spm.model")
    if spm_model:
        try:
            tokenizer = SentencePiecePairTokenizer(spm_model)
        except ImportError as e:
            raise ImportError(f"the BLEURT checkpoint {checkpoint!r} uses a SentencePiece tokenizer: "
                              "pip install sentencepiece") from e
        if len(tokenizer) <= 3:
            raise OSError(f"the BLEURT tokenizer of {checkpoint!r} has an empty vocabulary")
        return tokenizer
    if not _checkpoint_file(checkpoint, "vocab.txt"):
        raise OSError(f"no BLEURT tokenizer files (spm.model or vocab.txt) in {checkpoint!r}")
    import_bleurt()
    from bleurt_pytorch.bleurt.tokenization_bleurt_fast import BleurtTokenizerFast

    tokenizer = BleurtTokenizerFast.from_pretrained(checkpoint)
    if len(tokenizer) <= len(tokenizer.all_special_tokens):
        raise OSError(f"the BLEURT tokenizer of {checkpoint!r} has an empty vocabulary")
    return tokenizer
