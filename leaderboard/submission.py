"""Leaderboard submissions: the file format, its metadata header and validation.

A submission is untrusted input.  It is one UTF-8 JSONL file per model, one
line per test item::

    {"task": "SR", "split": "test", "id": "SR-test-00012", "prediction": "B"}

covering every id of the 16 required test sets (the IND ``test`` split of the
ten tasks and the ``test_ood`` split of the six tasks that have one); the
unseen-instruction sets (``test_unseen``, ``test_ood_unseen``) are optional,
but complete when present.  Beside it lies a small metadata header file,
``NAME.meta.json`` for ``NAME.jsonl``::

    {"model": "my-model-7B", "base_model": "mistralai/Mistral-7B-Instruct-v0.2",
     "parameters": "7B", "shots": 0, "date": "2024-05-01", "link": "https://..."}

:func:`validate_submission` reads the whole file once, streaming, with memory
bounded by the size of the test sets (not of the file), and reports every
problem with its line number.  Only ``json`` is used to read it: nothing is
unpickled, imported or executed.

Examples
--------
>>> p = Problem("sub.jsonl", 3, "prediction must be a string, got null")
>>> str(p)
'sub.jsonl:3: prediction must be a string, got null'
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecinstruct_eval.tasks import TASKS, TEST_SPLITS

__all__ = [
    "FIELDS",
    "META_FIELDS",
    "DEFAULT_LIMITS",
    "Limits",
    "Problem",
    "SubmissionError",
    "ValidationReport",
    "iter_submission",
    "meta_path_for",
    "read_metadata",
    "required_sets",
    "safe_filename",
    "validate_metadata",
    "validate_submission",
    "write_submission",
]

#: Keys of every submission line, in the order :func:`write_submission` writes them.
FIELDS = ("task", "split", "id", "prediction")
#: Keys of the metadata header: name -> (required, description).
META_FIELDS: dict[str, tuple[bool, str]] = {
    "model": (True, "display name on the board (letters, digits, space and ._+:()- only)"),
    "base_model": (True, "the model it was tuned from, e.g. a Hub id, or \"\""),
    "parameters": (True, "parameter count, e.g. \"7B\" (ASCII) or 7000000000"),
    "shots": (True, "in-context examples per prompt (0 or 1 in the paper)"),
    "date": (True, "ISO date of the predictions, YYYY-MM-DD, 2000-01-01 to tomorrow"),
    "link": (True, "http(s) URL of the model or paper (no quotes, angle brackets or spaces), or \"\""),
    "notes": (False, "free text"),
}
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+:()\-]{0,79}")
_ID = re.compile(r"[\w.\-]{1,200}")


@dataclass(frozen=True)
class Limits:
    """Size limits for untrusted submissions (bytes and characters)."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_line_bytes: int = 1024 * 1024
    max_prediction_chars: int = 64 * 1024
    max_meta_bytes: int = 64 * 1024
    #: Problems listed one by one; the rest are counted.
    max_problems: int = 200


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission: file, 1-based line (0 = the whole file), message.

    >>> str(Problem("sub.jsonl", 0, "file is empty"))
    'sub.jsonl: file is empty'
    """

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ValidationReport:
    """What :func:`validate_submission` found."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    n_more_problems: int = 0
    n_lines: int = 0
    #: Well-formed lines of tasks left out by ``tasks=`` (not checked further).
    n_skipped: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    metadata: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.n_more_problems

    def summary(self) -> str:
        if self.ok:
            sets = ", ".join(f"{t}/{s}={n}" for (t, s), n in sorted(self.counts.items()))
            skipped = f"; {self.n_skipped} lines of other tasks skipped" if self.n_skipped else ""
            return f"{self.path}: valid, {sum(self.counts.values())} predictions ({sets}){skipped}"
        lines = [str(p) for p in self.problems]
        if self.n_more_problems:
            lines.append(f"{self.path}: ... and {self.n_more_problems} more problems")
        total = len(self.problems) + self.n_more_problems
        lines.append(f"{self.path}: INVALID, {total} problem(s); nothing was scored")
        return "\n".join(lines)


