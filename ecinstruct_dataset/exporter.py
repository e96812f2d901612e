"""Export a build folder as a Hub-ready dataset folder (Parquet shards + card).

Layout of the exported folder::

    README.md                                  the card: YAML ``configs:`` + ``dataset_info:``
    <TASK>/<split>-00000-of-00001.parquet      one or more shards per task and split

The per-task configs point at their task's shards; ``all`` (the default
config) points at the ``train`` and ``validation`` shards of every task, so the
mix costs no extra bytes.  The folder holds no ``.py`` file: current
``datasets`` refuses dataset scripts.  Same build, same options -> the same
bytes.

Examples
--------
>>> from ecinstruct_dataset import export
>>> result = export("build", "hub")                           # doctest: +SKIP
>>> from datasets import load_dataset
>>> load_dataset("hub", "SR", split="test_ood")               # doctest: +SKIP
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from ecinstruct_builders.locking import lock_output, remove_tree

from ecinstruct_dataset.build_dir import REPORT_NAME, BuildFolder
from ecinstruct_dataset.configs import CONFIGS, DEFAULT_CONFIG
from ecinstruct_dataset.licences import LICENCE_FILE, licence_file
from ecinstruct_dataset.schema import ARROW_SCHEMA, records_to_table

#: Largest shard, in bytes of Arrow data (what ``datasets`` measures too).
DEFAULT_MAX_SHARD_SIZE = "200MB"
#: A row group ends at this many rows ...
ROW_GROUP_ROWS = 1000
#: ... or once its records reach this many bytes of JSON, so that the dataset
#: viewer, which reads whole row groups, fetches little to show a page.
ROW_GROUP_BYTES = 16 * 2**20
#: Parquet writer settings.  The page index lets readers (and the viewer) seek
#: rows; content-defined chunking (pyarrow >= 21, the options ``datasets`` uses)
#: lets the Hub's Xet storage deduplicate pages when a re-export changes few rows.
PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    write_page_index=True,
    write_statistics=True,
)
if int(pa.__version__.split(".")[0]) >= 21:
    PARQUET_OPTIONS["use_content_defined_chunking"] = {
        "min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0,
    }


@dataclass
class SplitFiles:
    """The shards of one task split and what they hold."""

    files: list[str]
    num_examples: int
    num_bytes: int
    download_size: int


@dataclass
class ExportResult:
    """What :func:`export` wrote.

    ``splits[task][split]`` describes the shards of one task split;
    ``config_files(name)`` maps each split of a config to its shard paths
    (relative to ``out``).
    """

    out: Path
    splits: dict[str, dict[str, SplitFiles]] = field(default_factory=dict)
    #: per task: its first record (the card's example) and its instructions by kind
    examples: dict[str, dict] = field(default_factory=dict)
    instructions: dict[str, dict[str, str]] = field(default_factory=dict)
    #: build settings recorded in build_report.json (``seed``, ``sizes``)
    settings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: per task and split: how many records have each ``category`` (what the build used)
    categories: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    #: per task and split: the attribute names of the records' gold triples (AVE)
    attribute_names: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    #: where the build came from (``build_report.json``'s ``origin``: a rebuild or the release)
    origin: dict = field(default_factory=dict)
    #: per task: ``differences`` (steps that differ from the release's processing) and
    #: ``defects`` (the release's repeats, and whether they were removed), from the build report
    release: dict[str, dict] = field(default_factory=dict)
    _ids: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def _observe(self, records: Iterable[dict]) -> Iterator[dict]:
        """Pass records through, noting each task's first record, its instructions and categories.

        Also checks that ids are unique across a task's splits (the files are
        checked one by one when read).
        """
        for r in records:
            cats = self.categories.setdefault(r["task"], {}).setdefault(r["split"], {})
            cats[r["category"]] = cats.get(r["category"], 0) + 1
            if r["attributes"]:
                self.attribute_names.setdefault(r["task"], {}).setdefault(r["split"], set()).update(
                    a["attribute"] for a in r["attributes"]
                )
            ids = self._ids.setdefault(r["task"], {})
            if ids.setdefault(r["id"], r["split"]) != r["split"]:
                raise ValueError(
                    f"{r['task']}: id {r['id']!r} occurs in both {ids[r['id']]} and {r['split']}"
                )
            self.examples.setdefault(r["task"], r)
            kinds = self.instructions.setdefault(r["task"], {})
            known = kinds.setdefault(r["instruction_kind"], r["instruction"])
            if known != r["instruction"]:
                raise ValueError(
                    f"{r['task']}: record {r['id']!r} has another {r['instruction_kind']} "
                    f"instruction than earlier records ({r['instruction']!r:.60} vs {known!r:.60})"
                )
            yield r

    def config_splits(self, name: str) -> dict[str, list[tuple[str, SplitFiles]]]:
        """``{split: [(task, SplitFiles), ...]}`` of config ``name``, splits absent from the build left out."""
        spec = CONFIGS[name]
        out: dict[str, list[tuple[str, SplitFiles]]] = {}
        for split in spec.splits:
            parts = [(t, self.splits[t][split]) for t in spec.tasks if split in self.splits.get(t, {})]
            if parts:
                out[split] = parts
        return out

    def config_files(self, name: str) -> dict[str, list[str]]:
        return {
            split: [f for _, sf in parts for f in sf.files]
            for split, parts in self.config_splits(name).items()
        }

    @property
    def configs(self) -> tuple[str, ...]:
        """Configs with at least one split, the default first, then the paper's task order."""
        names = [DEFAULT_CONFIG] + [n for n in CONFIGS if n != DEFAULT_CONFIG]
        return tuple(n for n in names if self.config_splits(n))

    def counts(self) -> dict[str, dict[str, int]]:
        return {t: {s: sf.num_examples for s, sf in splits.items()} for t, splits in self.splits.items()}


