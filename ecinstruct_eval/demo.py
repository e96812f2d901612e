"""``ecinstruct demo``: the main job, end to end, on the bundled sample sources.

It runs the same commands a user would type, printing each one first:
build the ten tasks from ``samples/sources``, export the Hub-ready folder,
load every config with ``datasets.load_dataset``, predict every test set with
the weight-free reference baselines, validate and score those submissions,
and print the leaderboard table beside the paper's reported rows.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
BASELINES = ("majority", "random", "lexical")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")
    parser.add_argument(
        "--sources", type=Path, default=SAMPLES / "sources",
        help="raw sources folder (default: the bundled samples)",
    )
    parser.add_argument(
        "--build-config", type=Path, default=SAMPLES / "sample_build.json",
        help="build config naming the sample categories",
    )
    parser.add_argument("--seed", type=int, default=1)


def _cli(*argv: str) -> None:
    from ecinstruct_eval.cli import main

    print(f"\n$ ecinstruct {shlex.join(argv)}", flush=True)
    rc = main(list(argv))
    if rc:
        raise SystemExit(f"demo: `ecinstruct {argv[0]}` failed with exit code {rc}")


def run(args: argparse.Namespace) -> int:
    from ecinstruct_eval.tasks import TASKS

    out: Path = args.out.resolve()
    if not args.sources.is_dir():
        raise SystemExit(
            f"demo: no sources at {args.sources}; run it from a repository checkout "
            "or pass --sources DIR laid out like samples/sources."
        )
    build, hub, preds = out / "build", out / "hub", out / "predictions"
    build_argv = ["build", "--sources", str(args.sources), "--out", str(build), "--seed", str(args.seed)]
    if args.build_config.is_file():
        build_argv += ["--config", str(args.build_config)]
    _cli(*build_argv)
    _cli("export", "--from", str(build), "--out", str(hub))

    print("\n# load_dataset on the exported folder: rows per config and split")
    import datasets

    for config in [*TASKS, "all"]:
        dd = datasets.load_dataset(str(hub), config)
        sizes = ", ".join(f"{split}={len(ds)}" for split, ds in dd.items())
        print(f"{config:4s} {sizes}")

    results = []
    for method in BASELINES:
        sub = preds / f"baseline-{method}.jsonl"
        sub.parent.mkdir(parents=True, exist_ok=True)
        parts = []
        for code, spec in TASKS.items():
            for split in spec.test_splits:
                part = preds / method / f"{code}-{split}.jsonl"
                _cli("predict", "--model", f"baseline:{method}", "--data", str(hub),
                     "--config", code, "--split", split, "--seed", str(args.seed),
                     "--out", str(part))
                parts.append(part)
        with open(sub, "w", encoding="utf-8") as f:
            for part in parts:
                f.write(part.read_text(encoding="utf-8"))
        meta = sub.with_suffix(".meta.json")
        meta.write_text(json.dumps({
            "model_name": f"baseline:{method}", "base_model": "none", "parameters": 0,
            "shots": 0, "date": "2026-11-26", "link": "",
        }, indent=2) + "\n", encoding="utf-8")
        _cli("leaderboard", "validate", str(sub), "--data", str(hub))
        res = out / "results" / f"baseline-{method}.json"
        _cli("leaderboard", "score", str(sub), "--data", str(hub), "--out", str(res))
        results.append(str(res))
    _cli("leaderboard", "table", *results, "--format", "md")
    print(f"\nDone: build in {build}, Hub folder in {hub}, results in {out / 'results'}")
    return 0