class SubmissionError(ValueError):
    """Raised when an invalid submission would be used; carries the report."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.summary())


class _Collector:
    def __init__(self, report: ValidationReport, limit: int):
        self.report, self.limit = report, limit

    def add(self, path: str, line: int, message: str) -> None:
        if len(self.report.problems) < self.limit:
            self.report.problems.append(Problem(str(path), line, message))
        else:
            self.report.n_more_problems += 1


def required_sets(tasks: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """The (task, split) sets every submission must cover: IND test + OOD test.

    >>> len(required_sets())
    16
    """
    codes = list(TASKS) if tasks is None else [TASKS[t].code for t in tasks]
    out = [(c, "test") for c in codes]
    out += [(c, "test_ood") for c in codes if TASKS[c].has_ood]
    return out


def meta_path_for(submission: str | os.PathLike) -> Path:
    """The metadata header beside ``submission``: ``NAME.jsonl`` -> ``NAME.meta.json``.

    >>> meta_path_for("runs/my-model.jsonl").as_posix()
    'runs/my-model.meta.json'
    """
    p = Path(submission)
    stem = p.name[: -len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(stem + ".meta.json")


def safe_filename(name: str) -> str:
    """A file-name stem derived from a model name; never a path.

    >>> safe_filename("../../etc/passwd")
    'etc_passwd'
    >>> safe_filename("baseline:lexical")
    'baseline_lexical'
    """
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._")
    return stem[:80] or "model"


# ----------------------------------------------------------------------------- metadata


#: Earliest metadata ``date`` accepted (ECInstruct's models postdate it by decades).
MIN_DATE = _dt.date(2000, 1, 1)
#: Largest integer ``parameters`` accepted (a quadrillion).
MAX_PARAMETERS = 10**15
#: JSON integers in a metadata header may have at most this many digits; longer ones are refused
#: before they are converted.
MAX_INT_DIGITS = 18
_PARAMETERS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?[KMBT]?|unknown", re.I)
_LINK_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]{1,500}")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9\-.]{0,251}[a-z0-9])?|[0-9a-f:.]{2,45}")  # urlsplit's hostname


def max_date() -> _dt.date:
    """Latest metadata ``date`` accepted: tomorrow (a day of slack for time zones)."""
    return _dt.date.today() + _dt.timedelta(days=1)


def model_name_ok(name: object) -> bool:
    """Whether ``name`` may be shown on the board as a model name.

    1-80 characters of letters, digits, space and ``._+:()-``, starting with a
    letter or digit (so never with ``=``, ``+``, ``-``, ``@``, whitespace or a
    control character), no ``..``; matched whole (a trailing newline fails).

    >>> model_name_ok("eCeLLM-L (7B)"), model_name_ok("evil-model\\n"), model_name_ok("=1+2")
    (True, False, False)
    """
    return isinstance(name, str) and _MODEL_NAME.fullmatch(name) is not None and ".." not in name


def link_ok(link: object) -> bool:
    """Whether ``link`` is a plain ``http(s)`` URL safe to store and show.

    At most 500 ASCII characters of RFC 3986 (percent-encode the rest), no
    quote, apostrophe, angle bracket, backslash, space or control character;
    scheme ``http`` or ``https`` and a host name.

    >>> link_ok("https://example.org/m?a=1#x"), link_ok('https://x.example/"><img src=x>')
    (True, False)
    >>> link_ok("javascript:alert(1)"), link_ok("https:///path")
    (False, False)
    """
    if not isinstance(link, str) or not link.isascii() or not _LINK_CHARS.fullmatch(link):
        return False
    try:
        parts = urllib.parse.urlsplit(link)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme in ("http", "https") and link.startswith(parts.scheme + "://")
            and _HOST.fullmatch(host) is not None)


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 4,000-digit integer is not printed whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def metadata_problems(meta: Mapping, *, required: bool = True) -> list[tuple[str | None, str]]:
    """``(key or None, message)`` for each problem of a metadata header object.

    With ``required=False`` missing and unknown keys are not problems (a
    results file's copy of the header is checked so).
    """
    out: list[tuple[str | None, str]] = []
    if required:
        for key, (req, desc) in META_FIELDS.items():
            if req and key not in meta:
                out.append((key, f"metadata is missing {key!r} ({desc})"))
        for key in meta:
            if key not in META_FIELDS:
                out.append((None, f"unknown metadata key {_shown(key, 40)}; known keys: {', '.join(META_FIELDS)}"))
    if "model" in meta and not model_name_ok(meta["model"]):
        out.append(("model",
                    f"model name {_shown(meta['model'])} is not allowed: 1-80 characters, letters, digits, "
                    "space and ._+:()- only, starting with a letter or digit, no '..' and no path separators"))
    for key in ("base_model", "link", "notes"):
        if key in meta and not isinstance(meta[key], str):
            out.append((key, f"{key} must be a string, got {type(meta[key]).__name__}"))
    if isinstance(meta.get("base_model"), str) and len(meta["base_model"]) > 200:
        out.append(("base_model", "base_model is longer than 200 characters"))
    if isinstance(meta.get("notes"), str) and len(meta["notes"]) > 2000:
        out.append(("notes", "notes are longer than 2000 characters"))
    if "parameters" in meta:
        p = meta["parameters"]
        ok = _int_in(p, 1, MAX_PARAMETERS) or (
            isinstance(p, str) and p.isascii() and _PARAMETERS.fullmatch(p) is not None)
        if not ok:
            out.append(("parameters", "parameters must be a positive integer up to 10**15 or an ASCII string "
                        f"like \"7B\" or \"unknown\", got {_shown(p)}"))
    if "shots" in meta and not _int_in(meta["shots"], 0, 100):
        out.append(("shots", f"shots must be an integer between 0 and 100, got {_shown(meta['shots'])}"))
    if "date" in meta:
        d = meta["date"]
        try:
            if not isinstance(d, str) or not d.isascii() or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", d):
                raise ValueError
            day = _dt.date.fromisoformat(d)
        except ValueError:
            out.append(("date", f"date must be an ISO date YYYY-MM-DD, got {_shown(d)}"))
        else:
            if not MIN_DATE <= day <= max_date():
                out.append(("date", f"date must be an ISO date YYYY-MM-DD between {MIN_DATE.isoformat()} "
                            f"and tomorrow, got {d!r}"))
    link = meta.get("link")
    if isinstance(link, str) and link and not link_ok(link):
        out.append(("link", "link must be an http(s) URL (no quotes, angle brackets, spaces or control "
                    f"characters; percent-encode them) or \"\", got {_shown(link)}"))
    return out


def validate_metadata(meta: object, *, path: str = "<metadata>") -> list[Problem]:
    """Problems with a metadata header object (empty list = valid).

    Rules (see :data:`META_FIELDS`): the model name by :func:`model_name_ok`,
    the link by :func:`link_ok`, ``date`` a real day from :data:`MIN_DATE` to
    tomorrow, ``parameters`` a positive integer up to :data:`MAX_PARAMETERS`
    or an ASCII string like ``"7B"`` (full-width digits are refused),
    ``shots`` 0-100.
    """
    if not isinstance(meta, dict):
        return [Problem(path, 0, f"metadata must be a JSON object, got {type(meta).__name__}")]
    return [Problem(path, 0, msg) for _, msg in metadata_problems(meta)]


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits is too large (at most {MAX_INT_DIGITS})")
    return int(text)


def read_metadata(path: str | os.PathLike, *, limits: Limits = DEFAULT_LIMITS) -> tuple[dict | None, list[Problem]]:
    """Read and check a metadata header file; return ``(metadata or None, problems)``."""
    path = Path(path)
    if not path.is_file():
        return None, [
            Problem(str(path), 0, "metadata header file not found; write NAME.meta.json beside "
                    "NAME.jsonl (keys: " + ", ".join(k for k, (r, _) in META_FIELDS.items() if r) + ")")
        ]
    size = path.stat().st_size
    if size > limits.max_meta_bytes:
        return None, [Problem(str(path), 0, f"metadata file is {size} bytes, over the limit of {limits.max_meta_bytes}")]
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"), parse_constant=reject_constant,
                          parse_int=_bounded_int, object_pairs_hook=no_duplicate_keys)
    except UnicodeDecodeError as e:
        return None, [Problem(str(path), 0, f"metadata is not UTF-8 ({e.reason} at byte {e.start})")]
    except (ValueError, RecursionError) as e:
        line = getattr(e, "lineno", 0)
        return None, [Problem(str(path), line, f"metadata is not valid JSON: {_json_msg(e)}")]
    problems = validate_metadata(meta, path=str(path))
    return (meta if not problems else None), problems


# ----------------------------------------------------------------------------- lines


def reject_constant(name: str):
    """``json.loads`` hook: NaN and Infinity are not JSON (untrusted files must not carry them)."""
    raise ValueError(f"{name} is not valid JSON (write null for a missing value)")


def no_duplicate_keys(pairs):
    """``json.loads`` hook: a repeated key is an error, not a silent overwrite."""
    seen = {}
    for k, v in pairs:
        if k in seen:
            shown = repr(k) if len(k) <= 40 else repr(k[:37]) + "..."
            raise ValueError(f"duplicate key {shown}")
        seen[k] = v
    return seen


def _json_msg(e: Exception) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return getattr(e, "msg", None) or str(e)


_SKIP_BLOCK = 4 * 1024 * 1024


def _iter_raw_lines(fh, max_line_bytes: int) -> Iterator[tuple[int, bytes, bool, bool]]:
    """Yield ``(lineno, raw bytes, had_newline, too_long)`` with bounded memory.

    For a line over ``max_line_bytes`` only its first ``max_line_bytes + 1``
    bytes are yielded (``too_long`` true); the rest is skipped unread into memory.
    """
    lineno = 0
    while True:
        chunk = fh.readline(max_line_bytes + 1)
        if not chunk:
            return
        lineno += 1
        if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
            # Skip the rest of the over-long line in fixed-size blocks, never holding it.
            while True:
                start = fh.tell()
                block = fh.read(_SKIP_BLOCK)
                if not block:
                    break
                i = block.find(b"\n")
                if i >= 0:
                    fh.seek(start + i + 1)
                    break
            yield lineno, chunk, True, True
            continue
        yield lineno, chunk, chunk.endswith(b"\n"), False


_KEY_VALUE = {k: re.compile(rb'"' + k.encode() + rb'"\s*:\s*"([\w.\-]{1,200})"') for k in ("task", "split", "id")}


def _key_of_refused(raw: bytes, obj: object = None) -> tuple[str, str, str] | None:
    """``(task, split, id)`` of a refused line when it still names them, else ``None``.

    Lets a line that is reported (too long, bad keys, bad prediction) count as
    that item's line, so the item is not reported a second time as missing.

    >>> _key_of_refused(b'{"task": "SR", "split": "test", "id": "SR-test-00001", "prediction": nul')
    ('SR', 'test', 'SR-test-00001')
    """
    if isinstance(obj, dict):
        vals = [obj.get(k) for k in ("task", "split", "id")]
        if all(isinstance(v, str) for v in vals):
            return vals[0], vals[1], vals[2]
        return None
    found = []
    for k in ("task", "split", "id"):
        m = _KEY_VALUE[k].search(raw)
        if not m:
            return None
        found.append(m.group(1).decode("ascii", "replace"))
    return found[0], found[1], found[2]


def _check_line(obj: object) -> str | None:
    """Shape problems of one parsed line, or ``None``."""
    if not isinstance(obj, dict):
        return f"each line must be a JSON object, got {type(obj).__name__}"
    missing = [k for k in FIELDS if k not in obj]
    extra = [k for k in obj if k not in FIELDS]
    if missing:
        return f"missing key(s) {', '.join(map(repr, missing))}; each line needs {', '.join(FIELDS)}"
    if extra:
        shown = ", ".join(repr(k[:40]) for k in extra[:5])
        return f"unknown key(s) {shown}; each line has exactly {', '.join(FIELDS)}"
    for k in ("task", "split", "id"):
        if not isinstance(obj[k], str):
            return f"{k} must be a string, got {type(obj[k]).__name__}"
    if not isinstance(obj["prediction"], str):
        kind = "null" if obj["prediction"] is None else type(obj["prediction"]).__name__
        return f"prediction must be a string, got {kind} (write \"\" for an empty output)"
    return None


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word.upper(), choices, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _default_loader(task: str, split: str, location) -> list[dict]:
    from ecinstruct_eval.data import load_split

    return load_split(task, split, location)


IdLoader = Callable[[str, str, object], Iterable[Mapping]]


def validate_submission(
    path: str | os.PathLike,
    *,
    location: str | os.PathLike | None = None,
    tasks: Iterable[str] | None = None,
    meta_path: str | os.PathLike | None = None,
    require_metadata: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    loader: IdLoader | None = None,
) -> ValidationReport:
    """Check a whole submission file (and its metadata header) before anything is scored.

    Parameters
    ----------
    path : path-like
        The submission JSONL.
    location : path-like or str, optional
        Where the reference test sets live (build folder, export folder or Hub
        id); default ``$ECINSTRUCT_DATA``.
    tasks : iterable of str, optional
        Restrict the evaluation to these tasks (default: all ten).  Lines of
        other tasks are checked for shape only and counted in
        ``report.n_skipped``.
    meta_path : path-like, optional
        Metadata header; default :func:`meta_path_for` ``(path)``.
    require_metadata : bool
        Whether a missing header is a problem.
    limits : Limits
        Size limits.
    loader : callable, optional
        ``loader(task, split, location) -> records`` giving the reference ids;
        default :func:`ecinstruct_eval.data.load_split`.

    Returns
    -------
    ValidationReport
        ``report.ok`` is true only if there is no problem at all.

    Examples
    --------
    >>> report = validate_submission("subm.jsonl", location="build")  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    subm.jsonl:7: duplicate id 'SR-test-00003' (first on line 5)
    """
    path = Path(path)
    report = ValidationReport(path=str(path))
    col = _Collector(report, limits.max_problems)
    load = loader or _default_loader
    selected = list(TASKS) if tasks is None else [TASKS[t].code for t in tasks]

    mpath = Path(meta_path) if meta_path is not None else meta_path_for(path)
    if require_metadata or mpath.exists():
        meta, mprobs = read_metadata(mpath, limits=limits)
        for p in mprobs:
            col.add(p.path, p.line, p.message)
        report.metadata = meta

    if not path.is_file():
        col.add(str(path), 0, "submission file not found")
        return report
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        col.add(str(path), 0, f"file is {size} bytes, over the limit of {limits.max_file_bytes} bytes; nothing was read")
        return report
    if size == 0:
        col.add(str(path), 0, "file is empty")

    # id -> line, per set: 0 = not seen yet, n > 0 = accepted on line n, n < 0 = refused
    # on line -n (reported there, so not reported again as missing).  Memory is bounded
    # by the reference sets.
    expected: dict[tuple[str, str], dict[str, int] | None] = {}
    load_errors: dict[str, list[str]] = {}  # message -> sets it keeps from being checked

    def reference(task: str, split: str) -> dict[str, int] | None:
        key = (task, split)
        if key not in expected:
            try:
                expected[key] = {str(r["id"]): 0 for r in load(task, split, location)}
            except Exception as e:  # the loader's message says how to point at data
                expected[key] = None
                load_errors.setdefault(f"{type(e).__name__}: {e}", []).append(f"{task}/{split}")
        return expected[key]

    for task, split in required_sets(selected):
        reference(task, split)

    def refused(lineno: int, message: str, raw: bytes, obj: object = None) -> None:
        col.add(str(path), lineno, message)
        key = _key_of_refused(raw, obj)
        if key is None or key[0] not in selected or key[1] not in TASKS[key[0]].test_splits:
            return
        ids = reference(key[0], key[1])
        if ids is not None and ids.get(key[2]) == 0:
            ids[key[2]] = -lineno

    with open(path, "rb") as fh:
        for lineno, raw, had_nl, too_long in _iter_raw_lines(fh, limits.max_line_bytes):
            report.n_lines = lineno
            if too_long:
                refused(lineno, f"line is longer than {limits.max_line_bytes} bytes", raw)
                continue
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                refused(lineno, "file starts with a UTF-8 byte order mark; save it without BOM", raw)
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                refused(lineno, f"not valid UTF-8 ({e.reason} at byte {e.start} of the line)", raw)
                continue
            if not text.strip():
                if had_nl or text:
                    col.add(str(path), lineno, "empty line")
                continue
            try:
                obj = json.loads(text, parse_constant=reject_constant, object_pairs_hook=no_duplicate_keys)
            except (ValueError, RecursionError) as e:
                refused(lineno, f"not valid JSON: {_json_msg(e)}", raw)
                continue
            msg = _check_line(obj)
            if msg:
                refused(lineno, msg, raw, obj)
                continue
            task, split, item_id, pred = obj["task"], obj["split"], obj["id"], obj["prediction"]
            if task not in TASKS or TASKS[task].code != task:
                col.add(str(path), lineno, f"unknown task {task[:40]!r}{_suggest(task, list(TASKS))} "
                        f"Known tasks: {', '.join(TASKS)}")
                continue
            if task not in selected:
                report.n_skipped += 1
                continue
            spec = TASKS[task]
            if split not in spec.test_splits:
                why = " (not a test split)" if split in spec.splits else ""
                if split in TEST_SPLITS and split not in spec.test_splits:
                    why = f" ({task} has no out-of-domain test set)"
                col.add(str(path), lineno, f"unknown split {split[:40]!r} for {task}{why}; "
                        f"test splits: {', '.join(spec.test_splits)}")
                continue
            if not _ID.fullmatch(item_id):
                col.add(str(path), lineno, f"malformed id {item_id[:60]!r}")
                continue
            ids = reference(task, split)
            first = None if ids is None else ids.get(item_id)
            if ids is not None and first is None:
                col.add(str(path), lineno, f"unknown id {item_id!r} for {task}/{split}")
                continue
            if first:
                col.add(str(path), lineno, f"duplicate id {item_id!r} for {task}/{split} (first on line {abs(first)})")
                continue
            try:
                pred.encode("utf-8")
            except UnicodeEncodeError:
                refused(lineno, "prediction holds an unpaired surrogate escape (\\ud800-\\udfff), "
                        "which is not valid Unicode text", raw, obj)
                continue
            if len(pred) > limits.max_prediction_chars:
                refused(lineno, f"prediction is {len(pred)} characters, over the limit of "
                        f"{limits.max_prediction_chars}", raw, obj)
                continue
            if ids is None:
                continue  # reported once below
            ids[item_id] = lineno
            report.counts[(task, split)] = report.counts.get((task, split), 0) + 1

    for message, sets in load_errors.items():
        col.add(str(path), 0, f"cannot check {', '.join(sets)}: {message}")
    for (task, split), ids in expected.items():
        required = (task, split) in required_sets(selected)
        if ids is None:
            continue
        if not required and (task, split) not in report.counts and all(v == 0 for v in ids.values()):
            continue
        missing = [i for i, first in ids.items() if not first]
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            what = "required test set" if required else "optional test set, complete when present"
            col.add(str(path), 0, f"{task}/{split}: {len(missing)} of {len(ids)} ids missing ({what}): {shown}")
    return report


def iter_submission(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the lines of an already validated submission as dicts.

    Lines end at ``\\n`` only, as :func:`validate_submission` reads them: a
    raw ``\\r`` is JSON whitespace inside a line, where text mode would split.
    """
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line.decode("utf-8"))


def write_submission(
    path: str | os.PathLike, rows: Iterable[Mapping], metadata: Mapping | None = None
) -> int:
    """Write submission lines (keys :data:`FIELDS`) and, if given, the metadata header.

    Returns the number of lines written.  Output is byte-stable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if metadata is not None:
        problems = validate_metadata(dict(metadata), path=str(meta_path_for(path)))
        if problems:
            raise ValueError("\n".join(map(str, problems)))
        meta_path_for(path).write_text(json.dumps(dict(metadata), indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for r in rows:
                fh.write(json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False))
                fh.write("\n")
                n += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
