"""``ecinstruct leaderboard``: validate, score, table, compare, plot, baseline.

Examples (shell)::

    ecinstruct leaderboard baseline --method lexical --data BUILD --out subs/lexical.jsonl
    ecinstruct leaderboard validate subs/lexical.jsonl --data BUILD
    ecinstruct leaderboard score subs/lexical.jsonl --data BUILD --out results/lexical.json
    ecinstruct leaderboard table results/*.json --format html --out board.html
    ecinstruct leaderboard compare results/a.json results/b.json
    ecinstruct leaderboard plot results/*.json --paper eCeLLM-L --out board.png
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: Python keyword options (in messages from the library) -> the flags of these commands.
_FLAGS = {
    "bertscore_model": "--bertscore-model",
    "bertscore_layers": "--bertscore-layers",
    "num_layers": "--bertscore-layers",
    "bleurt_checkpoint": "--bleurt-checkpoint",
    "location": "--data",
}


def cli_message(msg: str) -> str:
    """A library error message worded for the command line: flags, not keyword arguments.

    >>> cli_message("point X (or the bertscore_model= option) at a copy. Or skip BLEURT with bleurt=False.")
    'point X (or the --bertscore-model option) at a copy. Or skip BLEURT with --no-bleurt.'
    >>> cli_message("pass num_layers for the BERTScore model 'm'")
    "pass --bertscore-layers for the BERTScore model 'm'"
    """
    msg = re.sub(r", or give the gold records directly with references=", "", msg)
    msg = msg.replace("bleurt=False", "--no-bleurt")
    msg = re.sub(r"\b(" + "|".join(_FLAGS) + r")=(?=[\s).,;]|$)", lambda m: _FLAGS[m.group(1)], msg)
    return re.sub(r"\bpass (num_layers|bertscore_layers)\b", "pass --bertscore-layers", msg)


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="LOCATION", default=None,
                   help="reference data: build folder, export folder or Hub id "
                        "(default: $ECINSTRUCT_DATA)")


def _tasks_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", nargs="+", metavar="TASK", default=None,
                   help="only these tasks (default: all ten)")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lb_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("validate", help="check a submission file (and its metadata) completely")
    p.add_argument("submission", type=Path, help="submission JSONL")
    p.add_argument("--meta", type=Path, default=None, help="metadata header (default NAME.meta.json)")
    _data_arg(p)
    _tasks_arg(p)
    p.set_defaults(_lb=_validate)

    p = sub.add_parser("score", help="validate, then score a submission into a results file")
    p.add_argument("submission", type=Path)
    p.add_argument("--out", type=Path, required=True, help="results JSON to write")
    p.add_argument("--compat", choices=("paper", "released"), default="paper",
                   help="paper: failed outputs count as wrong (default); released: the "
                        "authors' released scorer")
    p.add_argument("--meta", type=Path, default=None)
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (0: no CIs)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--bertscore-model", default=None,
                   help="AG: BERTScore model name or local folder (default: roberta-large, as the paper)")
    p.add_argument("--bertscore-layers", type=int, default=None, help="AG: BERTScore layer")
    p.add_argument("--bleurt-checkpoint", default=None, help="AG: BLEURT checkpoint or local folder")
    p.add_argument("--no-bleurt", action="store_true", help="AG: skip BLEURT")
    p.add_argument("--device", default=None, help="AG: torch device for the metric models")
    _data_arg(p)
    _tasks_arg(p)
    p.set_defaults(_lb=_score)

    p = sub.add_parser("table", help="the ranked table beside the paper's Tables 3/4 "
                                      "(one table per test set; the paper's rows beside official results)")
    p.add_argument("results", nargs="*", type=Path, help="results JSON files")
    p.add_argument("--format", choices=("md", "html", "csv"), default="md")
    p.add_argument("--setting", choices=("ind", "ood", "both"), default="both",
                   help="IND = Table 3 shape, OOD = Table 4 shape")
    p.add_argument("--order", choices=("rank", "paper"), default="rank")
    p.add_argument("--no-paper", action="store_true", help="leave out the paper's rows")
    p.add_argument("--ci", action="store_true", help="show 95%% intervals (md)")
    p.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    p.set_defaults(_lb=_table)

    p = sub.add_parser("compare", help="paired bootstrap test per task between two results files")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--alpha", type=float, default=0.05)
    p.set_defaults(_lb=_compare)

    p = sub.add_parser("plot", help="bar chart (PNG) of the per-task primary metric")
    p.add_argument("results", nargs="*", type=Path)
    p.add_argument("--out", type=Path, required=True, help="PNG file")
    p.add_argument("--setting", choices=("ind", "ood"), default="ind")
    p.add_argument("--paper", action="append", default=[], metavar="MODEL",
                   help="also draw a paper row, e.g. --paper eCeLLM-L (repeatable); only beside "
                        "results on the official test sets")
    p.set_defaults(_lb=_plot)

    p = sub.add_parser("pack", help="join prediction files (ecinstruct predict --out ...) into a submission")
    p.add_argument("predictions", nargs="+", type=Path,
                   help='JSONL files of {"task", "split", "id", "prediction"} lines')
    p.add_argument("--out", type=Path, required=True, help="submission JSONL to write")
    p.add_argument("--model", required=True, help="display name on the board")
    p.add_argument("--base-model", default="")
    p.add_argument("--parameters", default="unknown", help='e.g. "7B"')
    p.add_argument("--shots", type=int, default=0)
    p.add_argument("--date", default=None, help="YYYY-MM-DD (default: today)")
    p.add_argument("--link", default="")
    p.set_defaults(_lb=_pack)

    p = sub.add_parser("baseline", help="write a submission from a weight-free baseline")
    p.add_argument("--method", choices=("majority", "random", "lexical"), required=True)
    p.add_argument("--out", type=Path, required=True, help="submission JSONL to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--unseen", action="store_true", help="also predict the unseen-instruction sets")
    p.add_argument("--date", default=None, help="metadata date (default: today)")
    _data_arg(p)
    _tasks_arg(p)
    p.set_defaults(_lb=_baseline)


def run(args: argparse.Namespace) -> int:
    try:
        return int(args._lb(args) or 0)
    except (ValueError, KeyError, OSError, ImportError) as e:
        from ecinstruct_eval.cli import missing_extra

        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        extra = missing_extra(e, "leaderboard") if isinstance(e, ModuleNotFoundError) else None
        if extra is not None:  # e.g. AG without bert-score: say which extra, as `ecinstruct score` does
            skip = " (or leave AG out with --tasks)" if extra in ("bertscore", "bleurt") else ""
            msg = f"needs the '{extra}' extra ({e}); install it with: pip install 'ecinstruct[{extra}]'{skip}"
        print(f"ecinstruct leaderboard {args.lb_command}: {cli_message(str(msg))}", file=sys.stderr)
        return 2


def _require_data(location, tasks) -> None:
    """Fail once, clearly, when the reference data cannot be read, before any submission is.

    Raises ``ValueError`` worded for the command line.
    """
    from ecinstruct_eval.data import DATA_ENV, DataNotFoundError, load_split, resolve_location
    from ecinstruct_eval.tasks import TASKS

    how = (f"pass --data LOCATION or set {DATA_ENV} (a build folder from `ecinstruct build`, "
           "an export folder or a Hub id)")
    loc = resolve_location(location)
    if loc is None:
        raise ValueError(f"no data location is configured: {how}")
    source = "--data" if location is not None else f"${DATA_ENV}"
    path = Path(loc)
    if path.is_file():
        raise ValueError(f"data location {loc!r} (from {source}) is a file, not a dataset folder; {how}")
    if not path.exists() and (loc.startswith((".", "/", "~", "\\")) or loc.count("/") > 1 or "\\" in loc):
        raise ValueError(f"data location {loc!r} (from {source}) does not exist; {how}")
    task = TASKS[next(iter(tasks))].code if tasks else next(iter(TASKS))
    try:
        load_split(task, "test", location)
    except DataNotFoundError as e:
        raise ValueError(f"cannot read the reference data at {loc!r} (from {source}): {e}") from None


def _validate(args) -> int:
    from ecinstruct_leaderboard.submission import validate_submission

    _require_data(args.data, args.tasks)
    report = validate_submission(args.submission, location=args.data, tasks=args.tasks,
                                 meta_path=args.meta)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _score(args) -> int:
    from ecinstruct_leaderboard.results import score_submission, write_results
    from ecinstruct_leaderboard.submission import SubmissionError

    ag = {k: v for k, v in (("bertscore_model", args.bertscore_model),
                            ("bertscore_layers", args.bertscore_layers),
                            ("bleurt_checkpoint", args.bleurt_checkpoint),
                            ("device", args.device)) if v is not None}
    if args.no_bleurt:
        ag["bleurt"] = False
    _require_data(args.data, args.tasks)
    try:
        res = score_submission(args.submission, location=args.data, compat=args.compat,
                               tasks=args.tasks, meta_path=args.meta, n_resamples=args.resamples,
                               seed=args.seed, ag_options=ag,
                               progress=lambda m: print(m, file=sys.stderr))
    except SubmissionError as e:
        print(e.report.summary(), file=sys.stderr)
        return 1
    write_results(res, args.out)
    print(f"wrote {args.out}")
    return 0


def _load_all(paths):
    from ecinstruct_leaderboard.results import load_results

    return [load_results(p) for p in paths]


def _table(args) -> int:
    from ecinstruct_leaderboard.results import display_names
    from ecinstruct_leaderboard.table import build_boards, render

    docs = _load_all(args.results)
    names = display_names(docs, args.results)
    settings = ["IND", "OOD"] if args.setting == "both" else [args.setting.upper()]
    boards = [b for s in settings for b in build_boards(docs, setting=s, include_paper=not args.no_paper,
                                                         order=args.order, names=names)]
    kw = {"ci": args.ci} if args.format == "md" else {}
    text = render(boards, args.format, **kw)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8", newline="")  # CSV ends lines with CRLF itself
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _compare(args) -> int:
    from ecinstruct_leaderboard.compare import (
        compare_results,
        format_comparisons,
        test_set_mismatches,
    )
    from ecinstruct_leaderboard.results import model_name

    a, b = _load_all([args.a, args.b])
    names = (model_name(a, str(args.a)), model_name(b, str(args.b)))
    if names[0] == names[1]:
        names = (str(args.a), str(args.b))
    comps = compare_results(a, b, names=names, alpha=args.alpha)
    if not comps:
        print("the two results files share no task/split", file=sys.stderr)
        return 1
    differ = test_set_mismatches(a, b)
    if differ:
        sets = ", ".join(f"{t}/{s}" for t, s, _, _ in differ[:4]) + (
            f" and {len(differ) - 4} more" if len(differ) > 4 else "")
        t, s, ha, hb = differ[0]
        what = (f"{args.a} and {args.b} were scored on different test sets ({sets}; "
                f"{t}/{s}: {ha[:12]} vs {hb[:12]}): scores on different test sets are not comparable")
        if all(c.verdict == "not comparable" for c in comps):
            print(f"ecinstruct leaderboard compare: refused: {what}", file=sys.stderr)
            return 1
        print(f"ecinstruct leaderboard compare: warning: {what}; only the sets on the same test set "
              "are compared", file=sys.stderr)
    print(format_comparisons(comps, names, alpha=args.alpha,
                             n_resamples=a.get("bootstrap", {}).get("n_resamples")))
    return 0


def _plot(args) -> int:
    from ecinstruct_leaderboard.plot import plot_results, save_plot

    fig = plot_results(_load_all(args.results), setting=args.setting.upper(), paper_models=args.paper,
                       sources=args.results,
                       warn=lambda msg: print(f"ecinstruct leaderboard plot: {msg}", file=sys.stderr))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_plot(fig, args.out)
    print(f"wrote {args.out}")
    return 0


def _baseline(args) -> int:
    import datetime

    from ecinstruct_leaderboard.baselines import predict
    from ecinstruct_leaderboard.submission import write_submission

    from ecinstruct_eval.data import load_split
    from ecinstruct_eval.tasks import TASKS

    _require_data(args.data, args.tasks)
    codes = list(TASKS) if args.tasks is None else [TASKS[t].code for t in args.tasks]
    rows = []
    for task in codes:
        spec = TASKS[task]
        train = load_split(task, "train", args.data)
        splits = ["test"] + (["test_ood"] if spec.has_ood else [])
        if args.unseen:
            splits += ["test_unseen"] + (["test_ood_unseen"] if spec.has_ood else [])
        for split in splits:
            recs = load_split(task, split, args.data)
            outs = predict(recs, args.method, train_records=train, seed=args.seed)
            rows += [{"task": task, "split": split, "id": r["id"], "prediction": o}
                     for r, o in zip(recs, outs)]
            print(f"{task}/{split}: {len(recs)} predictions", file=sys.stderr)
    meta = {
        "model": f"baseline:{args.method}",
        "base_model": "",
        "parameters": "0",
        "shots": 0,
        "date": args.date or datetime.date.today().isoformat(),
        "link": "",
        "notes": f"weight-free reference baseline ({args.method}, seed {args.seed}) from ecinstruct_leaderboard.baselines",
    }
    n = write_submission(args.out, rows, meta)
    print(f"wrote {args.out} ({n} lines) and its metadata header")
    return 0


def _pack(args) -> int:
    import datetime

    from ecinstruct_leaderboard.submission import FIELDS, write_submission

    from ecinstruct_eval.data import iter_jsonl

    rows, seen = [], {}
    for path in args.predictions:
        for lineno, obj in iter_jsonl(path):  # bad UTF-8 or JSON: one ValueError naming the file and line
            missing = [k for k in FIELDS if not isinstance(obj, dict) or k not in obj]
            if missing:
                raise ValueError(f"{path}:{lineno}: missing {', '.join(missing)}")
            key = tuple(str(obj[k]) for k in ("task", "split", "id"))
            if key in seen:
                raise ValueError(f"{path}:{lineno}: duplicate {key[0]}/{key[1]} id {key[2]!r} "
                                 f"(first in {seen[key]}); each item belongs in one file once. "
                                 "Nothing was written")
            seen[key] = f"{path}:{lineno}"
            rows.append(obj)

    meta = {"model": args.model, "base_model": args.base_model, "parameters": args.parameters,
            "shots": args.shots, "date": args.date or datetime.date.today().isoformat(),
            "link": args.link}
    n = write_submission(args.out, rows, meta)
    print(f"wrote {args.out} ({n} lines) and its metadata header; next: ecinstruct leaderboard validate {args.out}")
    return 0
