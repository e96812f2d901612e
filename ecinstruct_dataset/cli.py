"""``ecinstruct export``: write a Hub-ready dataset folder from a build (and push it).

Imports stay light at module level: ``datasets`` loads only when the command runs.
Exit status: 0 on success, 2 when the build folder or ``--out`` cannot be used
(one line on standard error; also when another export is writing ``--out``, unless
``--wait`` outlasts it), 1 when ``--verify`` or ``--push-to-hub`` fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def one_line(error: BaseException) -> str:
    """``error``'s message on one line (a ``KeyError``'s without the quotes ``str`` adds).

    >>> one_line(ValueError("build report and records disagree:\\n  SR/test: 3 != 4"))
    'build report and records disagree: SR/test: 3 != 4'
    """
    msg = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(msg).split())


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="build", type=Path, required=True, metavar="BUILD_DIR",
                        help="folder written by `ecinstruct build`")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="export folder to write (Parquet shards per config and split + README.md)")
    parser.add_argument("--push-to-hub", metavar="ID", default=None,
                        help="also upload the folder as the Hub dataset ID (needs a token and network)")
    parser.add_argument("--private", action="store_true", help="create the Hub repository as private")
    parser.add_argument("--max-shard-size", default=None, metavar="SIZE",
                        help="largest Parquet shard, in Arrow bytes (default 200MB)")
    parser.add_argument("--repo-id", default=None, metavar="ID",
                        help="Hub id the card's examples load (default: --push-to-hub ID, else a placeholder)")
    parser.add_argument("--verify", action="store_true",
                        help="load every config of the written folder with datasets.load_dataset and "
                             "check its split sizes")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="if another export is writing --out, wait up to SECONDS for it "
                             "(default: stop at once)")
    parser.add_argument("--card-template", type=Path, default=None, metavar="PATH",
                        help="card template (default: the repository's dataset_card.md)")


def run(args: argparse.Namespace) -> int:
    from ecinstruct_builders.locking import OutputLocked

    from ecinstruct_dataset.exporter import DEFAULT_MAX_SHARD_SIZE, export, loaded_split_sizes
    from ecinstruct_dataset.hub import HubPushError, push_to_hub

    try:
        result = export(
            args.build, args.out,
            max_shard_size=args.max_shard_size or DEFAULT_MAX_SHARD_SIZE,
            repo_id=args.repo_id or args.push_to_hub,
            card_template=args.card_template,
            wait=args.wait,
        )
    except (OSError, ValueError, KeyError, OutputLocked) as e:  # a missing or malformed build folder, an unusable --out
        print(f"ecinstruct export: error: {one_line(e)}", file=sys.stderr)
        return 2
    counts = result.counts()
    print(f"wrote {args.out}: {len(result.configs)} configs, "
          f"{sum(n for c in counts.values() for n in c.values()):,} rows")
    for name in result.configs:
        sizes = ", ".join(f"{s}={sum(sf.num_examples for _, sf in parts):,}"
                          for s, parts in result.config_splits(name).items())
        print(f"  {name:4s} {sizes}")
    for note in result.notes:
        print(f"  note: {note}")
    if args.verify:
        expected = {name: {s: sum(sf.num_examples for _, sf in parts)
                           for s, parts in result.config_splits(name).items()}
                    for name in result.configs}
        import datasets

        datasets.disable_progress_bars()
        try:
            loaded = loaded_split_sizes(args.out)
        except Exception as e:  # any loading failure is the finding
            print(f"ecinstruct export: error: load_dataset failed on {args.out}: {e}", file=sys.stderr)
            return 1
        if loaded != expected:
            print(f"ecinstruct export: error: load_dataset({str(args.out)!r}) gives {loaded}, "
                  f"expected {expected}", file=sys.stderr)
            return 1
        print(f"verified: load_dataset opens all {len(loaded)} configs with the sizes above")
    if args.push_to_hub:
        try:
            url = push_to_hub(args.out, args.push_to_hub, private=args.private or None)
        except HubPushError as e:
            print(f"ecinstruct export: {e}", file=sys.stderr)
            return 1
        print(f"uploaded to {url}")
    return 0
