"""``ecinstruct demo``: the main job on the bundled sample sources."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")


def run(args: argparse.Namespace) -> int:
    from ecinstruct_eval.tasks import TASKS

    for code, spec in TASKS.items():
        print(f"{code:4s} {spec.name:38s} primary={spec.primary_metric:13s} splits={','.join(spec.splits)}")
    return 0
