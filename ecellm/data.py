"""Training records, tokenization with response-only labels, and batch collation.

Records come from :func:`ecinstruct_eval.data.load_split` (a build folder,
an export folder or a Hub id).  The paper's data variants are options of
:func:`load_training_records`: diverse vs single (seed) instructions
(Table 5), one task vs all (Table 6) and the 1K/10K/47K/92K training subsets
(Tables A20/A21).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ecinstruct_eval.prompts import build_prompt

__all__ = [
    "TRAIN_SIZES",
    "parse_tasks",
    "load_training_records",
    "encode_example",
    "Collator",
]

#: Per-task cap of each training-set size of Appendix I ("92K" = everything):
#: 1K = 0.1K per task, 10K = 1K per task, 47K = 5K per task (PM keeps its 2K).
TRAIN_SIZES: dict[str, int | None] = {"1K": 100, "10K": 1000, "47K": 5000, "92K": None}

IGNORE_INDEX = -100


def parse_tasks(spec: str | Sequence[str]) -> list[str]:
    """``"all"`` or a comma-separated list of task codes -> canonical codes, paper order.

    Examples
    --------
    >>> parse_tasks("sr,SA")
    ['SA', 'SR']
    >>> len(parse_tasks("all"))
    10
    """
    from ecinstruct_eval.tasks import TASKS, get_task

    items = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [s.strip() for s in items if s.strip()]
    if not items or [s.lower() for s in items] == ["all"]:
        return list(TASKS)
    codes = {get_task(s).code for s in items}
    return [c for c in TASKS if c in codes]


def _seed_instruction(task: str, records: Sequence[Mapping[str, Any]]) -> str:
    try:
        from ecinstruct_builders.instructions import INSTRUCTIONS

        return INSTRUCTIONS[task].seen[0]
    except (ImportError, KeyError, AttributeError, IndexError):
        for r in records:
            if r.get("instruction_kind") == "seed":
                return r["instruction"]
    raise ValueError(f"{task}: no seed instruction found for --instructions single")


def subsample(records: Sequence[dict], cap: int | None, *, seed: int, task: str) -> list[dict]:
    """At most ``cap`` records drawn uniformly at random (seeded per task), in file order."""
    if cap is None or len(records) <= cap:
        return list(records)
    rng = random.Random(f"{seed}/{task}/train-size")
    keep = sorted(rng.sample(range(len(records)), cap))
    return [records[i] for i in keep]


def load_training_records(
    tasks: str | Sequence[str] = "all",
    *,
    location: Any = None,
    split: str = "train",
    instructions: str = "diverse",
    train_size: str = "92K",
    seed: int = 1,
) -> list[dict]:
    """The training mix: records of ``split`` for each task, as the paper's variants ask.

    Parameters
    ----------
    tasks : "all" or list of str
        Task codes (Table 6: one task = task-specific model, all = generalist).
    location : optional
        Data location for :func:`ecinstruct_eval.data.load_split`.
    instructions : {"diverse", "single"}
        ``"single"`` replaces every instruction by the task's seed instruction (Table 5).
    train_size : {"1K", "10K", "47K", "92K"}
        Per-task subsample (Appendix I).
    seed : int
        Seed of the subsample.
    """
    from ecinstruct_eval.data import load_split

    if instructions not in ("diverse", "single"):
        raise ValueError(f"instructions must be 'diverse' or 'single', not {instructions!r}")
    size_key = str(train_size).upper()
    if size_key not in TRAIN_SIZES:
        raise ValueError(f"train size must be one of {', '.join(TRAIN_SIZES)}, not {train_size!r}")
    out: list[dict] = []
    for task in parse_tasks(tasks):
        recs = subsample(load_split(task, split, location), TRAIN_SIZES[size_key], seed=seed, task=task)
        if instructions == "single":
            seed_text = _seed_instruction(task, recs)
            recs = [{**r, "instruction": seed_text, "instruction_kind": "seed"} for r in recs]
        out.extend(recs)
    return out


def encode_example(
    record: Mapping[str, Any],
    tokenizer: Any,
    *,
    arch: str,
    style: str = "plain",
    max_length: int = 2048,
    prompt_format: str = "appendix-e",
) -> dict[str, list[int]]:
    """Token ids and labels of one training example; the loss sees only the response + EOS.

    ``prompt_format`` picks Appendix E (wrapped in ``style``) or the release's
    template (``"released"``: prompt immediately followed by ``output``, as
    the release trained).

    Causal models get ``prompt + response + EOS`` with the prompt's labels
    set to -100 (prompt and response are tokenized separately, so the label
    boundary is exact and matches what generation sees).  Seq2seq models get
    the prompt as encoder input and ``response + EOS`` as labels.

    An over-long prompt is shortened in the middle of the record's input
    (``" ... "`` marks the cut), so the instruction, the start and the end of
    the input (a question, the latest purchases), the options and the
    ``response:`` marker stay.  The response keeps at most half of
    ``max_length``.  ``prompt_shortened`` and ``response_cut`` say whether
    either happened (the trainer logs how often).
    """
    from ecellm.modeling import prompt_token_ids

    def encode_prompt(rec):
        return prompt_token_ids(tokenizer, build_prompt(rec, style=style, tokenizer=tokenizer, prompt_format=prompt_format,
                                                        arch=arch), arch=arch)

    eos = tokenizer.eos_token_id
    full_response = _response_ids(record, tokenizer, arch=arch, prompt_format=prompt_format,
                                  prompt=lambda: build_prompt(record, style=style, tokenizer=tokenizer,
                                                              prompt_format=prompt_format, arch=arch))
    response_ids = full_response[: max(1, max_length // 2) - 1]
    response_cut = len(response_ids) < len(full_response)
    if not response_ids or response_ids[-1] != eos:
        response_ids.append(eos)
    room = max_length if arch == "seq2seq" else max_length - len(response_ids)
    prompt_ids = encode_prompt(record)
    shortened = len(prompt_ids) > room
    if shortened:
        prompt_ids = _shorten_input(record, tokenizer, encode_prompt, prompt_ids, room)
    if len(prompt_ids) > room:  # the parts around the input alone are too long: cut tokens, keep the ends
        head = prompt_ids[:1] if prompt_ids and prompt_ids[0] == tokenizer.bos_token_id else []
        tail = room - len(head)
        prompt_ids = head + prompt_ids[len(prompt_ids) - tail :] if tail > 0 else head
    flags = {"prompt_shortened": shortened, "response_cut": response_cut}
    if arch == "seq2seq":
        return {"input_ids": prompt_ids, "labels": response_ids, "length": len(prompt_ids) + len(response_ids),
                **flags}
    ids = prompt_ids + response_ids
    return {"input_ids": ids, "labels": [IGNORE_INDEX] * len(prompt_ids) + response_ids, "length": len(ids),
            **flags}


def _response_ids(record, tokenizer, *, arch: str, prompt_format: str, prompt) -> list[int]:
    """Token ids of ``record["output"]`` as the model learns to produce them.

    The release trained causal models on one text, prompt then output, so
    the output's first token is the one that follows its prompt (with
    SentencePiece, ``A`` after ``### Response:\n``, not ``▁A`` as the output
    alone gives): for the released format the response is the joint text's
    tokens after the prompt's.  Appendix E's prompt ends in ``"response: "``,
    and the output is tokenized alone, as generation continues it.
    """
    output = str(record["output"])
    if arch == "causal" and prompt_format == "released":
        from ecellm.modeling import prompt_token_ids

        text = prompt()
        alone = prompt_token_ids(tokenizer, text, arch=arch)
        joint = prompt_token_ids(tokenizer, text + output, arch=arch)
        if len(joint) > len(alone) and joint[: len(alone)] == alone:
            return joint[len(alone):]
    return list(tokenizer(output, add_special_tokens=False)["input_ids"])


def _shorten_input(record, tokenizer, encode_prompt, prompt_ids: list[int], room: int) -> list[int]:
    """Prompt ids with the middle of ``record["input"]`` cut until the prompt fits in ``room`` tokens.

    Decoding and re-encoding may not round-trip exactly, so a few rounds, each
    cutting a little more, settle it; the best attempt is returned either way.
    """
    text = str(record.get("input") or "")
    tokens = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    for extra in (0, 8, 32, 128):
        keep = len(tokens) - (len(prompt_ids) - room) - extra
        if keep <= 0:
            short = "..."
        else:
            head = (keep + 1) // 2
            short = (tokenizer.decode(tokens[:head]).rstrip() + " ... "
                     + tokenizer.decode(tokens[len(tokens) - (keep - head) :]).lstrip())
        attempt = encode_prompt({**record, "input": short})
        if len(attempt) <= room or keep <= 0:
            return attempt
    return attempt


class Collator:
    """Turn encoded examples into a batch: padded (``packed=False``) or padding-free packed.

    Packed batches concatenate the micro-batch into one row with
    ``position_ids`` restarting at 0 for every example; attention stays within
    each example (varlen kernels, from flash-attn or :mod:`ecellm.varlen`, or
    the block-diagonal masks transformers derives from ``position_ids``), so
    no token attends across examples and the loss equals the padded batch's.
    ``varlen_kwargs`` adds the examples' boundaries (``cu_seq_lens_q``,
    ``max_length_q``, ...) that the varlen kernels take.  ``labeled_logits``
    adds :func:`ecellm.speedups.keep_labeled_logits`' positions, so that the
    LM head runs only where the loss needs it.  Seq2seq models always use
    padding.
    """

    def __init__(self, tokenizer: Any, *, arch: str, packed: bool = False, pad_to_multiple_of: int | None = None,
                 varlen_kwargs: bool = False, labeled_logits: bool = False):
        from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

        self.packed = packed and arch == "causal"
        self.labeled_logits = labeled_logits and arch == "causal"
        if self.packed:
            self._inner = DataCollatorWithFlattening(
                return_position_ids=True, separator_id=IGNORE_INDEX, return_flash_attn_kwargs=varlen_kwargs
            )
        else:
            self._inner = DataCollatorForSeq2Seq(
                tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX, pad_to_multiple_of=pad_to_multiple_of,
                return_tensors="pt",
            )

    def __call__(self, features: Iterable[Mapping[str, Any]]) -> dict:
        # Only the token columns: "length" and the encode_example flags stay out of the batch.
        feats = [{k: v for k, v in f.items() if k in ("input_ids", "labels")} for f in features]
        batch = self._inner(feats)
        if self.labeled_logits:
            from ecellm.speedups import keep_labeled_logits

            batch = keep_labeled_logits(batch)
        return batch
