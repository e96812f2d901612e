"""``ecinstruct lm-eval-path``: the folder to pass to ``lm_eval --include_path``.

Without data it prints the packaged task folder, whose YAMLs load the Hub
dataset :data:`~ecinstruct_eval.lm_eval_tasks.DEFAULT_DATASET`.  With
``--data`` (or ``$ECINSTRUCT_DATA``) it writes a copy of the task YAMLs that
loads that location, local paths made absolute, and prints the copy's folder::

    lm_eval --model hf --model_args pretrained=MODEL \\
        --include_path "$(ecinstruct lm-eval-path --data ./hub)" \\
        --tasks ecinstruct --log_samples --output_path results/

lm-eval passes ``dataset_path`` to ``datasets.load_dataset`` as is: a relative
path used offline from another directory silently loads a stale cached copy,
which is why the written paths are absolute.
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
        help="exported dataset folder, build folder or Hub id the tasks should load "
        "(default: $ECINSTRUCT_DATA; with neither, print the packaged folder)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write the resolved task YAMLs to "
        "(default: ~/.cache/ecinstruct/lm_eval_tasks/<hash of the data location>)",
    )


def run(args: argparse.Namespace) -> int:
    from ecinstruct_eval.data import DATA_ENV
    from ecinstruct_eval.lm_eval_tasks import DEFAULT_DATASET, TASKS_DIR, write_configs

    location = args.data if args.data is not None else os.environ.get(DATA_ENV) or None
    if location is None:
        if args.out is not None:
            location = DEFAULT_DATASET
        else:
            print(
                f"# tasks load the Hub dataset {DEFAULT_DATASET}; pass --data DIR (or set "
                f"{DATA_ENV}) for local data",
                file=sys.stderr,
            )
            print(TASKS_DIR)
            return 0
    try:
        folder = write_configs(location, out=args.out)
    except FileNotFoundError as e:
        print(f"ecinstruct lm-eval-path: {e}", file=sys.stderr)
        return 2
    print(folder)
    return 0
