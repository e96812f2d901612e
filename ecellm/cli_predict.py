"""``ecinstruct predict``: model outputs for task splits, in the evaluator's format."""

from __future__ import annotations

import argparse
import sys

BASELINE_PREFIX = "baseline:"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Generate predictions (greedy, batched by prompt length) and write JSONL lines "
        '{"task", "split", "id", "prediction"} that `ecinstruct_eval.score` and leaderboard submissions read. '
        "Several configs/splits share one model load and one output file. "
        "--model baseline:majority|random|lexical runs a weight-free baseline instead."
    )
    parser.add_argument("--model", default=None,
                        help="preset, Hub id, local folder, or baseline:METHOD (default: the adapter's base model)")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder saved by `ecinstruct train`")
    parser.add_argument("--config", required=True,
                        help="task code (SR), comma-separated codes, or 'all'")
    parser.add_argument("--split", default="test",
                        help="split, or comma-separated splits (test, test_unseen, test_ood, test_ood_unseen, ...); "
                        "with several configs, tasks without a split are skipped")
    parser.add_argument("--out", required=True, help="predictions JSONL file")
    parser.add_argument("--data", default=None, help="build/export folder or Hub id (default: $ECINSTRUCT_DATA)")
    parser.add_argument("--shots", type=int, choices=(0, 1), default=0,
                        help="0 = zero-shot prompt, 1 = with the record's one-shot training example (Appendix E)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: by task kind (16 to 256)")
    parser.add_argument("--backend", choices=("hf", "vllm"), default="hf")
    parser.add_argument("--arch", choices=("causal", "seq2seq"), default=None)
    parser.add_argument("--prompt-style", dest="style", default=None,
                        choices=("plain", "mistral", "llama2", "claude", "chat", "alpaca"))
    parser.add_argument("--prompt-format", dest="prompt_format", default=None, choices=("appendix-e", "released"),
                        help="prompt template: the paper's Appendix E, or the official release's template the "
                        "published eCeLLM models were tuned on (default: the model's: released for ecellm-s/m/l "
                        "and adapters trained with it, appendix-e otherwise)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N records of each split")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random baseline")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--allow-download", action="store_true", help="allow fetching the model from the Hub")


