"""``ecinstruct lm-eval-path``: the folder to pass to ``lm_eval --include_path``.

It writes a copy of the packaged task YAMLs that loads ``--data`` (or
``$ECINSTRUCT_DATA``): an exported folder, a build folder or the Hub id of an
``ecinstruct export``, local paths made absolute, and prints the copy's
folder.  Without data it fails: the packaged YAMLs name no dataset::

    lm_eval --model hf --model_args pretrained=MODEL \\
        --include_path "$(ecinstruct lm-eval-path --data ./hub)" \\
        --tasks ecinstruct --log_samples --output_path results/

lm-eval passes ``dataset_path`` to ``datasets.load_dataset`` as is: a relative
path used offline from another directory silently loads a stale cached copy,
which is why the written paths are absolute.

``--prompt-format released`` (with ``--prompt-style alpaca|mistral|flan-t5``,
default alpaca; mistral for eCeLLM-M) writes the tasks with the official
release's prompt template, which the published eCeLLM models were tuned on;
the default, ``appendix-e``, is the paper's.  The format is recorded in the
written YAMLs' ``metadata``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default=None,
        help="exported dataset folder, build folder or Hub id (of an `ecinstruct export`) "
        "the tasks should load (default: $ECINSTRUCT_DATA; one of the two is required)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write the resolved task YAMLs to "
        "(default: ~/.cache/ecinstruct/lm_eval_tasks/<hash of the data location>)",
    )


    parser.add_argument("--prompt-format", dest="prompt_format", choices=("appendix-e", "released"),
                        default="appendix-e",
                        help="the paper's Appendix E prompts (default) or the official release's template")
    parser.add_argument("--prompt-style", dest="prompt_style", choices=("alpaca", "mistral", "flan-t5"),
                        default=None, help="with --prompt-format released: alpaca (default), mistral (eCeLLM-M) "
                        "or flan-t5")


def run(args: argparse.Namespace) -> int:
    from ecinstruct_eval.data import DATA_ENV
    from ecinstruct_eval.lm_eval_tasks import write_configs

    location = args.data or os.environ.get(DATA_ENV) or None
    if location is None:
        print(
            "ecinstruct lm-eval-path: no data to evaluate on; pass --data with an exported "
            "folder, a build folder or the Hub id of your `ecinstruct export` "
            f"(or set ${DATA_ENV}).",
            file=sys.stderr,
        )
        return 2
    try:
        folder = write_configs(location, out=args.out,
                               prompt_format=getattr(args, "prompt_format", "appendix-e"),
                               prompt_style=getattr(args, "prompt_style", None))
    except (FileNotFoundError, ValueError) as e:
        print(f"ecinstruct lm-eval-path: {e}", file=sys.stderr)
        return 2
    print(folder)
    return 0