def parse_size(size: int | str) -> int:
    """``"200MB"`` -> 200_000_000 (as ``datasets`` reads sizes); ints pass through."""
    from datasets.utils.py_utils import convert_file_size_to_int

    n = convert_file_size_to_int(size)
    if n <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return n


def _approx_bytes(record: dict) -> int:
    """Rough size of a record: its long texts (the other fields are short in every task)."""
    return (len(record["instruction"]) + len(record["input"]) + len(record["output"])
            + sum(map(len, record["options"])))


def _row_groups(records: Iterable[dict], max_rows: int, max_bytes: int) -> Iterator[list[dict]]:
    """Batch records into row groups of at most ``max_rows`` rows or about ``max_bytes`` bytes."""
    batch: list[dict] = []
    size = 0
    for r in records:
        batch.append(r)
        size += _approx_bytes(r)
        if len(batch) >= max_rows or size >= max_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _write_split(
    records: Iterable[dict], task: str, split: str, root: Path, *, max_shard_bytes: int,
    row_group_rows: int, row_group_bytes: int,
) -> SplitFiles:
    """Write one task split as Parquet shards under ``root/<task>/``; name them ``-of-N`` at the end."""
    folder = root / task
    folder.mkdir(parents=True, exist_ok=True)
    tmp_names: list[Path] = []
    writer = None
    shard_bytes = num_examples = num_bytes = 0

    def open_shard():
        path = folder / f".{split}-{len(tmp_names):05d}.parquet.tmp"
        tmp_names.append(path)
        return pq.ParquetWriter(path, ARROW_SCHEMA, **PARQUET_OPTIONS)

    for group in _row_groups(records, row_group_rows, row_group_bytes):
        table = records_to_table(group)
        if writer is not None and shard_bytes and shard_bytes + table.nbytes > max_shard_bytes:
            writer.close()
            writer, shard_bytes = None, 0
        if writer is None:
            writer = open_shard()
        writer.write_table(table, row_group_size=table.num_rows)
        shard_bytes += table.nbytes
        num_bytes += table.nbytes
        num_examples += table.num_rows
    if writer is None:
        raise ValueError(f"{task}/{split}: no records to export")
    writer.close()

    n = len(tmp_names)
    files, download_size = [], 0
    for i, tmp in enumerate(tmp_names):
        final = folder / f"{split}-{i:05d}-of-{n:05d}.parquet"
        os.replace(tmp, final)
        files.append(final.relative_to(root).as_posix())
        download_size += final.stat().st_size
    return SplitFiles(files, num_examples, num_bytes, download_size)


