"""What every task module shares: the canonical record, instruction and
one-shot assignment, ids, and atomic, deterministic writing.

A task module follows the official release's processing (its random draws and
text forms are in :mod:`ecinstruct_builders.release`) and returns :class:`Example`
objects per split (``train``, ``validation``, ``test`` and, where the task has
one, ``test_ood``) in the release's order and size.  :func:`finalize` turns
them into canonical records: it gives each record an id and an instruction
drawn as the release drew them (its seed-1 stream over the diverse pool),
points its ``few_shot_id`` at a training record (test item *i* uses training
item *i*, as the release pairs them), and adds the unseen-instruction copies of
the test sets (``test_unseen``, ``test_ood_unseen``).

The rest is what task modules build on:

- :class:`BuildConfig` (seed, sizes, categories and options per task,
  ``fix_defects``, JSON config files) and :class:`TaskReport` (rows read,
  rows dropped and why, steps that differ from the release, its defects);
- :func:`find_source` / :func:`open_text` / :func:`iter_json_lines`: locate a
  raw file (compressed or not, any depth) with one clear error naming the
  expected path, and stream it, counting malformed lines instead of failing;
- seeded, order-independent helpers for sources laid out unlike the release's
  (no split files): :func:`stable_hash`, :func:`assign_split`, :class:`BottomK`;
- :func:`remove_overlap` (``fix_defects``: evaluation samples seen in
  training), :func:`clean_text`, :func:`clean_title`.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import heapq
import io
import itertools
import json
import lzma
import math
import os
import random
import resource
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Field order of a canonical record.  Every task writes every field.
RECORD_FIELDS = (
    "id",
    "task",
    "split",
    "instruction",
    "instruction_kind",
    "input",
    "options",
    "output",
    "category",
    "source_ids",
    "few_shot_id",
    "relevance",
    "attributes",
)

#: Splits a task module may return; the unseen copies are made by finalize.
BASE_SPLITS = ("train", "validation", "test", "test_ood")
UNSEEN_OF = {"test": "test_unseen", "test_ood": "test_ood_unseen"}


@dataclass
class Example:
    """One task sample before instructions and ids are attached.

    ``options`` hold the lettered option strings exactly as the prompt shows
    them (``"A: very positive"``); ``relevance`` is QPR's ESCI grade of every
    option in option order; ``attributes`` are AVE's gold
    ``{"attribute", "value", "source"}`` triples.
    """

    input: str
    output: str
    options: list[str] = field(default_factory=list)
    category: str = ""
    source_ids: list[str] = field(default_factory=list)
    relevance: list[str] = field(default_factory=list)
    attributes: list[dict] = field(default_factory=list)


def task_rng(seed: int, task: str, purpose: str = "") -> random.Random:
    """A ``random.Random`` seeded from (seed, task, purpose): independent streams per task."""
    return random.Random(f"{seed}/{task}/{purpose}")


def record_id(task: str, split: str, index: int) -> str:
    return f"{task}-{split}-{index:05d}"


def finalize(
    task: str,
    examples: Mapping[str, Sequence[Example]],
    *,
    seed: int = 1,
    stream_start: int = 0,
) -> dict[str, list[dict]]:
    """Turn per-split examples into canonical records, instructions drawn as the release drew them.

    The release's diverse pass (RELEASED_FORMAT.md §1.5): ``random.seed(1)``,
    one ``randrange(5)`` for the unseen instruction, then one ``randrange(5)``
    per record over the IND files (in :data:`ecinstruct_builders.release.DIVERSE_FILE_ORDER`)
    and then the OOD test file, each picking from the diverse pool: the four
    generated seen instructions followed by the seed instruction.
    ``stream_start`` is the number of draws other tasks made on the same
    stream before this task's unseen draw (MPC and PSI follow QPR there).
    The unseen instruction itself is data (:mod:`ecinstruct_builders.instructions`).

    Test item *i* (IND or OOD) gets training item *i* as its one-shot example,
    as the release pairs them; training item *i* gets item *i + 1*.  The
    unseen copies (``test_unseen``, ``test_ood_unseen``) are the test records
    with the unseen instruction.
    """
    from ecinstruct_builders.instructions import INSTRUCTIONS
    from ecinstruct_builders.release import DIVERSE_FILE_ORDER, py_rng

    unknown = set(examples) - set(BASE_SPLITS)
    if unknown:
        raise ValueError(f"{task}: unknown split(s) {sorted(unknown)}; expected {BASE_SPLITS}")
    seen, unseen = INSTRUCTIONS[task].seen, INSTRUCTIONS[task].unseen
    pool = [(seen[k], f"generated_{k}") for k in range(1, len(seen))] + [(seen[0], "seed")]
    rng = py_rng(seed)
    for _ in range(stream_start + 1):  # other tasks' draws, then the unseen instruction's
        rng.randrange(len(pool))
    draws = {split: [pool[rng.randrange(len(pool))] for _ in examples.get(split, ())]
             for split in (*DIVERSE_FILE_ORDER, "test_ood")}
    train_ids = [record_id(task, "train", i) for i in range(len(examples.get("train", ())))]
    out: dict[str, list[dict]] = {}
    for split in BASE_SPLITS:
        if split not in examples:
            continue
        records = []
        for i, ex in enumerate(examples[split]):
            if split == "train":
                shot = train_ids[(i + 1) % len(train_ids)] if len(train_ids) > 1 else ""
            else:
                shot = train_ids[i % len(train_ids)] if train_ids else ""
            instruction, kind = draws[split][i]
            records.append(_record(task, split, i, instruction, kind, ex, shot))
        out[split] = records
        if split in UNSEEN_OF:
            u = UNSEEN_OF[split]
            out[u] = [
                {**r, "id": record_id(task, u, i), "split": u, "instruction": unseen,
                 "instruction_kind": "unseen"}
                for i, r in enumerate(records)
            ]
    return out


def _record(task, split, i, instruction, kind, ex: Example, few_shot_id: str) -> dict:
    return {
        "id": record_id(task, split, i),
        "task": task,
        "split": split,
        "instruction": instruction,
        "instruction_kind": kind,
        "input": ex.input,
        "options": list(ex.options),
        "output": ex.output,
        "category": ex.category,
        "source_ids": [str(s) for s in ex.source_ids],
        "few_shot_id": few_shot_id,
        "relevance": list(ex.relevance),
        "attributes": [dict(a) for a in ex.attributes],
    }


def dumps_record(record: Mapping) -> str:
    """One JSONL line, fields in :data:`RECORD_FIELDS` order (byte-stable)."""
    return json.dumps({k: record[k] for k in RECORD_FIELDS}, ensure_ascii=False)


def write_jsonl_atomic(path: Path, records: Iterable[Mapping]) -> int:
    """Write records to ``path`` via a temporary file and ``os.replace``; return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    n = 0
    try:
        _chmod_default(tmp)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for r in records:
                f.write(dumps_record(r))
                f.write("\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def _chmod_default(path: str) -> None:
    """Give a ``mkstemp`` file (created 0600) the permissions a plain ``open`` would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def read_jsonl(path: Path) -> list[dict]:
    """Read a written split back (errors name the file and line)."""
    from ecinstruct_eval.data import read_jsonl as _read

    return _read(path)


#: Table A3 sizes: train / validation / test / test_ood.  PM keeps everything.
PAPER_SIZES = {"train": 10_000, "validation": 1_000, "test": 1_000, "test_ood": 1_000}

#: The paper's 8:1:1 split of raw data into train / validation / test (Appendix A, Data Split).
SPLIT_RATIOS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))


@dataclass
class BuildConfig:
    """Settings of one build, shared by every task module.

    ``categories`` maps a task code to ``{"ind": [...], "ood": [...]}`` source
    category names (file-name spelling, e.g. ``"Electronics"``); tasks fall
    back to the paper's categories when a task is absent.  ``sizes`` is
    ``"paper"`` (Table A3), ``"all"`` (keep everything) or an int cap applied
    to every split (train is multiplied by 10, as in the paper's 10:1:1).
    ``options`` holds task-specific knobs, ``{"SA": {"max_reviews_per_category":
    200000}}``; a task reads them with :meth:`option`.

    Examples
    --------
    >>> cfg = BuildConfig(sources=Path("src"), out=Path("out"), sizes=50)
    >>> cfg.size("train"), cfg.size("test_ood")
    (500, 50)
    >>> cfg.categories_for("SA", ind=["Electronics"], ood=["Tools"])
    (['Electronics'], ['Tools'])
    """

    sources: Path
    out: Path
    seed: int = 1
    sizes: str | int = "paper"
    categories: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Apply our fixes of the release's known defects (evaluation records
    #: that repeat a training record's text, duplicates inside a split are
    #: removed).  Off by default: a build reproduces the release.
    fix_defects: bool = False
    #: Extra fraction a task module may sample beyond each target (unused by
    #: the release's procedures, which take exact sizes).
    oversample: float = field(default=0.0, repr=False)

    def __post_init__(self):
        self.sources = Path(self.sources)
        self.out = Path(self.out)
        if isinstance(self.sizes, str) and self.sizes not in ("paper", "all"):
            try:
                self.sizes = int(self.sizes)
            except ValueError:
                raise ValueError(f"sizes must be 'paper', 'all' or an integer, got {self.sizes!r}") from None
        if isinstance(self.sizes, int) and self.sizes < 1:
            raise ValueError(f"sizes must be a positive integer, got {self.sizes}")

    def size(self, split: str) -> int | None:
        """How many examples a task module samples for ``split`` (``None``: keep everything).

        This is :meth:`target` plus the :attr:`oversample` margin, so that
        the pipeline can still fill every split to its target after it
        removes duplicates and train/test overlaps.

        >>> cfg = BuildConfig(sources=Path("src"), out=Path("out"), sizes=50, oversample=0.25)
        >>> cfg.target("test"), cfg.size("test")
        (50, 67)
        """
        n = self.target(split)
        if n is None or not self.oversample:
            return n
        return n + math.ceil(n * self.oversample) + 4

    def target(self, split: str) -> int | None:
        """Target size of ``split`` in the written build (``None``: keep everything)."""
        if self.sizes == "paper":
            return PAPER_SIZES[split]
        if self.sizes == "all":
            return None
        n = int(self.sizes)
        return n * 10 if split == "train" else n

    def categories_for(self, task: str, *, ind: Sequence[str], ood: Sequence[str]) -> tuple[list[str], list[str]]:
        """IND and OOD categories of ``task``: the configured ones, else the given defaults.

        Raises
        ------
        ValueError
            If a category is both IND and OOD (the OOD test would be in-domain).

        Examples
        --------
        >>> cfg = BuildConfig(sources=Path("s"), out=Path("o"), categories={"SA": {"ind": ["A", "B"], "ood": ["B"]}})
        >>> cfg.categories_for("SA", ind=[], ood=[])
        Traceback (most recent call last):
        ...
        ValueError: SA: categories ['B'] are both IND and OOD
        """
        conf = self.categories.get(task.upper(), {})
        ind, ood = list(conf.get("ind", ind)), list(conf.get("ood", ood))
        both = set(ind) & set(ood)
        if both:
            raise ValueError(f"{task.upper()}: categories {sorted(both)} are both IND and OOD")
        return ind, ood

    def option(self, task: str, name: str, default: Any = None) -> Any:
        """A task-specific option (``options[TASK][name]``), else ``default``."""
        return self.options.get(task.upper(), {}).get(name, default)

    def task_fingerprint(self, task: str) -> dict:
        """What decides a task's output besides the source files (for resume)."""
        task = task.upper()
        return {
            "task": task,
            "seed": self.seed,
            "sizes": self.sizes,
            "categories": self.categories.get(task, {}),
            # the ESCI tasks share their prepared rows (one language filter) and one instruction stream
            "options": ({k: self.options.get(k, {}) for k in ("ESCI", "MPC", "PSI", "QPR")}
                        if task in ("MPC", "PSI", "QPR") else self.options.get(task, {})),
            "fix_defects": self.fix_defects,
        }

    @classmethod
    def from_file(cls, path: Path, **overrides: Any) -> BuildConfig:
        """Read a JSON build config (``seed``, ``sizes``, ``categories``, ``options``).

        ``sources``/``out`` in the file are resolved against the file's folder;
        ``overrides`` that are not ``None`` win over the file.
        """
        path = Path(path)
        try:
            conf = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        known = {"seed", "sizes", "categories", "options", "sources", "out", "description", "fix_defects"}
        unknown = set(conf) - known
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; expected {sorted(known)}")
        conf.pop("description", None)
        for key in ("sources", "out"):
            if key in conf:
                conf[key] = (path.parent / conf[key]).resolve()
        conf["categories"] = {k.upper(): v for k, v in conf.get("categories", {}).items()}
        conf["options"] = {k.upper(): v for k, v in conf.get("options", {}).items()}
        conf.update({k: v for k, v in overrides.items() if v is not None})
        missing = {"sources", "out"} - set(conf)
        if missing:
            raise ValueError(f"{path}: no {' or '.join(sorted(missing))} given (in the file or on the command line)")
        return cls(**conf)


@dataclass
class TaskReport:
    """What one task's build did: filled by the task module, written to build_report.json.

    ``rows_read`` counts input rows per source file, ``dropped`` counts rows
    left out per reason (malformed lines included), ``skipped`` counts valid
    rows left out by design per reason (another category or locale, not
    sampled because the split was full), ``rows_used`` counts the rows behind
    the written examples (unseen copies aside), so that for the files a task
    takes its examples from (not lookup tables such as ESCI's products)
    rows read = ``rows_used`` + dropped + skipped; ``labels`` holds the label
    distribution (of ``output``) per split and ``splits`` the split sizes (the
    pipeline sets both from the records it writes), ``breakdowns`` holds
    further per-split tallies by name (the pipeline adds ``"category"``; a task
    module adds its own with :meth:`tally_splits` and ``by=``),
    ``elapsed_s`` the task's wall time and ``peak_rss_mb`` the process's peak
    resident memory while the task was built (the count restarts per task on
    Linux, see :func:`reset_peak_rss`; memory already resident, such as
    imported libraries, is included).
    """

    task: str
    rows_read: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    rows_used: int = 0
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    breakdowns: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Steps of this build that differ from the release's processing, and why.
    release_differences: list[str] = field(default_factory=list)
    #: The release's known defects in this build: ``fixed`` (whether
    #: ``fix_defects`` removed them) and, per evaluation split, how many
    #: records repeat the text (input and options) of a training record.
    release_defects: dict[str, Any] = field(default_factory=dict)
    #: Per test split, ``{"n", "sha256"}`` of its records (:func:`ecinstruct_eval.testsets.split_fingerprint`).
    test_sets: dict[str, dict] = field(default_factory=dict)
    elapsed_s: float = 0.0
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    #: Key function of every named breakdown, so the pipeline can recount it on the final splits.
    breakdown_keys: dict[str, Callable[[Example], str]] = field(default_factory=dict, repr=False, compare=False)

    def read(self, source: str, n: int = 1) -> None:
        self.rows_read[source] = self.rows_read.get(source, 0) + n

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` valid rows left out by design (another category or locale, over the target size)."""
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def differs(self, text: str) -> None:
        """Record a step that differs from the release's processing (and why)."""
        if text not in self.release_differences:
            self.release_differences.append(text)

    def tally_splits(
        self,
        splits: Mapping[str, Sequence[Example]],
        key: Callable[[Example], str] = lambda ex: ex.output,
        *,
        by: str | None = None,
    ) -> None:
        """Tally ``key`` of every example per split, and fill :attr:`splits`.

        Without ``by`` the tallies go to :attr:`labels`; with ``by`` they go to
        ``breakdowns[by]`` and ``key`` is kept, so the pipeline recounts them on
        the splits it finally writes (after overlap removal, unseen copies
        included) instead of replacing them.

        >>> report = TaskReport("PSI")
        >>> report.tally_splits({"test": [Example("a", "yes"), Example("b", "no"), Example("c", "yes")]})
        >>> report.labels, report.splits
        ({'test': {'no': 1, 'yes': 2}}, {'test': 3})
        >>> report.tally_splits({"test": [Example("a", "yes", category="Toys")]}, lambda ex: ex.category,
        ...                     by="category")
        >>> report.breakdowns
        {'category': {'test': {'Toys': 1}}}
        """
        for name, exs in splits.items():
            counts = tally(key(ex) for ex in exs)
            if by is None:
                self.labels[name] = counts
            else:
                self.breakdowns.setdefault(by, {})[name] = counts
            self.splits[name] = len(exs)
        if by is not None:
            self.breakdown_keys[by] = key

    def recount_breakdowns(self, splits: Mapping[str, Sequence[Example]]) -> None:
        """Recount every breakdown recorded with ``by=`` on ``splits`` (the unseen copies count as their test set).

        >>> report = TaskReport("QPR")
        >>> report.tally_splits({"test": [Example("a", "A, B", relevance=["E", "I"])] * 2},
        ...                     lambda ex: f"{len(ex.relevance)} products", by="list_size")
        >>> report.recount_breakdowns({"test": [Example("a", "A, B", relevance=["E", "I"])]})
        >>> report.breakdowns["list_size"]
        {'test': {'2 products': 1}, 'test_unseen': {'2 products': 1}}
        """
        for by, key in self.breakdown_keys.items():
            counts = {}
            for name, exs in splits.items():
                counts[name] = tally(key(ex) for ex in exs)
                if name in UNSEEN_OF:
                    counts[UNSEEN_OF[name]] = counts[name]
            self.breakdowns[by] = counts

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["breakdown_keys"]
        d["rows_read"] = dict(sorted(self.rows_read.items()))
        d["dropped"] = dict(sorted(self.dropped.items()))
        d["skipped"] = dict(sorted(self.skipped.items()))
        d["elapsed_s"] = round(self.elapsed_s, 3)
        d["peak_rss_mb"] = round(self.peak_rss_mb, 1)
        return d


# --------------------------------------------------------------------------- sources


class MissingSourceError(FileNotFoundError):
    """A raw source file a task needs is not in the sources folder."""


class SourcesFolderError(MissingSourceError):
    """The sources folder itself does not exist or is not a folder."""


class SourceError(ValueError):
    """A raw source file that is empty, truncated, corrupt or not in its format; the message is one
    line naming the file and the problem."""


#: What a damaged compressed stream raises while it is read (bz2 and gzip's CRC check raise OSError).
_DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError)
#: The first bytes of each compressed format, by suffix.
_MAGIC = {".gz": (b"\x1f\x8b", "gzip"), ".bz2": (b"BZh", "bzip2"), ".xz": (b"\xfd7zXZ\x00", "xz")}


def check_source_file(path: Path, *, full: bool = False) -> None:
    """Raise :class:`SourceError` when ``path`` is empty, not in the compression its suffix names,
    or (Parquet) has no readable footer.  Cheap: the header, and a Parquet file's footer.

    A truncation inside a compressed stream shows only when it is read; :func:`open_binary`
    reports it then, naming the file, before the task writes anything.  ``full`` reads a
    compressed file to its end now (its CRC checked), at the cost of one more pass.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "meta_X.json.gz"
    >>> _ = bad.write_bytes(b"not gzip")
    >>> check_source_file(bad)
    Traceback (most recent call last):
    ...
    ecinstruct_builders.core.SourceError: ...meta_X.json.gz: not a gzip file (it starts with b'not gzip')
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0:
            raise SourceError(f"{path}: the file is empty")
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror or e})") from None
    magic = _MAGIC.get(path.suffix)
    if magic is not None and not head.startswith(magic[0]):
        raise SourceError(f"{path}: not a {magic[1]} file (it starts with {head!r})")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            pq.read_metadata(path)
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError for a bad footer
            raise SourceError(f"{path}: not a readable Parquet file ({' '.join(str(e).split())[:160]})") from None
    if magic is not None:
        with open_binary(path) as f:
            # the first line decompresses: a bad header or first block shows here, and so does
            # a valid stream of nothing (``gzip -c /dev/null``), empty like a zero-byte file
            if not f.read(1):
                raise SourceError(f"{path}: the file is empty (it decompresses to nothing)")
            if full:
                while f.read(1 << 20):
                    pass


class _CheckedStream:
    """A binary line stream whose decompression errors become one-line :class:`SourceError` naming the file."""

    def __init__(self, f, path: Path):
        self._f, self.path = f, path
        # ecinstruct_builders.progress.raw_position reads the compressed position from here
        self.fileobj = getattr(f, "fileobj", None) or getattr(f, "_fp", None) or f

    def _damaged(self, e: BaseException) -> SourceError:
        what = "truncated" if isinstance(e, EOFError) else "corrupt"
        return SourceError(f"{self.path}: {what} compressed data ({' '.join(str(e).split()) or type(e).__name__})")

    def __iter__(self):
        it = iter(self._f)
        while True:
            try:
                line = next(it)
            except StopIteration:
                return
            except _DAMAGED as e:
                raise self._damaged(e) from None
            yield line

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except _DAMAGED as e:
            raise self._damaged(e) from None

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _name_variants(name: str) -> list[str]:
    base = name
    for suffix in (".gz", ".bz2", ".xz"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return [base, base + ".gz", base + ".bz2", base + ".xz"]


def find_source(
    sources: Path, source: str, names: Sequence[str], *, task: str = "", required: bool = True
) -> Path | None:
    """Locate a raw file of ``source`` under ``sources/<source>/`` (any depth, compressed or not).

    ``names`` are alternatives in order of preference; the first that exists
    wins.  When none exists and ``required``, raise :class:`MissingSourceError`
    naming the expected path and where to download it; else return ``None``.

    Examples
    --------
    >>> find_source(Path("/nonexistent"), "amazon_review_2018", ["meta_Tools.json.gz"], required=False) is None
    True
    """
    root = Path(sources) / source
    if root.is_dir():
        for name in names:
            for variant in _name_variants(name):
                direct = root / variant
                if direct.is_file():
                    return direct
                hits = sorted(p for p in root.rglob(variant) if p.is_file())
                if hits:
                    return hits[0]
    if not required:
        return None
    from ecinstruct_builders.sources import download_hint

    who = f"{task} needs " if task else "missing "
    alts = "" if len(names) == 1 else " (or " + ", ".join(names[1:]) + ")"
    raise MissingSourceError(
        f"{who}{source} file {names[0]}{alts}: expected at {root / names[0]}. "
        + download_hint(source, names[0])
    )


def open_text(path: Path, *, encoding: str = "utf-8", errors: str = "replace", newline: str | None = None):
    """Open a text file that may be gzip/bz2/xz compressed (chosen by suffix) for streaming."""
    path = Path(path)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix)
    if opener is None:
        return open(path, encoding=encoding, errors=errors, newline=newline)
    return io.TextIOWrapper(opener(path, "rb"), encoding=encoding, errors=errors, newline=newline)


def open_binary(path: Path):
    """Open a file that may be gzip/bz2/xz compressed (chosen by suffix) for binary streaming.

    A truncated or corrupt compressed stream raises :class:`SourceError` naming the file.
    """
    path = Path(path)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix)
    if opener is None:
        return open(path, "rb")
    return _CheckedStream(opener(path, "rb"), path)


def iter_json_lines(
    path: Path, report: TaskReport | None = None, *, label: str | None = None, limit: int | None = None,
    parse: Callable[[str], Any] = json.loads, max_lines: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Stream ``(line_number, parsed)`` from a JSON-lines file, skipping and counting bad lines.

    Blank lines are ignored; every other line counts in ``report.rows_read``;
    lines that are not valid UTF-8 are counted in
    ``report.dropped["<label>: bad encoding"]`` and lines that fail ``parse``
    in ``report.dropped["<label>: malformed line"]``.  ``limit`` stops after
    that many parsed rows, ``max_lines`` after that many lines of the file
    (blank and bad ones included: the release's SA reads a file's first
    200,000 lines).  ``parse`` may read any one-record-per-line format
    (the 2014 metadata's Python literals, the 2018 ratings CSV).
    """
    from ecinstruct_builders import progress

    label = label or Path(path).name
    n = bad = undecodable = 0
    tracker = progress.track(label, total=_file_size(path))
    every = progress.EVERY  # local: this loop runs once per line of multi-GB files
    try:
        with open_binary(path) as f:
            for lineno, raw in enumerate(f if max_lines is None else itertools.islice(f, max_lines), 1):
                if not lineno & every:
                    tracker.update(n, progress.raw_position(f))
                if raw.isspace() or not raw:
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    undecodable += 1
                    continue
                try:
                    obj = parse(line)
                except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
                    bad += 1
                    continue
                n += 1
                yield lineno, obj
                if limit is not None and n >= limit:
                    return
    finally:
        tracker.close(n)
        # Counted once at the end (also when the consumer stops early): cheaper than per line.
        if report is not None:
            if n + bad + undecodable:  # a bad line was read too: rows read = used + dropped + skipped
                report.read(label, n + bad + undecodable)
            if bad:
                report.drop(f"{label}: malformed line", bad)
            if undecodable:
                report.drop(f"{label}: bad encoding", undecodable)


def _file_size(path: Path) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


# --------------------------------------------------------------------------- sampling


def stable_hash(*parts: Any) -> int:
    """A 64-bit hash of ``parts`` that is the same in every process and on every machine.

    Python's ``hash`` of strings is salted per process, so it cannot decide
    splits or samples.

    >>> stable_hash(1, "SA", "x") == stable_hash(1, "SA", "x")
    True
    """
    data = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def unit_hash(*parts: Any) -> float:
    """:func:`stable_hash` mapped to [0, 1)."""
    return stable_hash(*parts) / 2.0**64


def assign_split(*parts: Any, ratios: Sequence[tuple[str, float]] = SPLIT_RATIOS) -> str:
    """The split of an item keyed by ``parts``, drawn by hash with the given ratios (8:1:1).

    Keying by content (e.g. a review's text) sends identical items to the same
    split, so no train/test overlap can arise from duplicates.

    >>> assign_split(1, "SA", "great product") in ("train", "validation", "test")
    True
    """
    u = unit_hash("split", *parts)
    acc = 0.0
    for name, r in ratios:
        acc += r
        if u < acc:
            return name
    return ratios[-1][0]


class BottomK:
    """Keep the ``k`` items with the smallest hash keys seen in a stream (``k=None``: keep all).

    This is a uniform random sample of the distinct keys that does not depend
    on the order of the stream and holds at most ``k`` items, whatever the
    input size.  An item whose key is already held is ignored (deduplication).

    >>> b = BottomK(2)
    >>> for word in ["a", "b", "c", "a"]:
    ...     _ = b.offer(stable_hash("demo", word), word)
    >>> len(b), sorted(b.items()) == sorted(set(b.items()))
    (2, True)
    """

    def __init__(self, k: int | None):
        self.k = k
        self._heap: list[tuple[int, int]] = []  # (-key, tiebreak) for a max-heap
        self._items: dict[int, Any] = {}
        self.offered = 0
        #: Offers ignored because their key was held (duplicates) and items pushed out by smaller keys.
        self.duplicates = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._items)

    def would_keep(self, key: int) -> bool:
        """Whether an item with ``key`` would enter now (cheap pre-check before building it)."""
        if key in self._items:
            return False
        return self.k is None or len(self._items) < self.k or key < -self._heap[0][0]

    def offer(self, key: int, item: Any) -> bool:
        """Offer ``item`` under ``key``; return whether it is held now."""
        self.offered += 1
        if key in self._items:
            self.duplicates += 1
            return False
        if not self.would_keep(key):
            return False
        self._items[key] = item
        if self.k is None:
            return True
        heapq.heappush(self._heap, (-key, key))
        if len(self._items) > self.k:
            _, evicted = heapq.heappop(self._heap)
            del self._items[evicted]
            self.evicted += 1
        return True

    def get(self, key: int, default: Any = None) -> Any:
        return self._items.get(key, default)

    @property
    def not_sampled(self) -> int:
        """Offers that are not held now, duplicates aside (rejected or evicted as over the target size)."""
        return self.offered - self.duplicates - len(self._items)

    def items(self) -> list[Any]:
        """Held items in key order (a deterministic random order)."""
        return [self._items[k] for k in sorted(self._items)]


def interleave(groups: Sequence[Sequence[Any]], n: int | None) -> list[Any]:
    """Combine per-category lists 1:1:... by round robin, up to ``n`` items.

    When a category runs out, the others fill the remainder, so the result has
    ``min(n, total)`` items.

    >>> interleave([[1, 2, 3], ["a"], ["x", "y"]], 5)
    [1, 'a', 'x', 2, 'y']
    """
    out: list[Any] = []
    its = [iter(g) for g in groups]
    while its and (n is None or len(out) < n):
        alive = []
        for it in its:
            if n is not None and len(out) >= n:
                break
            try:
                out.append(next(it))
                alive.append(it)
            except StopIteration:
                pass
        else:
            its = alive
            continue
        break
    return out


#: The ``skipped`` reason of valid rows left out because their split was already full.
NOT_SAMPLED = "not sampled (over target size)"


def take(groups: Sequence[Sequence[Any]], n: int | None, report: TaskReport | None = None) -> list[Any]:
    """:func:`interleave` ``groups`` up to ``n`` items, counting the items left over as :data:`NOT_SAMPLED`.

    >>> report = TaskReport("SA")
    >>> take([[1, 2, 3], ["a"]], 3, report), report.skipped
    ([1, 'a', 2], {'not sampled (over target size)': 1})
    """
    out = interleave(groups, n)
    if report is not None:
        report.skip(NOT_SAMPLED, sum(len(g) for g in groups) - len(out))
    return out


def overlap_key(ex: Example) -> str:
    """What makes two examples the same sample: input and options, whitespace and case folded."""
    text = " ".join(ex.input.split()).lower() + "\x1e" + "\x1f".join(" ".join(o.split()).lower() for o in ex.options)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def remove_overlap(
    splits: Mapping[str, list[Example]],
    report: TaskReport | None = None,
    *,
    rows: Callable[[Example], int] = lambda ex: 1,
) -> dict[str, list[Example]]:
    """Quality control (1) of Section 3.3: drop evaluation examples that also occur in training.

    An example of ``validation``/``test``/``test_ood`` whose input and
    options equal a training example's is removed (counted in the report);
    duplicates inside one split are removed too.  ``rows`` gives how many
    source rows an example stands for (QPR: its products), so the report
    counts dropped rows.
    """
    out: dict[str, list[Example]] = {}
    train_keys: set[str] = set()
    for split in BASE_SPLITS:
        if split not in splits:
            continue
        seen: set[str] = set()
        kept = []
        for ex in splits[split]:
            key = overlap_key(ex)
            if key in seen:
                if report is not None:
                    report.drop(f"duplicate within {split}", rows(ex))
                continue
            if split != "train" and key in train_keys:
                if report is not None:
                    report.drop(f"{split} overlaps train", rows(ex))
                continue
            seen.add(key)
            kept.append(ex)
        if split == "train":
            train_keys = seen
        out[split] = kept
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``.  ``getrusage``'s ``ru_maxrss``
    (the fallback) survives ``exec``, so a process started by a big parent
    would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0  # Linux and BSD report KiB (macOS bytes: only the fallback)


def reset_peak_rss() -> bool:
    """Restart the peak-memory count (Linux ``/proc/self/clear_refs``), so each task reports its own peak.

    Returns ``False`` where that is not possible; :func:`peak_rss_mb` is then the process's peak so far.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def tally(keys: Iterable[str]) -> dict[str, int]:
    """How often each key occurs, keys sorted (the shape of :attr:`TaskReport.labels`).

    >>> tally(["yes", "no", "yes"])
    {'no': 1, 'yes': 2}
    """
    return dict(sorted(Counter(keys).items()))


def label_counts(records: Iterable[Mapping]) -> dict[str, int]:
    """Distribution of ``output`` over records (AVE: positives vs. negatives by gold values)."""
    return tally(_label_key(r) for r in records)


def _label_key(record: Mapping) -> str:
    if record.get("attributes"):
        return "positive" if any(a.get("value") != "None" for a in record["attributes"]) else "negative"
    return record["output"] if len(record["output"]) <= 40 else "<text>"


def clean_text(text: str) -> str:
    """Quality control (3) of Section 3.3: HTML removed, folded to ASCII, whitespace normalised.

    >>> clean_text("Caf&eacute; <b>table</b>  \u2013 oak")
    'Cafe table - oak'
    """
    from ecinstruct_builders.text import clean_html, normalise_ws, to_ascii

    return normalise_ws(to_ascii(clean_html(text)))


def ensure_period(text: str) -> str:
    """``text`` ending in a full stop, unless it already ends in punctuation."""
    return text if not text or text[-1] in ".!?" else text + "."


def shuffled(items: list, seed: int, task: str, purpose: str) -> list:
    """``items`` shuffled in place by the seeded stream (seed, task, purpose); returned for chaining."""
    task_rng(seed, task, purpose).shuffle(items)
    return items


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON via a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        _chmod_default(tmp)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_title(raw: Any) -> str:
    """A product title after quality control, or ``""`` when it is unusable.

    Some metadata titles are page-scraping debris (an unclosed ``<span ...``
    tag, JavaScript with ``getTime``); such titles count as missing.

    >>> clean_title('<span class="a-size-medium a-color-secondary"')
    ''
    >>> clean_title(" Amazon.com $50 Gift Cards &amp; more ")
    'Amazon.com $50 Gift Cards & more'
    """
    if not isinstance(raw, str) or "getTime" in raw:
        return ""
    text = clean_text(raw)
    if "<" in text or ">" in text or "{" in text:
        return ""
    return text
