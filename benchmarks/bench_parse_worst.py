"""Worst-case parse times: crafted outputs at 1 Ki, 4 Ki, 16 Ki and 64 Ki characters (issue 15).

For every task and every crafted family (the inputs that made the old output
parser cubic or quadratic: newline runs after "response", "#" before newlines,
repeated "attribute: ", ...), times ``ecinstruct_eval.parse`` (result cache
cleared before each call) and prints the median per size and the 64Ki/16Ki
ratio: about 4 when parsing is linear, 16 for a quadratic pattern, 64 for a
cubic one.  The table gives, per task, the family with the largest time at the
largest size.

    python benchmarks/bench_parse_worst.py [--quick] [--repeat 5] [--json OUT]

``--quick`` stops at 16 Ki characters with 3 repeats.

>>> rows = run(tasks=["SR"], sizes=[256, 1024], repeat=1, families=["response+newlines"])
>>> rows[0]["task"], rows[0]["family"], sorted(rows[0]["seconds"])
('SR', 'response+newlines', [256, 1024])
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecinstruct_eval import parsing  # noqa: E402

TASKS = ("AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG")
SIZES = (1024, 4096, 16384, 65536)


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


FAMILIES = {
    "response+newlines": lambda n: _fill("\n", n, "response", "x"),
    "hash+newlines": lambda n: _fill("\n", n, "#"),
    "attribute": lambda n: _fill("attribute: ", n),
    "attribute-value": lambda n: _fill("attribute: a; value: b; ", n),
    "newlines+bullet-response": lambda n: _fill("\n \n", n, "x", "- response"),
    "hashes": lambda n: _fill("#", n, "", "x"),
    "bullets": lambda n: _fill("\n- ", n, "attribute: a"),
    "odd-whitespace": lambda n: _fill("\x1c", n, "A", "x\nyes"),
    "line-separators": lambda n: _fill("\u2028 ", n, "A", ", B"),
    "option-texts": lambda n: _fill("very positive positive ", n),
    "answer-cues": lambda n: _fill("Answer: A ", n),
    "yes-no": lambda n: _fill("yes no. ", n),
    "newline-yes": lambda n: _fill("\n", n, ".", "yes"),
    "commas": lambda n: _fill("A, ", n, "", "x"),
    "letter-chain": lambda n: _fill("A - ", n, "", "x"),
    "brackets": lambda n: _fill("[{", n),
    "one-option-text": lambda n: _fill("negative ", n),
    "negated-option-text": lambda n: _fill("is not ", n, "", "negative"),
    "yes-no-cues": lambda n: _fill("the answer is ", n, "no ", "yes"),
    "negated-yes": lambda n: _fill("cannot say ", n, "", "yes"),
}


def _median_time(output: str, task: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        parsing._parse_cached.cache_clear()
        start = time.perf_counter()
        parsing.parse(output, task)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(tasks=TASKS, sizes=SIZES, repeat=5, families=None):
    """One row per task and family: ``{"task", "family", "seconds": {size: median}}``."""
    rows = []
    for task in tasks:
        for family in families or FAMILIES:
            make = FAMILIES[family]
            rows.append({"task": task, "family": family,
                         "seconds": {size: _median_time(make(size), task, repeat) for size in sizes}})
    return rows


def _worst_per_task(rows, sizes):
    worst = {}
    for row in rows:
        if row["task"] not in worst or row["seconds"][sizes[-1]] > worst[row["task"]]["seconds"][sizes[-1]]:
            worst[row["task"]] = row
    return list(worst.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="sizes up to 16 Ki, 3 repeats")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--all", action="store_true", help="every family, not only the worst per task")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    sizes = SIZES[:3] if args.quick else SIZES
    repeat = args.repeat or (3 if args.quick else 5)
    rows = run(tasks=args.tasks.split(","), sizes=sizes, repeat=repeat)
    shown = rows if args.all else _worst_per_task(rows, sizes)
    head = " | ".join(f"{s // 1024} Ki (ms)" for s in sizes)
    print(f"| task | family | {head} | {sizes[-1] // 1024}Ki/{sizes[-2] // 1024}Ki |")
    print("|---|---|" + "---|" * (len(sizes) + 1))
    for row in shown:
        sec = row["seconds"]
        ratio = sec[sizes[-1]] / max(sec[sizes[-2]], 1e-9)
        cells = " | ".join(f"{sec[s] * 1e3:.2f}" for s in sizes)
        print(f"| {row['task']} | {row['family']} | {cells} | {ratio:.1f} |")
    worst = max(r["seconds"][sizes[-1]] for r in rows)
    print(f"slowest parse at {sizes[-1]} characters: {worst * 1e3:.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