def _check_out_dir(out: Path) -> None:
    """Refuse to replace a folder that is not a previous export (data loss guard)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    foreign = [
        p.relative_to(out).as_posix()
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and p.relative_to(out).as_posix() not in ("README.md", ".gitattributes", REPORT_NAME, LICENCE_FILE)
        and not (p.suffix == ".parquet" and p.parent.name in CONFIGS)
    ]
    if foreign:
        raise FileExistsError(
            f"refusing to overwrite {out}: it holds files an export does not write "
            f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); choose an empty "
            "or new --out folder"
        )


# --- replacing the export: one writer, an atomic swap, recovery after a kill ---------------------
#
# Beside ``out`` (same folder, so same file system) an export uses:
#   .NAME.ecinstruct.lock      the lock (ecinstruct_builders.locking) every export of NAME holds while it writes
#   .NAME.staging-XXXX.tmp     the new export while it is written; after the swap, the old one
#                              while it is deleted
#   .NAME.old-PID              fallback only: the complete previous export between two renames
# With the lock held no other export of NAME is running, so each ``.tmp`` is a killed run's
# leftover, and a ``.NAME.old-PID`` is a complete export a kill kept from being replaced.

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
#: ``.NAME.XXXXXXXX.tmp`` is the staging folder's name before this scheme
_LEFTOVER = r"^\.{name}\.(?:staging-)?[A-Za-z0-9_]+\.tmp$"
_OLD = r"^\.{name}\.old-\d+$"


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.ecinstruct.lock"


def _load_renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap paths ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns ``False`` when the system or file system cannot, so the caller falls back.
    """
    if _renameat2 is None:
        return False
    import ctypes

    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _siblings(out: Path, pattern: str) -> list[Path]:
    rx = re.compile(pattern.format(name=re.escape(out.name)))
    try:
        return sorted(p for p in out.parent.iterdir() if rx.match(p.name))
    except FileNotFoundError:
        return []


def _recover(out: Path) -> None:
    """Undo what a killed export left beside ``out`` (call with the lock held).

    A missing ``out`` next to a ``.NAME.old-PID`` was killed between the fallback's two
    renames: the old export is complete and is put back.  Then every leftover goes.
    """
    olds = _siblings(out, _OLD)
    if olds and not os.path.lexists(out):
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        os.rename(newest, out)
        olds.remove(newest)
    for p in olds + _siblings(out, _LEFTOVER):
        remove_tree(p)


def _swap_in(staging: Path, out: Path) -> None:
    """Make the complete export ``staging`` the folder ``out``; afterwards ``staging`` holds the old one.

    ``out`` always names a complete export: the old one, then the new one.  Where the file
    system cannot exchange two paths in one step, ``out`` is renamed aside first and
    is missing until the second rename; a kill in that window leaves ``.NAME.old-PID``,
    which the next export (or :func:`recover_export`) restores.
    """
    if not os.path.lexists(out):
        os.rename(staging, out)
        return
    if _rename_exchange(staging, out):
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    os.rename(old, staging)


def recover_export(out_dir: str | os.PathLike, *, wait: float = 0.0) -> None:
    """Put back the previous export a killed ``export`` may have left renamed aside; remove leftovers.

    :func:`export` does this first anyway; this is for a folder that must load now.
    Raises :class:`~ecinstruct_builders.locking.OutputLocked` while another export writes ``out_dir``.
    """
    out = Path(out_dir)
    if not out.parent.is_dir():
        return
    with lock_output(_lock_path(out), out, kind="export", wait=wait):
        _recover(out)


