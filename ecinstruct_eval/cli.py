"""The ``ecinstruct`` command line.

Each subcommand lives in the module that owns its work and exposes two
functions: ``configure_parser(parser)`` and ``run(args) -> int``.  This file
only lists them.  Command modules must keep their top-level imports light
(no torch, transformers, datasets at import time) so that ``ecinstruct
--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: (subcommand, module, one-line help).  Add a line to register a command.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "ecinstruct_eval.demo", "run the main job end to end on the bundled sample sources"),
    ("score", "ecinstruct_eval.score_cli", "score a predictions file on one task (parse outputs, compute metrics)"),
    ("build", "builders.cli", "rebuild the ECInstruct tasks from the raw public sources"),
    ("import", "ecinstruct_dataset.release_import",
     "import the authors' release (NingLab/ECInstruct) as a build folder"),
    ("export", "ecinstruct_dataset.cli", "write a Hub-ready dataset folder (Parquet + card) from a build; optionally push it"),
    ("train", "ecellm.cli_train", "LoRA-tune a base model on ECInstruct with the paper's recipe"),
    ("predict", "ecellm.cli_predict", "generate predictions for task splits (a model or a weight-free baseline)"),
    ("leaderboard", "leaderboard.cli", "validate, score, tabulate, compare and plot leaderboard submissions"),
    ("lm-eval-path", "ecinstruct_eval.lm_eval_cli", "print the --include_path of the lm-evaluation-harness tasks"),
)


def build_parser() -> argparse.ArgumentParser:
    from ecinstruct_eval import __version__

    parser = argparse.ArgumentParser(
        prog="ecinstruct",
        description="ECInstruct toolkit: build, export, score, train, predict and compare "
        "models on the ten ECInstruct e-commerce tasks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(module_name)
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module.configure_parser(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
