"""Hooks lm-evaluation-harness calls for the ``ecinstruct_*`` tasks.

* :class:`ECInstructTask` builds every prompt with
  :func:`ecinstruct_eval.prompts.build_prompt` (Appendix E of the paper): zero-shot
  by default, one-shot with ``--num_fewshot 1``, the example being the train
  record named by the test record's ``few_shot_id`` (not a random draw).
* :func:`answer_filter` (the tasks' lm-eval filter) turns each raw generation
  into its answer with :func:`~ecinstruct_eval.lm_eval_tasks.answer_text`:
  leading blank lines skipped, cut at the first blank line after the answer.
* :func:`process_results` keeps, per document, the filtered answer and the gold
  fields the scorer needs; the ``agg_*`` functions score the whole test set at
  once with :func:`ecinstruct_eval.score`, so corpus-level metrics (macro F1,
  NDCG, F1*, BERTScore) equal ``ecinstruct score`` on the same outputs.
  ``lm_eval --metadata '{"score_options": {"compat": "released"}}'`` passes
  keyword options on to :func:`ecinstruct_eval.score` (``compat``, ``failed``,
  and for AG ``bleurt``, ``bertscore_model``, ``bleurt_checkpoint``...).

* Folders written with ``ecinstruct lm-eval-path --prompt-format released``
  carry ``prompt_format``/``prompt_style`` in their metadata: prompts are then
  the release's template and the filter is ``released_answer_filter_<style>``
  (the release's answer cut).

This module imports lm-eval; only lm-eval imports it.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lm_eval.api.task import ConfigurableTask

from ecinstruct_eval.lm_eval_tasks import (
    FAILED_METRIC,
    METRICS,
    NO_DATA_MESSAGE,
    UNSET_DATASET,
    aggregation_function,
    answer_text,
    metric_names,
)
from ecinstruct_eval.prompts import RELEASED_TEMPLATES, answer_from_released, build_prompt

#: Record fields the scorer reads besides ``id`` (gold output, lettered options,
#: QPR relevance grades, AVE gold triples).
REFERENCE_FIELDS = ("output", "options", "relevance", "attributes")


def _build_prompt(record: Mapping[str, Any], shot: Mapping[str, Any] | None = None,
                  metadata: Mapping[str, Any] | None = None) -> str:
    metadata = metadata or {}
    if metadata.get("prompt_format") == "released":
        return build_prompt(record, shot=shot, style=metadata.get("prompt_style") or "alpaca",
                            prompt_format="released")
    # "plain": lm-eval applies the model's chat template itself (--apply_chat_template).
    return build_prompt(record, shot=shot, style="plain")


def _released_filter(style: str) -> Callable:
    marker = RELEASED_TEMPLATES[style].marker

    def released_filter(resps: Sequence[Sequence[str]], docs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
        # Generations lack the prompt, whose last marker starts the answer: cut at the next one.
        return [[answer_from_released((marker or "") + r, marker) for r in doc_resps] for doc_resps in resps]

    released_filter.__name__ = f"released_answer_filter_{style.replace('-', '_')}"
    return released_filter


#: lm-eval filters of the released format: the release's answer cut per style.
released_answer_filter_alpaca = _released_filter("alpaca")
released_answer_filter_mistral = _released_filter("mistral")
released_answer_filter_flan_t5 = _released_filter("flan-t5")


def doc_to_text(doc: Mapping[str, Any]) -> str:
    """The zero-shot prompt of a record (lm-eval's ``doc_to_text`` hook)."""
    return _build_prompt(doc)


class ECInstructTask(ConfigurableTask):
    """An lm-eval task whose prompts come from :mod:`ecinstruct_eval.prompts`.

    lm-eval's own few-shot context concatenates sampled ``question answer``
    pairs before the test question; the paper's one-shot template instead
    puts the record's own example inside one prompt with its own system line,
    so this class builds the whole context itself.
    """

    def __init__(self, data_dir=None, cache_dir=None, download_mode=None, config=None):
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        self._shot_rows: dict[str, int] | None = None
        super().__init__(
            data_dir=data_dir, cache_dir=cache_dir, download_mode=download_mode, config=config
        )

    def download(self, dataset_kwargs=None, **kwargs):
        if self.DATASET_PATH == UNSET_DATASET:
            raise ValueError(f"{self.config.task}: {NO_DATA_MESSAGE}")
        super().download(dataset_kwargs, **kwargs)

    def process_results(self, doc, results):
        out = super().process_results(doc, results)
        # lm_eval --metadata '{"score_options": {...}}' reaches ecinstruct_eval.score.
        options = dict((self.config.metadata or {}).get("score_options") or {})
        if options:
            for item in out.values():
                item["score_options"] = options
        return out

    def fewshot_docs(self):
        # One-shot examples are looked up by id (see _shot), never sampled.
        return None

    def _shot(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        split = self.config.fewshot_split or "train"
        shot_id = doc.get("few_shot_id") or ""
        if not shot_id:
            raise ValueError(
                f"{self.config.task}: record {doc.get('id')} has no one-shot example "
                "(empty few_shot_id); run it with --num_fewshot 0"
            )
        if split not in self.dataset:
            raise ValueError(
                f"{self.config.task}: one-shot prompts need the {split!r} split of "
                f"{self.DATASET_PATH}, which has only {', '.join(self.dataset)}"
            )
        if self._shot_rows is None:
            self._shot_rows = {rid: i for i, rid in enumerate(self.dataset[split]["id"])}
        if shot_id not in self._shot_rows:
            raise KeyError(
                f"{self.config.task}: the one-shot example {shot_id!r} of record "
                f"{doc.get('id')} is not in the {split!r} split of {self.DATASET_PATH}"
            )
        return self.dataset[split][self._shot_rows[shot_id]]

    def fewshot_context(
        self,
        doc,
        num_fewshot,
        system_instruction=None,
        apply_chat_template=False,
        fewshot_as_multiturn=False,
        chat_template=None,
        gen_prefix=None,
        **kwargs,
    ):
        if num_fewshot not in (0, 1):
            raise ValueError(
                f"{self.config.task}: ECInstruct prompts are zero-shot or one-shot "
                f"(the record's own example); got num_fewshot={num_fewshot}"
            )
        prompt = _build_prompt(doc, self._shot(doc) if num_fewshot == 1 else None, self.config.metadata)
        if apply_chat_template and chat_template is not None:
            messages = [{"role": "system", "content": system_instruction}] if system_instruction else []
            messages.append({"role": "user", "content": prompt})
            return chat_template(messages, add_generation_prompt=True)
        return f"{system_instruction}\n\n{prompt}" if system_instruction else prompt


def answer_filter(resps: Sequence[Sequence[str]], docs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """lm-eval ``custom`` filter: every generation of every document reduced to its answer.

    >>> answer_filter([["\\n\\nB\\n\\nbecause"]], [{}])
    [['B']]
    """
    return [[answer_text(r) for r in doc_resps] for doc_resps in resps]


def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict]:
    """Per-document item for every metric: the filtered answer plus the gold fields.

    Scoring happens in the ``agg_*`` functions over all items at once.
    """
    reference = {"id": doc["id"]}
    reference.update({k: doc[k] for k in REFERENCE_FIELDS if k in doc})
    item = {
        "task": doc["task"],
        "split": doc["split"],
        "id": doc["id"],
        "prediction": results[0],
        "reference": reference,
    }
    return {metric: item for metric in metric_names(doc["task"])}


_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 4


def score_items(items: Sequence[Mapping[str, Any]]):
    """Score the items :func:`process_results` produced with :func:`ecinstruct_eval.score`.

    Every metric of a task aggregates the same items, so the result is cached
    by content and the test set is scored once (BERTScore runs once).

    Returns
    -------
    ecinstruct_eval.ScoreResult
    """
    from ecinstruct_eval import score

    if not items:
        raise ValueError("no lm-eval results to score")
    keys = {(it["task"], it["split"]) for it in items}
    if len(keys) != 1:
        raise ValueError(f"one lm-eval task must hold one ECInstruct test set, got {sorted(keys)}")
    options = items[0].get("score_options") or {}
    digest = hashlib.sha256(
        json.dumps([[it["id"], it["prediction"]] for it in items]).encode()
        + json.dumps([sorted(keys), options], sort_keys=True).encode()
    ).hexdigest()
    if digest not in _CACHE:
        ((task, split),) = keys
        predictions = [{"id": it["id"], "prediction": it["prediction"]} for it in items]
        references = [dict(it["reference"]) for it in items]
        _CACHE[digest] = score(predictions, task, references, split=split, **options)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(digest)
    return _CACHE[digest]


def _aggregation(metric: str) -> Callable[[Sequence[Mapping[str, Any]]], float]:
    def aggregate(items):
        result = score_items(items)
        if metric == FAILED_METRIC:
            return float(result.n_failed)
        # Absent when switched off (score_options {"bleurt": false}).
        return float(result[metric]) if metric in result else float("nan")

    aggregate.__name__ = aggregation_function(metric)
    aggregate.__doc__ = f"lm-eval aggregation: ``{metric}`` of ecinstruct_eval.score over the test set."
    return aggregate


agg_accuracy = _aggregation("accuracy")
agg_macro_precision = _aggregation("macro_precision")
agg_macro_recall = _aggregation("macro_recall")
agg_macro_f1 = _aggregation("macro_f1")
agg_precision = _aggregation("precision")
agg_recall = _aggregation("recall")
agg_f1 = _aggregation("f1")
agg_specificity = _aggregation("specificity")
agg_npr = _aggregation("npr")
agg_hr_at_1 = _aggregation("hr@1")
agg_ndcg = _aggregation("ndcg")
agg_precision_star = _aggregation("precision_star")
agg_recall_star = _aggregation("recall_star")
agg_f1_star = _aggregation("f1_star")
agg_source_accuracy = _aggregation("source_accuracy")
agg_bertscore_precision = _aggregation("bertscore_precision")
agg_bertscore_recall = _aggregation("bertscore_recall")
agg_bertscore_f1 = _aggregation("bertscore_f1")
agg_bleurt = _aggregation("bleurt")
agg_n_failed = _aggregation(FAILED_METRIC)

#: Every metric the task YAMLs name has its hook (checked by the tests).
ALL_METRICS = tuple(dict.fromkeys(m for names in METRICS.values() for m in names)) + (FAILED_METRIC,)
