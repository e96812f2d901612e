"""``ecinstruct import``: the authors' release (NingLab/ECInstruct) as a build folder.

The release is one table (RELEASED_FORMAT.md §11) with columns ``task``,
``setting``, ``split``, ``instruction``, ``input``, ``options``, ``output``
and ``few_shot_example``, all its settings stacked.  The import writes the
layout of ``ecinstruct build`` (``BUILD/<TASK>/<split>.jsonl`` and
``build_report.json``), so every other command works on it unchanged:

- every (setting, split) goes where :data:`ecinstruct_eval.release.DESTINATIONS`
  says: one of our splits, a named extra (``BUILD/<TASK>/extra/<name>.jsonl``,
  e.g. the seed-instruction data of Table 5), the one-shot pairing of a test
  split, or nowhere (counted as skipped with the reason): rows read = used +
  skipped;
- rows keep the release's relative order, and ids follow it
  (``SR-test_ood-00000`` is the first OOD test row of SR), so the authors'
  prediction files (a list per task and setting) align by position;
- ``options`` (a JSON array for SA, PRP and MPC, a Python list for SR) become
  our list; AVE's ``attributes`` come from its JSON ``output``; QPR's
  ``relevance`` from the separately published label file (``--qpr-labels``),
  aligned by order and checked;
- one-shot rows pair each test record with the training record whose text
  their ``few_shot_example`` holds; without them, test record *i* is paired
  with training record *i*, the release's rule;
- the counts of ECInstruct proper are checked against the release card
  (92,022 / 9,253 / 9,253 / 6,000) and the report says where they differ.

Examples
--------
>>> parse_options('["A: very positive", "B: positive"]', "SA")
['A: very positive', 'B: positive']
>>> parse_options("['A: 1st item', \\"B: it's\\"]", "SR")
['A: 1st item', "B: it's"]
>>> parse_options(None, "PM")
[]
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from ecinstruct_builders.core import UNSEEN_OF
from ecinstruct_builders.locking import LOCK_NAME, lock_output

from ecinstruct_eval.release import CARD_SIZES, HUB_ID, TASK_NAMES, destination

#: The release table's columns, all read as strings (``options``, ``few_shot_example`` may be null).
COLUMNS = ("task", "setting", "split", "instruction", "input", "options", "output", "few_shot_example")
#: Longest stored ``options`` string parsed (SR's 20 items of at most 25 words are far below it).
MAX_OPTIONS_CHARS = 1 << 20
ESCI_GRADES = frozenset("ESCI")


class ReleaseImportError(ValueError):
    """The release table (or the QPR label file) cannot be imported; the message names where."""


def parse_options(stored: str | None, task: str, where: str = "") -> list[str]:
    """The release's stored ``options`` string as our list (``[]`` when null or empty).

    JSON arrays (SA, PRP, MPC) are read with ``json``, Python lists (SR) with
    ``ast.literal_eval`` (literals only, no code), both bounded in size.
    """
    if stored is None or stored == "":
        return []
    if not isinstance(stored, str) or len(stored) > MAX_OPTIONS_CHARS:
        raise ReleaseImportError(f"{where}: {task} options is not a string of at most {MAX_OPTIONS_CHARS} characters")
    try:
        value = json.loads(stored)
    except (ValueError, RecursionError):
        try:
            value = ast.literal_eval(stored)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ReleaseImportError(f"{where}: {task} options is neither a JSON array nor a Python list: "
                               f"{stored[:60]!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ReleaseImportError(f"{where}: {task} options must be a list of strings, got {stored[:60]!r}")
    return value


def _attributes(output: str) -> list[dict]:
    """AVE's gold triples from its JSON output (``[]`` when it is not such a list)."""
    try:
        value = json.loads(output)
    except (ValueError, RecursionError):
        return []
    if not isinstance(value, list):
        return []
    keys = ("attribute", "value", "source")
    return [{k: str(t.get(k, "None")) for k in keys} for t in value if isinstance(t, dict)]


