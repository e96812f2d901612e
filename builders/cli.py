"""``ecinstruct build``: rebuild the ECInstruct tasks from the raw public sources.

Examples
--------
::

    ecinstruct build --sources samples/sources --out demo_out/build --config samples/sample_build.json
    ecinstruct build --sources raw --out build --tasks SR,PM --sizes 2000
    ecinstruct build --sources raw --out build --download      # fetch what is missing, or say where to put it
    ecinstruct build --sources raw --out build --quiet         # errors only (no progress bars, no per-task lines)

On a terminal every source file read shows a progress bar (bytes and rows
read); elsewhere (logs, CI) only one line per task is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecinstruct_builders.core import BuildConfig


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sources", type=Path, help="folder with one subfolder per raw source "
                        "(amazon_review_2018/, amazon_review_2014/, mave/, amazon_google/, esci/, amazonqa/)")
    parser.add_argument("--out", type=Path, help="output folder: <TASK>/<split>.jsonl and build_report.json")
    parser.add_argument("--tasks", default=None, help="comma-separated task codes (default: all ten)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 1, the paper's)")
    parser.add_argument("--sizes", default=None,
                        help="'paper' (Table A3: 10K/1K/1K/1K), 'all', or N (train 10N, other splits N)")
    parser.add_argument("--config", type=Path, default=None,
                        help="JSON build config: seed, sizes, categories per task, task options")
    parser.add_argument("--download", action="store_true",
                        help="fetch missing source files into --sources first (offline: say where to place them)")
    parser.add_argument("--fix-defects", action="store_true", default=None,
                        help="remove the release's known defects (evaluation records that repeat a training "
                             "record, duplicates inside a split); default: reproduce the release as it is")
    parser.add_argument("--force", action="store_true", help="rebuild tasks even if up to date")
    parser.add_argument("--verify-sources", action="store_true",
                        help="read every compressed source to its end before building, so that a truncated "
                             "or corrupt file stops the build before any task is written (one more pass)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="if another build is writing --out, wait up to SECONDS for it (default: stop at "
                             "once with one line)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only errors (no per-task lines, no progress bars; bars show only on a terminal)")


def check_categories(cfg: BuildConfig, tasks: Sequence[str]) -> None:
    """Raise ``ValueError`` if the config gives any of ``tasks`` a category that is both IND and OOD.

    Checked before anything is downloaded or built, so the mistake is reported
    at once (the library raises the same error when a task reads its categories).
    """
    from ecinstruct_builders.sources import PAPER_CATEGORIES

    for task in tasks:
        if task in PAPER_CATEGORIES:
            cfg.categories_for(task, **PAPER_CATEGORIES[task])


def run(args: argparse.Namespace) -> int:
    from ecinstruct_builders.core import BuildConfig
    from ecinstruct_builders.pipeline import build, parse_tasks

    try:
        if args.config is not None:
            cfg = BuildConfig.from_file(args.config, sources=args.sources, out=args.out,
                                        seed=args.seed, sizes=args.sizes, fix_defects=args.fix_defects)
        else:
            if args.sources is None or args.out is None:
                print("ecinstruct build: --sources and --out are required (or a --config naming them)",
                      file=sys.stderr)
                return 2
            cfg = BuildConfig(sources=args.sources, out=args.out, seed=1 if args.seed is None else args.seed,
                              sizes=args.sizes or "paper", fix_defects=bool(args.fix_defects))
        tasks = parse_tasks(args.tasks)
        check_categories(cfg, tasks)
    except (ValueError, KeyError, OSError) as e:
        print(f"ecinstruct build: {e}", file=sys.stderr)
        return 2
    from ecinstruct_builders.core import SourcesFolderError
    from ecinstruct_builders.locking import OutputLocked
    from ecinstruct_builders.pipeline import check_sources_folder
    from ecinstruct_builders.progress import wanted

    try:
        if not (args.download and not Path(cfg.sources).exists()):  # --download may create the folder
            check_sources_folder(cfg.sources)
    except SourcesFolderError as e:
        print(f"ecinstruct build: {e}", file=sys.stderr)
        return 2
    log = (lambda _m: None) if args.quiet else print
    if args.download:
        from ecinstruct_builders.sources import download

        still = download(tasks, cfg, log=print)
        if still:
            print(f"{still} source file(s) still missing; place them as listed above and rerun.", file=sys.stderr)
    try:
        report = build(cfg, tasks, force=args.force, log=log, show_progress=wanted(args.quiet),
                       verify_sources=args.verify_sources, wait=args.wait)
    except OutputLocked as e:  # another build writes --out: one line, exit 2
        print(f"ecinstruct build: {e}", file=sys.stderr)
        return 2
    except SourcesFolderError as e:  # still no folder after --download
        print(f"ecinstruct build: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, NotImplementedError) as e:  # MissingSourceError included
        print(f"ecinstruct build: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # SourceError (a damaged or empty source) and unreadable file headers
        print(f"ecinstruct build: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    log(f"wrote {len(report['tasks'])} task(s) to {cfg.out} (report: {Path(cfg.out) / 'build_report.json'})")
    return 0