def export(
    build_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    row_group_rows: int = ROW_GROUP_ROWS,
    repo_id: str | None = None,
    card_template: str | os.PathLike | None = None,
    wait: float = 0.0,
) -> ExportResult:
    """Write the Hub-ready folder of a build: Parquet shards per config and split, and the card.

    Parameters
    ----------
    build_dir : path
        A folder written by ``ecinstruct build`` (``<TASK>/<split>.jsonl`` + ``build_report.json``).
    out_dir : path
        The folder to write; replaced atomically if it holds a previous export, refused if
        it holds anything else.
    max_shard_size : int or str, default "200MB"
        Largest shard, in Arrow bytes (``"500MB"``, ``"1GB"``, or an int).
    row_group_rows : int, default 1000
        Rows per Parquet row group (fewer when rows are long).
    repo_id : str, optional
        Hub id the card's examples load from (``"user/ECInstruct"``); a placeholder if omitted.
    card_template : path, optional
        The card template; default ``dataset_card.md`` of the repository.
    wait : float, default 0
        Seconds to wait while another export writes ``out_dir`` (its lock
        ``.NAME.ecinstruct.lock`` beside it); then :class:`~ecinstruct_builders.locking.OutputLocked`.

    Returns
    -------
    ExportResult

    Raises
    ------
    ValueError
        When the records break the canonical schema (the message names file, line and id)
        or disagree with ``build_report.json``.
    OutputLocked
        When another export holds ``out_dir`` (one-line message naming its pid).

    Notes
    -----
    The new export is written beside ``out_dir`` and swapped in by renaming, so a kill at
    any point leaves ``out_dir`` the complete old export or the complete new one (on file
    systems without an atomic exchange, see :func:`_swap_in`); leftovers of killed
    exports are removed by the next one.

    Examples
    --------
    >>> res = export("build", "hub", max_shard_size="100MB")   # doctest: +SKIP
    >>> res.config_files("SR")["test_ood"]                     # doctest: +SKIP
    ['SR/test_ood-00000-of-00001.parquet']
    """
    build = BuildFolder(build_dir)
    build.check_report()
    out = Path(out_dir)
    max_shard_bytes = parse_size(max_shard_size)
    if row_group_rows < 1:
        raise ValueError(f"row_group_rows must be >= 1, got {row_group_rows}")

    out.parent.mkdir(parents=True, exist_ok=True)
    with lock_output(_lock_path(out), out, kind="export", wait=wait):
        _recover(out)
        _check_out_dir(out)
        result = _write_and_swap(build, out, max_shard_bytes=max_shard_bytes, row_group_rows=row_group_rows,
                                 repo_id=repo_id, card_template=card_template)
    return result


def _write_and_swap(build: BuildFolder, out: Path, *, max_shard_bytes: int, row_group_rows: int,
                    repo_id: str | None, card_template) -> ExportResult:
    """Write the export into a staging folder beside ``out``, swap it in, delete the old one."""
    from ecinstruct_dataset.card import render_card

    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-", suffix=".tmp"))
    try:
        result = ExportResult(out=out)
        report = build.report or {}
        result.settings = {k: report[k] for k in ("seed", "sizes") if k in report}
        result.origin = dict(report.get("origin") or {})
        for task, rep in report.get("tasks", {}).items():
            if task in build.tasks:
                result.release[task] = {"differences": list(rep.get("release_differences", [])),
                                        "defects": dict(rep.get("release_defects", {}))}
        if report:
            # the build report travels with the data: it names the test sets' origin and fingerprints
            shutil.copyfile(build.path / REPORT_NAME, staging / REPORT_NAME)
        for task in build.tasks:
            missing = build.missing_splits(task)
            if missing:
                result.notes.append(f"{task}: the build has no {', '.join(missing)}")
            # an empty split is left out: datasets cannot read a Parquet file without rows
            empty = [s for s in build.splits(task) if build.count(task, s) == 0]
            if empty:
                result.notes.append(f"{task}: {', '.join(empty)} empty in the build, left out")
            result.splits[task] = {
                split: _write_split(
                    result._observe(build.iter_records(task, split)), task, split, staging,
                    max_shard_bytes=max_shard_bytes, row_group_rows=row_group_rows,
                    row_group_bytes=ROW_GROUP_BYTES,
                )
                for split in build.splits(task) if split not in empty
            }
        card = render_card(result, repo_id=repo_id, template=card_template)
        (staging / "README.md").write_text(card, encoding="utf-8", newline="\n")
        (staging / LICENCE_FILE).write_text(licence_file(), encoding="utf-8", newline="\n")
        staging.chmod(0o755)
        _swap_in(staging, out)
    finally:
        remove_tree(staging)  # the old export after the swap, the unfinished new one before
    return result


def loaded_split_sizes(
    folder: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None
) -> dict[str, dict[str, int]]:
    """Open every config of an exported folder with ``datasets.load_dataset``; return its rows per split.

    This is what a user of the folder sees, so it doubles as the export's end-to-end
    check: ``load_dataset`` also verifies each split's size against the card's
    ``dataset_info``.

    Examples
    --------
    >>> loaded_split_sizes("hub")["SR"]["test_ood"]            # doctest: +SKIP
    1000
    """
    from datasets import get_dataset_config_names, load_dataset

    folder = str(Path(folder).resolve())
    cache = None if cache_dir is None else str(cache_dir)
    return {
        name: {split: d.num_rows for split, d in load_dataset(folder, name, cache_dir=cache).items()}
        for name in get_dataset_config_names(folder)
    }

