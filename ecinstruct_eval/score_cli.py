"""``ecinstruct score``: score a predictions file on one task and print the metrics.

Examples
--------
::

    ecinstruct score --task SR --predictions preds.jsonl
    ecinstruct score --task QPR --predictions preds.jsonl --references build/QPR/test.jsonl --json
    ecinstruct score --task PM --predictions preds.jsonl --compat released
    # the authors' own names and prediction files (a JSON list of outputs, in the release's order)
    ecinstruct score --task Sequential_Recommendation --setting OOD_Diverse_Instruction \
        --predictions sr_ood.json --data imported
"""

from __future__ import annotations

import argparse
import json
import sys


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True,
                        help="task code, e.g. SR (case-insensitive), or the release's task name, "
                             "e.g. Sequential_Recommendation")
    parser.add_argument("--predictions", required=True,
                        help='JSONL file of {"id": ..., "prediction": ...} lines, or a JSON file: such '
                             "objects, or the authors' list of outputs (aligned by position)")
    parser.add_argument("--references", default=None,
                        help="JSONL file of the split's records (default: load --split from "
                             "$ECINSTRUCT_DATA, a build folder, exported folder or Hub id)")
    parser.add_argument("--data", default=None,
                        help="dataset location to load --split from (overrides $ECINSTRUCT_DATA)")
    parser.add_argument("--split", default="test",
                        help="split to score against (default: test); the release's val is validation")
    parser.add_argument("--setting", default=None,
                        help="the release's setting (e.g. OOD_Diverse_Instruction): with --split test, "
                             "picks our split (test_ood)")
    parser.add_argument("--compat", choices=("paper", "released"), default="paper",
                        help="paper definitions (default) or the authors' released scorer")
    parser.add_argument("--failed", choices=("wrong", "exclude"), default=None,
                        help="count unparseable outputs as wrong (default) or exclude them")
    parser.add_argument("--bertscore-model", default=None, help="AG: BERTScore model name or path")
    parser.add_argument("--bleurt-checkpoint", default=None, help="AG: BLEURT checkpoint or path")
    parser.add_argument("--no-bleurt", action="store_true", help="AG: skip BLEURT")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def format_table(result) -> str:
    """Plain-text table of a :class:`ScoreResult`."""
    rows = [(name + (" *" if name == result.primary else ""), f"{value:.4f}")
            for name, value in result.items()]
    rows += [("n", str(result.n)), ("n_failed", str(result.n_failed))]
    width = max(len(r[0]) for r in rows)
    head = f"{result.task} / {result.split}  (compat={result.compat}, failed={result.failed})"
    lines = [head] + [f"  {k:<{width}}  {v:>8}" for k, v in rows]
    lines += [f"  {k}: {v}" for k, v in result.settings.items() if k not in ("compat", "failed")]
    lines.append("  (* primary metric)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ecinstruct_eval.data import (
        DataNotFoundError,
        load_split,
        read_jsonl,
        read_predictions,
        select_predictions,
    )
    from ecinstruct_eval.release import our_split, task_code
    from ecinstruct_eval.scoring import score, scored_split
    from ecinstruct_eval.tasks import get_task

    try:
        spec = get_task(task_code(args.task))
        if args.setting is not None or args.split == "val":
            args.split = our_split(args.split, setting=args.setting)
        if args.references:
            refs = read_jsonl(args.references)
        else:
            refs = load_split(spec.code, args.split, args.data)
        if spec.code == "QPR" and any(not r.get("relevance") for r in refs):
            raise ValueError("the QPR records have no relevance grades, which NDCG needs: import the "
                             "release with `ecinstruct import ... --qpr-labels label.json` (the authors' "
                             "Query_Product_Ranking/IND_Diverse_Instruction/label.json)")
        preds = read_predictions(args.predictions)
        split = scored_split(refs, args.split)
        # `ecinstruct predict` and submissions hold many tasks/splits in one file.
        preds, n_ignored = select_predictions(preds, spec.code, split)
        if n_ignored:
            print(f"ecinstruct score: kept {len(preds)} predictions for {spec.code}/{split}, "
                  f"ignored {n_ignored} for other tasks or splits", file=sys.stderr)
        options = {}
        if args.failed:
            options["failed"] = args.failed
        if spec.kind == "generation":
            options.update(bertscore_model=args.bertscore_model,
                           bleurt_checkpoint=args.bleurt_checkpoint, bleurt=not args.no_bleurt)
        result = score(preds, spec.code, refs, split=args.split, compat=args.compat,
                       **options)
    except (KeyError, ValueError, TypeError, OSError, DataNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"ecinstruct score: error: {msg}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        print(format_table(result))
    return 0