def read_table(source: str | Path, *, revision: str | None = None) -> tuple[Iterator[dict], dict]:
    """Rows of the release table from a Hub id, a snapshot folder or a Parquet/JSON/JSONL file.

    Returns ``(rows, origin)``; ``origin`` names the source (and the Hub revision).
    """
    path = Path(source)
    if path.exists():
        files = _table_files(path)
        origin = {"kind": "release", "source": str(source), "files": [p.name for p in files],
                  "sha256": _sha256(files), "revision": revision}
        return _read_files(files), origin
    if "/" not in str(source) or str(source).count("/") > 1:
        raise FileNotFoundError(f"{source}: no such file or folder (nor a Hub id such as {HUB_ID})")
    try:
        import datasets

        table = datasets.load_dataset(str(source), split="train", revision=revision)
    except Exception as e:  # offline, unknown repository, no access: one sentence
        raise ConnectionError(
            f"cannot load {source} from the Hub ({type(e).__name__}); offline, download a snapshot "
            f"elsewhere (`hf download {source} --repo-type dataset --local-dir DIR`) and pass DIR"
        ) from None
    origin = {"kind": "release", "source": str(source), "revision": revision or "main",
              "fingerprint": getattr(table, "_fingerprint", None)}
    return iter(table), origin


def _table_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    for pattern in ("*.parquet", "*.jsonl", "*.json"):
        files = sorted(p for p in path.rglob(pattern) if p.is_file() and not p.name.startswith("."))
        if files:
            return files
    raise FileNotFoundError(f"{path}: no .parquet, .jsonl or .json file of the release table in this folder")


