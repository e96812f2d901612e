"""AG metrics: BERTScore (bert-score) and BLEURT (bleurt-pytorch).

Both are optional extras (``pip install 'ecinstruct[bertscore,bleurt]'``).
Defaults follow the paper's released scorer: BERTScore with the ``lang="en"``
model (roberta-large, layer 17), no idf, no baseline rescaling; BLEURT with
the BLEURT-20-D12 checkpoint, reference and candidate cut to 300 words and
tokenised together to at most 512 tokens.

Models load lazily on first use, are cached for the process, run on a GPU
when one is present, and can be pointed at a local copy by argument or by the
``ECINSTRUCT_BERTSCORE_MODEL`` / ``ECINSTRUCT_BLEURT_CHECKPOINT`` environment
variables.  Each function returns per-item scores plus a *hash* string naming
the exact model and settings, to be stored with the numbers.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BERTSCORE_ENV = "ECINSTRUCT_BERTSCORE_MODEL"
BERTSCORE_LAYERS_ENV = "ECINSTRUCT_BERTSCORE_LAYERS"
BLEURT_ENV = "ECINSTRUCT_BLEURT_CHECKPOINT"
DEFAULT_BERTSCORE_MODEL = "roberta-large"
DEFAULT_BERTSCORE_LAYERS = 17
DEFAULT_BLEURT_CHECKPOINT = "lucadiliello/BLEURT-20-D12"
MAX_WORDS = 300
BLEURT_MAX_LENGTH = 512

__all__ = [
    "ModelUnavailableError",
    "bertscore",
    "bleurt",
    "truncate_words",
]


class ModelUnavailableError(OSError):
    """A metric model is neither cached nor reachable (offline)."""


def truncate_words(text: str, max_words: int = MAX_WORDS) -> str:
    """The first ``max_words`` whitespace-separated words of ``text``, joined by single spaces.

    Texts with at most ``max_words`` words are returned unchanged.

    >>> truncate_words("a b  c", 2)
    'a b'
    >>> truncate_words("a b  c", 3)
    'a b  c'
    """
    words = text.split()
    return " ".join(words[:max_words]) if len(words) > max_words else text


def _device(device: str | None) -> str:
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _unavailable(what: str, name: str, env: str, arg: str, err: Exception) -> ModelUnavailableError:
    # A model that cannot be loaded fails inside transformers in ways that depend on its version (OSError and
    # ValueError mostly; AttributeError from 4.57.3's tokenizer conversion of a folder without tokenizer
    # files): each becomes this one error.
    return ModelUnavailableError(
        f"the {what} model {name!r} could not be loaded ({type(err).__name__}); if you are "
        f"offline, point {env} (or the {arg}= option) at a local copy of it, e.g. a folder "
        "saved with save_pretrained()."
    )


def _resolve_layers(model: str, num_layers: int | None) -> int:
    if num_layers is not None:
        return int(num_layers)
    if os.environ.get(BERTSCORE_LAYERS_ENV):
        return int(os.environ[BERTSCORE_LAYERS_ENV])
    from bert_score.utils import model2layers

    key = model if model in model2layers else Path(model).name
    if key in model2layers:
        return model2layers[key]
    config = Path(model) / "config.json"
    if config.is_file():
        # Unknown local model: its last layer, recorded in the hash.
        return int(json.loads(config.read_text()).get("num_hidden_layers", 1))
    raise ValueError(f"pass num_layers for the BERTScore model {model!r}")


def _restore_prefix_space(scorer, model: str) -> None:
    """Make RoBERTa/GPT-2 tokenizers add the prefix space bert-score asks for.

    bert-score encodes each sentence with ``encode(..., add_prefix_space=True)``
    for these tokenizers; transformers 5 ignores that call-time argument, so
    the first word would be tokenised differently from transformers 4 (and
    from the published numbers).  Reloading the tokenizer with
    ``add_prefix_space=True`` restores it.
    """
    from transformers import AutoTokenizer, GPT2Tokenizer, RobertaTokenizer

    tok = scorer._tokenizer
    if not isinstance(tok, (GPT2Tokenizer, RobertaTokenizer)):
        return
    probe = tok.encode("a", add_special_tokens=False, add_prefix_space=True)
    if probe == tok.encode(" a", add_special_tokens=False):
        return  # honoured already (transformers 4)
    fixed = AutoTokenizer.from_pretrained(model, use_fast=False, add_prefix_space=True)
    fixed.model_max_length = tok.model_max_length
    scorer._tokenizer = fixed


@functools.lru_cache(maxsize=4)
def _bertscorer(model: str, num_layers: int, lang: str, rescale: bool, idf: bool, device: str):
    try:
        from bert_score import BERTScorer
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("BERTScore needs bert-score: pip install 'ecinstruct[bertscore]'") from e
    baseline_path = None
    if rescale and Path(model).is_dir():
        # A local copy of a known model uses that model's shipped baseline.
        import bert_score

        shipped = (Path(bert_score.__file__).parent / "rescale_baseline" / lang /
                   f"{Path(model).name}.tsv")
        baseline_path = str(shipped) if shipped.is_file() else None
    try:
        scorer = BERTScorer(model_type=model, num_layers=num_layers, lang=lang, idf=idf,
                            rescale_with_baseline=rescale, baseline_path=baseline_path,
                            device=device)
    except ImportError:  # a missing package says which
        raise
    except Exception as e:  # noqa: BLE001 - see _unavailable
        raise _unavailable("BERTScore", model, BERTSCORE_ENV, "bertscore_model", e) from e
    _restore_prefix_space(scorer, model)
    # Tokenizers saved without a model_max_length report a huge sentinel that
    # bert-score passes on as max_length; use the model's position limit.
    tokenizer = scorer._tokenizer
    positions = getattr(scorer._model.config, "max_position_embeddings", None)
    if positions and tokenizer.model_max_length > 10**6:
        tokenizer.model_max_length = positions
    return scorer


def bertscore(candidates: Sequence[str], references: Sequence[str], *, model: str | None = None,
              num_layers: int | None = None, lang: str = "en",
              rescale_with_baseline: bool = False, batch_size: int = 64,
              device: str | None = None) -> tuple[dict[str, np.ndarray], str]:
    """Per-item BERTScore precision, recall and F1 and the bert-score hash.

    Parameters
    ----------
    candidates, references : sequence of str
        Model answers and gold answers, aligned.
    model : str, optional
        Hub name or local folder; default ``$ECINSTRUCT_BERTSCORE_MODEL`` or
        ``roberta-large`` (bert-score's ``lang="en"`` model).
    num_layers : int, optional
        Layer to use; default bert-score's table (17 for roberta-large), else
        ``$ECINSTRUCT_BERTSCORE_LAYERS``, else the model's last layer.
    rescale_with_baseline : bool
        bert-score's baseline rescaling (off, as in the paper).

    Returns
    -------
    scores : dict
        ``{"bertscore_precision", "bertscore_recall", "bertscore_f1"}`` ->
        float arrays.  A pair with an empty side scores 0, rescaled like
        any score when ``rescale_with_baseline`` (bert-score's own convention,
        applied here without calling the model).
    hash : str
        bert-score's description of model, layer and settings.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
    model = model or os.environ.get(BERTSCORE_ENV) or DEFAULT_BERTSCORE_MODEL
    layers = _resolve_layers(model, num_layers)
    scorer = _bertscorer(model, layers, lang, bool(rescale_with_baseline), False, _device(device))
    n = len(candidates)
    out = {k: np.zeros(n) for k in ("bertscore_precision", "bertscore_recall", "bertscore_f1")}
    idx = [i for i in range(n) if candidates[i].strip() and references[i].strip()]
    if len(idx) < n and scorer.rescale_with_baseline:
        # bert-score rescales the 0 of an empty pair like any other score.
        base = scorer.baseline_vals.numpy().astype(float).reshape(-1)
        for k, key in enumerate(out):
            out[key][:] = (0.0 - base[k]) / (1.0 - base[k])
    if idx:
        p, r, f = scorer.score([candidates[i] for i in idx], [references[i] for i in idx],
                               batch_size=batch_size)
        for key, values in zip(out, (p, r, f)):
            out[key][idx] = values.numpy().astype(float)
    return out, scorer.hash


@functools.lru_cache(maxsize=2)
def _bleurt_model(checkpoint: str, device: str):
    from ecinstruct_eval.metrics._bleurt_compat import import_bleurt, load_tokenizer, repair_buffers

    _, model_cls, _ = import_bleurt()
    try:
        model = model_cls.from_pretrained(checkpoint).to(device).eval()
        tokenizer = load_tokenizer(checkpoint)
    except ImportError:  # a missing package says which
        raise
    except Exception as e:  # noqa: BLE001 - see _unavailable
        raise _unavailable("BLEURT", checkpoint, BLEURT_ENV, "bleurt_checkpoint", e) from e
    repair_buffers(model)
    return model, tokenizer


def bleurt(candidates: Sequence[str], references: Sequence[str], *, checkpoint: str | None = None,
           batch_size: int = 32, max_words: int = MAX_WORDS, max_length: int = BLEURT_MAX_LENGTH,
           device: str | None = None) -> tuple[np.ndarray, str]:
    """Per-item BLEURT scores and a hash naming checkpoint and settings.

    Both texts are cut to ``max_words`` words, then tokenised as the pair
    (reference, candidate) truncated to ``max_length`` tokens, as the
    released scorer does.  Items are batched by length.

    Parameters
    ----------
    checkpoint : str, optional
        Hub name or local folder; default ``$ECINSTRUCT_BLEURT_CHECKPOINT`` or
        ``lucadiliello/BLEURT-20-D12``.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
    import torch

    checkpoint = checkpoint or os.environ.get(BLEURT_ENV) or DEFAULT_BLEURT_CHECKPOINT
    device = _device(device)
    model, tokenizer = _bleurt_model(checkpoint, device)
    max_length = min(max_length, model.config.max_position_embeddings)
    cands = [truncate_words(c, max_words) for c in candidates]
    refs = [truncate_words(r, max_words) for r in references]
    order = sorted(range(len(cands)), key=lambda i: len(cands[i]) + len(refs[i]))
    scores = np.zeros(len(cands))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            enc = tokenizer([refs[i] for i in chunk], [cands[i] for i in chunk], padding=True,
                            truncation=True, max_length=max_length, return_tensors="pt").to(device)
            scores[chunk] = model(**enc).logits.flatten().float().cpu().numpy()
    import transformers

    from ecinstruct_eval.metrics._bleurt_compat import bleurt_version

    name = checkpoint.rstrip("/")
    return scores, (f"{name}_words{max_words}_maxlen{max_length}_version=bleurt-pytorch-"
                    f"{bleurt_version()}(hug_trans={transformers.__version__})")