def run(args: argparse.Namespace) -> int:
    from ecellm.data import parse_tasks
    from ecellm.modeling import ModelNotAvailableError
    from ecinstruct_eval.data import DataNotFoundError

    try:
        tasks = parse_tasks(args.config)
    except KeyError as exc:
        print(f"ecinstruct predict: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        _check_arguments(args, tasks)
        return _run(args, tasks)
    except (ModelNotAvailableError, DataNotFoundError, ImportError, ValueError) as exc:
        print(f"ecinstruct predict: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # e.g. --shots 1 on a record without a one-shot example
        print(f"ecinstruct predict: {exc.args[0]}", file=sys.stderr)
        return 2


def _check_arguments(args: argparse.Namespace, tasks: list[str]) -> None:
    """Refuse bad arguments before loading any data or model (one line each)."""
    from pathlib import Path

    from ecinstruct_eval.tasks import get_task

    model = args.model or ""
    if model.startswith(BASELINE_PREFIX):
        from ecinstruct_leaderboard.baselines import METHODS

        method = model[len(BASELINE_PREFIX):]
        if method not in METHODS:
            raise ValueError(
                f"unknown baseline {method!r}; choose one of "
                + ", ".join(f"baseline:{m}" for m in METHODS)
            )
    if args.adapter is not None and not Path(args.adapter).is_dir():
        raise ValueError(f"adapter folder {args.adapter} does not exist (give the --out folder of `ecinstruct train`)")
    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    if not splits:
        raise ValueError("--split is empty")
    for split in splits:
        owners = [t for t in tasks if split in get_task(t).splits]
        if not owners:
            valid = sorted({s for t in tasks for s in get_task(t).splits})
            raise ValueError(
                f"no task in --config {args.config} has a split {split!r}; valid splits: {', '.join(valid)}"
            )


def _jobs(tasks: list[str], split_arg: str) -> list[tuple[str, str]]:
    from ecinstruct_eval.tasks import get_task

    splits = [s.strip() for s in split_arg.split(",") if s.strip()]
    if len(tasks) == 1:  # one task: an unknown split is an error (load_split names the valid ones)
        return [(tasks[0], s) for s in splits]
    return [(t, s) for t in tasks for s in splits if s in get_task(t).splits]


def _run(args: argparse.Namespace, tasks: list[str]) -> int:
    from ecellm.predictor import write_predictions
    from ecinstruct_eval.data import load_split

    all_records: list[dict] = []
    all_preds: list[str] = []
    predictor = None if (args.model or "").startswith(BASELINE_PREFIX) else _Predictor(args)
    for task, split in _jobs(tasks, args.split):
        records = load_split(task, split, args.data)[: args.limit]
        if predictor is None:
            from ecinstruct_leaderboard.baselines import predict as baseline_predict

            preds = baseline_predict(records, args.model[len(BASELINE_PREFIX):],
                                     train_records=load_split(task, "train", args.data), seed=args.seed)
        else:
            preds = predictor(task, records)
        all_records += records
        all_preds += list(preds)
        print(f"{task}/{split}: {len(records)} predictions", file=sys.stderr)
    path = write_predictions(args.out, all_records, all_preds)
    print(f"{len(all_records)} predictions written to {path}")
    return 0


class _Predictor:
    """Loads the model once (on first use) and predicts task after task."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.loaded = None

    def _load(self):
        args = self.args
        if args.backend == "vllm":
            self.loaded = ("vllm", *_vllm_setup(args))
        else:
            from ecellm.predictor import load_for_inference

            self.loaded = ("hf", *load_for_inference(
                args.model, adapter=args.adapter, arch=args.arch, style=args.style,
                allow_download=args.allow_download, prompt_format=args.prompt_format,
            ))
        preset = self.loaded[-1]
        print(f"prompt format: {preset.prompt_format} (style {preset.style}, arch {preset.arch})", file=sys.stderr)

    def __call__(self, task: str, records: list[dict]) -> list[str]:
        from ecellm.predictor import (
            build_prompts,
            default_max_new_tokens,
            generate,
            generate_vllm,
            released_answers,
        )
        from ecinstruct_eval.data import load_split
        from ecinstruct_eval.prompts import find_shot

        args = self.args
        train_by_id = None
        if args.shots == 1:
            train_by_id = {r["id"]: r for r in load_split(task, "train", args.data)}
            for rec in records:  # a record without its example fails before the model is loaded
                find_shot(rec, train_by_id)
        if self.loaded is None:
            self._load()
        backend, model, tokenizer, preset = self.loaded
        max_new = args.max_new_tokens or default_max_new_tokens(task)
        prompts = build_prompts(records, style=preset.style, shots=args.shots, train_by_id=train_by_id,
                                tokenizer=tokenizer, prompt_format=preset.prompt_format, arch=preset.arch)
        if backend == "vllm":
            outputs = generate_vllm(model, prompts, tokenizer=tokenizer, max_new_tokens=max_new)
        else:
            outputs = generate(model, tokenizer, prompts, arch=preset.arch, batch_size=args.batch_size,
                               max_new_tokens=max_new, progress=args.progress)
        if preset.prompt_format == "released":  # the release's answer cut (RELEASED_FORMAT.md §12)
            outputs = released_answers(outputs, style=preset.style, arch=preset.arch)
        return outputs


def _vllm_setup(args: argparse.Namespace):
    import importlib.util

    from ecellm.modeling import check_available, load_tokenizer
    from ecellm.predictor import load_vllm, read_adapter_meta
    from ecellm.presets import resolve_base

    if importlib.util.find_spec("vllm") is None:
        raise ImportError("the vllm backend needs the vllm package (pip install vllm); or use --backend hf")
    meta = read_adapter_meta(args.adapter)
    base = args.model or meta.get("base_model")
    if not base:
        raise ValueError("give the base model (--model) or an adapter saved by `ecinstruct train`")
    preset = resolve_base(base, arch=args.arch or meta.get("arch"), style=args.style or meta.get("style"),
                          prompt_format=args.prompt_format or meta.get("prompt_format"))
    if preset.arch == "seq2seq":
        raise ValueError("the vllm backend serves causal models only; use --backend hf for Flan-T5")
    check_available(preset.model_id, allow_download=args.allow_download)
    tokenizer = load_tokenizer(preset.model_id, arch="causal", allow_download=args.allow_download)
    llm = load_vllm(preset.model_id, adapter=args.adapter, allow_download=args.allow_download)
    return llm, tokenizer, preset