def _sha256(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in files:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _read_files(files: list[Path]) -> Iterator[dict]:
    for path in files:
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:
                pf = pq.ParquetFile(path)
                missing = [c for c in COLUMNS if c not in pf.schema_arrow.names]
                if missing:
                    raise ReleaseImportError(f"{path}: not the release table: missing column(s) {missing}")
                for batch in pf.iter_batches(columns=list(COLUMNS), batch_size=4096):
                    yield from batch.to_pylist()
            except (pa.ArrowException, OSError) as e:  # an empty, truncated or corrupt file
                raise ReleaseImportError(f"{path}: not a readable Parquet file ({' '.join(str(e).split())[:160]})") from None
        else:
            yield from _read_json(path)


def _read_json(path: Path) -> Iterator[dict]:
    """Rows of a JSON array file or a JSONL file; bad JSON or UTF-8 is one error naming the file and line."""
    from ecinstruct_eval.data import iter_jsonl, read_json

    with open(path, "rb") as f:
        head = f.read(1)
        while head and head.isspace():
            head = f.read(1)
    try:
        if head == b"[":
            yield from read_json(path)
        else:
            yield from (row for _, row in iter_jsonl(path))
    except ValueError as e:
        raise ReleaseImportError(str(e)) from None


def read_qpr_labels(path: Path) -> list[list[str]]:
    """The release's QPR test labels: per test record, the ESCI grade of each option in option order."""
    try:
        labels = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ReleaseImportError(f"{path}: cannot read the QPR label file ({e})") from None
    if not isinstance(labels, list):
        raise ReleaseImportError(f"{path}: expected a JSON list of lists of grades (E, S, C, I)")
    for i, grades in enumerate(labels):
        if not isinstance(grades, list) or not grades or not all(g in ESCI_GRADES for g in grades):
            raise ReleaseImportError(f"{path}: item {i} is {grades!r:.60}; expected a list of grades E, S, C, I")
    return labels


def _kinds() -> dict[tuple[str, str], str]:
    from ecinstruct_builders.instructions import INSTRUCTIONS

    out = {}
    for code, ins in INSTRUCTIONS.items():
        for text, kind in zip(ins.seen, ins.kinds):
            out[(code, text)] = kind
        out[(code, ins.unseen)] = "unseen"
    return out


def _record(code: str, split: str, index: int, row: dict, kinds, where: str) -> dict:
    for col in ("instruction", "input", "output"):
        if not isinstance(row.get(col), str):
            raise ReleaseImportError(f"{where}: {col!r} must be a string, got {type(row.get(col)).__name__}")
    return {
        "id": f"{code}-{split}-{index:05d}",
        "task": code,
        "split": split,
        "instruction": row["instruction"],
        "instruction_kind": kinds.get((code, row["instruction"]), "other"),
        "input": row["input"],
        "options": parse_options(row.get("options"), code, where),
        "output": row["output"],
        "category": "",
        "source_ids": [],
        "few_shot_id": "",
        "relevance": [],
        "attributes": _attributes(row["output"]) if code == "AVE" else [],
    }


def _text_key(input_: str, options: list[str], output: str) -> str:
    return json.dumps([input_, options, output])


def import_release(
    source: str | Path,
    out: str | Path,
    *,
    qpr_labels: str | Path | None = None,
    revision: str | None = None,
    log=print,
) -> dict:
    """Import the release table into the build folder ``out``; return the report written there.

    ``out`` must be empty or hold an earlier import, which is replaced; the
    folder is locked as builds lock it (:mod:`ecinstruct_builders.locking`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with lock_output(out / LOCK_NAME, out, kind="import"):
        _clear_previous_import(out)
        return _import_locked(source, out, qpr_labels=qpr_labels, revision=revision, log=log)


def _clear_previous_import(out: Path) -> None:
    """Remove an earlier import's task folders; refuse a folder that holds anything else.

    A build folder mixed with imported tasks would pass rebuilt test sets off as the release's.
    """
    from ecinstruct_builders.locking import remove_tree

    from ecinstruct_eval.tasks import TASKS

    entries = [p for p in out.iterdir() if p.name != LOCK_NAME]
    if not entries:
        return
    try:
        previous = json.loads((out / "build_report.json").read_text(encoding="utf-8"))["origin"]["kind"]
    except (OSError, ValueError, KeyError, TypeError):
        previous = None
    foreign = [p.name for p in entries if p.name not in (*TASKS, "build_report.json")]
    if previous != "release" or foreign:
        raise ReleaseImportError(f"{out} is not empty and not an earlier import ({', '.join(sorted(p.name for p in entries)[:4])}"
                                 f"{' ...' if len(entries) > 4 else ''}); import into an empty or new folder")
    for p in entries:
        if p.is_dir():
            remove_tree(p)
        else:
            p.unlink()


def _import_locked(source, out: Path, *, qpr_labels, revision, log) -> dict:
    from ecinstruct_builders.core import label_counts, write_json_atomic, write_jsonl_atomic

    from ecinstruct_eval.testsets import split_fingerprint

    rows, origin = read_table(source, revision=revision)
    kinds = _kinds()
    splits: dict[str, dict[str, list[dict]]] = {}
    extras: dict[str, dict[str, list[dict]]] = {}
    shots: dict[str, dict[str, list[dict]]] = {}
    skipped: Counter = Counter()
    read = 0
    for read, row in enumerate(rows, 1):
        where = f"{source} row {read - 1}"
        if not isinstance(row, dict):
            raise ReleaseImportError(f"{where}: expected an object with columns {list(COLUMNS)}")
        name = row.get("task")
        code = TASK_NAMES.get(name) if isinstance(name, str) else None
        if code is None:
            skipped[f"unknown task name {name!r:.40}"] += 1
            continue
        setting, split = row.get("setting"), row.get("split")
        dest = destination(setting, split) if isinstance(setting, str) and isinstance(split, str) else None
        if dest is None:
            skipped[f"no counterpart in ECInstruct: setting {row.get('setting')!r:.40} split "
                    f"{row.get('split')!r:.10}"] += 1
            continue
        bucket = {"split": splits, "extra": extras, "one_shot": shots}[dest.kind]
        items = bucket.setdefault(code, {}).setdefault(dest.name, [])
        if dest.kind == "one_shot":
            items.append({**row, "_where": where})
        else:
            items.append(_record(code, dest.name, len(items), row, kinds, where))
    used = read - sum(skipped.values())
    if not used:  # checked before anything is written: an empty import would only fail later, at export
        why = f": {read} rows read, all skipped ({', '.join(sorted(skipped))[:200]})" if read else ": no rows"
        raise ReleaseImportError(f"{source}: not the release table{why}")

    notes: dict[str, list[str]] = {}
    for code, by_split in shots.items():
        notes.setdefault(code, []).extend(_pair_one_shots(code, splits.get(code, {}), by_split))
    for code, by_split in splits.items():
        if code not in shots:
            _pair_by_position(by_split)
            notes.setdefault(code, []).append(
                "no one-shot rows: test record i is paired with training record i (the release's rule)")
    labels_origin = None
    if "QPR" in splits:
        if qpr_labels is None:
            notes.setdefault("QPR", []).append(
                "imported without relevance grades: pass --qpr-labels (the release's "
                "Query_Product_Ranking/IND_Diverse_Instruction/label.json) to score QPR")
        else:
            _attach_relevance(splits["QPR"], read_qpr_labels(Path(qpr_labels)), Path(qpr_labels))
            labels_origin = {"file": str(qpr_labels), "sha256": _sha256([Path(qpr_labels)])}

    report: dict = {"tasks": {}}
    for code in sorted(set(splits) | set(extras), key=list(TASK_NAMES.values()).index):
        task_dir = out / code
        task_rep = {"splits": {}, "labels": {}, "extras": {}, "notes": notes.get(code, []), "test_sets": {}}
        for split, recs in splits.get(code, {}).items():
            task_rep["splits"][split] = write_jsonl_atomic(task_dir / f"{split}.jsonl", recs)
            task_rep["labels"][split] = label_counts(recs)
            if split.startswith("test"):
                task_rep["test_sets"][split] = split_fingerprint(recs)
        for name, recs in extras.get(code, {}).items():
            task_rep["extras"][name] = write_jsonl_atomic(task_dir / "extra" / f"{name}.jsonl", recs)
        report["tasks"][code] = task_rep
    totals = Counter()
    for by_split in splits.values():
        for split, recs in by_split.items():
            if split in CARD_SIZES:
                totals[split] += len(recs)
    report["origin"] = {**origin, "qpr_labels": labels_origin}
    report["rows_read"], report["rows_used"], report["skipped"] = read, used, dict(sorted(skipped.items()))
    report["card_check"] = {
        split: {"card": n, "imported": totals[split]} for split, n in CARD_SIZES.items()
    }
    differ = [s for s, c in report["card_check"].items() if c["card"] != c["imported"]]
    report["card_check"]["matches"] = not differ
    if differ:
        log("import: counts differ from the release card for " + ", ".join(
            f"{s} ({report['card_check'][s]['imported']} vs {report['card_check'][s]['card']})" for s in differ))
    write_json_atomic(out / "build_report.json", report)
    log(f"import: {read} rows read, {used} used, {read - used} skipped -> {out}")
    return report


def _pair_by_position(by_split: dict[str, list[dict]]) -> None:
    train = by_split.get("train", [])
    for split, recs in by_split.items():
        for i, r in enumerate(recs):
            if split == "train":
                r["few_shot_id"] = train[(i + 1) % len(train)]["id"] if len(train) > 1 else ""
            else:
                r["few_shot_id"] = train[i % len(train)]["id"] if train else ""


def _pair_one_shots(code: str, by_split: dict[str, list[dict]], shots: dict[str, list[dict]]) -> list[str]:
    """Set ``few_shot_id`` from the one-shot rows; return notes on what could not be paired.

    A one-shot row is the test record (its input, options, output) with the
    training example in ``few_shot_example``; both are matched by text, so
    neither the rows' order nor a repeated row matters.  The unseen copies of a
    test record get its pairing.
    """
    _pair_by_position(by_split)
    train = {_text_key(r["input"], r["options"], r["output"]): r["id"] for r in by_split.get("train", [])}
    notes = []
    for split, rows in shots.items():
        tests: dict[str, list[dict]] = {}
        for rec in by_split.get(split, []):
            tests.setdefault(_text_key(rec["input"], rec["options"], rec["output"]), []).append(rec)
        unmatched = orphans = 0
        for row in rows:
            try:
                test_key = _text_key(row.get("input"), parse_options(row.get("options"), code, row["_where"]),
                                     row.get("output"))
                example = json.loads(row.get("few_shot_example") or "")
                key = _text_key(example["input"], parse_options(example.get("options"), code), example["output"])
            except (ValueError, KeyError, TypeError, RecursionError):
                raise ReleaseImportError(f"{row['_where']}: few_shot_example is not the JSON of a training "
                                         "record (input, [options,] output)") from None
            if test_key not in tests:
                orphans += 1
            elif key not in train:
                unmatched += 1
            else:
                for rec in tests[test_key]:
                    rec["few_shot_id"] = train[key]
        if orphans:
            notes.append(f"{orphans} one-shot rows of {split} match no {split} record (skipped)")
        if unmatched:
            notes.append(f"{unmatched} one-shot examples of {split} are not in the training split; "
                         "those records keep training record i")
        unseen = UNSEEN_OF.get(split)
        if unseen in by_split:
            shot_of = {r["input"]: r["few_shot_id"] for r in by_split.get(split, [])}
            for rec in by_split[unseen]:
                rec["few_shot_id"] = shot_of.get(rec["input"], rec["few_shot_id"])
    return notes


def _attach_relevance(by_split: dict[str, list[dict]], labels: list[list[str]], path: Path) -> None:
    tests = by_split.get("test", [])
    if len(labels) != len(tests):
        raise ReleaseImportError(f"{path}: {len(labels)} label lists for {len(tests)} QPR test records")
    for grades, rec in zip(labels, tests):
        try:
            n = len(json.loads(rec["input"])["product list"])
        except (ValueError, KeyError, TypeError):
            n = len(grades)
        if n != len(grades):
            raise ReleaseImportError(f"{path}: {rec['id']} lists {n} products but its labels have {len(grades)} grades")
        rec["relevance"] = list(grades)
    grades_of = {rec["input"]: rec["relevance"] for rec in tests}
    for unseen in by_split.get("test_unseen", []):
        if unseen["input"] not in grades_of:
            raise ReleaseImportError(f"{unseen['id']}: QPR unseen-instruction record whose product list is "
                                     "not a test record's; its grades cannot be taken from the label file")
        unseen["relevance"] = list(grades_of[unseen["input"]])


# --------------------------------------------------------------------------- command line


def configure_parser(parser) -> None:
    parser.add_argument("source", metavar="SOURCE",
                        help=f"the release table: a Hub id ({HUB_ID}, needs network), a local snapshot folder "
                             "of that repository, or a Parquet / JSON / JSONL file of the table")
    parser.add_argument("--out", type=Path, required=True, metavar="BUILD_DIR",
                        help="build folder to write (the layout of `ecinstruct build`)")
    parser.add_argument("--qpr-labels", type=Path, default=None, metavar="FILE",
                        help="the release's QPR test labels (label.json: the ESCI grade of every option)")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of SOURCE")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only errors")


def run(args) -> int:
    from ecinstruct_builders.locking import OutputLocked

    from ecinstruct_dataset.cli import one_line

    log = (lambda _m: None) if args.quiet else print
    try:
        import_release(args.source, args.out, qpr_labels=args.qpr_labels, revision=args.revision, log=log)
    except (ReleaseImportError, OutputLocked, OSError, ValueError, KeyError, TypeError, RecursionError) as e:
        print(f"ecinstruct import: {one_line(e)}", file=sys.stderr)
        return 2
    return 0
