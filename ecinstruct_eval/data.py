"""Read ECInstruct splits and prediction files.

One loader for everybody: :func:`load_split` reads a task's split from a
build folder (``BUILD/<TASK>/<split>.jsonl``), an exported Hub folder or a Hub
id (through :func:`datasets.load_dataset`).  Where the data live is given by
the ``location`` argument or the ``ECINSTRUCT_DATA`` environment variable.

:func:`read_predictions` reads model outputs (JSONL lines ``{"id": ...,
"prediction": ...}``, a JSON list or object) or normalises in-memory ones
into the same list of ``{"id", "prediction"}`` dicts.

The small readers :func:`read_json_text`, :func:`read_py_list` and
:func:`record_options` decode the release's structured strings (JSON text
inputs, with the bare ``NaN`` of PM; SR's Python list text; an ``options``
column kept as text) without ever raising.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ecinstruct_eval.tasks import get_task

#: Environment variable naming the data location (build folder, export folder or Hub id).
DATA_ENV = "ECINSTRUCT_DATA"

__all__ = ["DATA_ENV", "DataNotFoundError", "iter_jsonl", "load_split", "read_jsonl",
           "read_predictions", "resolve_location", "select_predictions", "read_json_text",
           "read_py_list", "record_options"]


#: Longest structured text the readers below decode; longer texts are left as text.
MAX_STRUCTURED_CHARS = 1_000_000


def read_json_text(text: Any) -> Any:
    """The value of a JSON text as the release writes it (``json.dumps``), else ``None``.

    Accepts the bare ``NaN`` token PM inputs carry (a missing description);
    anything that is not a string, longer than :data:`MAX_STRUCTURED_CHARS`
    or not JSON gives ``None``.

    Examples
    --------
    >>> read_json_text('{"product 1": {"title": "x", "description": NaN}}')
    {'product 1': {'title': 'x', 'description': nan}}
    >>> read_json_text("Great product.") is None
    True
    """
    if not isinstance(text, str) or len(text) > MAX_STRUCTURED_CHARS:
        return None
    head = text.lstrip()[:1]
    if head not in ("{", "[", '"'):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def read_py_list(text: Any) -> list[str] | None:
    """The strings of a Python ``str(list)`` text (SR's input and options), else ``None``.

    Read with :func:`ast.literal_eval`, so nothing is executed; texts longer
    than :data:`MAX_STRUCTURED_CHARS`, unreadable ones and lists holding
    anything but strings give ``None``.

    Examples
    --------
    >>> read_py_list(str(["1st: usb cable", "2nd: kid's lamp"]))
    ['1st: usb cable', "2nd: kid's lamp"]
    >>> read_py_list("__import__('os')") is None
    True
    """
    if not isinstance(text, str) or len(text) > MAX_STRUCTURED_CHARS or \
            not text.lstrip().startswith("["):
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def record_options(record: Mapping) -> list[str]:
    """A record's ``options`` as a list of strings.

    Canonical records hold a list; the release's own table holds the options
    as text (a JSON array, or a Python list for SR), which is decoded.
    Anything else is no options (``[]``).

    Examples
    --------
    >>> record_options({"options": '["A: very positive", "B: positive"]'})
    ['A: very positive', 'B: positive']
    >>> record_options({"options": "['A: lamp', 'B: cable']"}), record_options({})
    (['A: lamp', 'B: cable'], [])
    """
    opts = record.get("options")
    if not opts:
        return []
    if isinstance(opts, str):
        value = read_json_text(opts)
        if not isinstance(value, list):
            value = read_py_list(opts)
        return [str(v) for v in value] if isinstance(value, list) else []
    return [str(o) for o in opts]


class DataNotFoundError(FileNotFoundError):
    """No dataset is configured, or the configured one does not hold the split."""


def _not_found(task: str, split: str, detail: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"cannot load ECInstruct {task}/{split}: {detail}; set the {DATA_ENV} environment "
        "variable to a build folder, an exported dataset folder or a Hub id (or pass --data on the "
        "command line), or give the gold records directly (--references on the command line, "
        "references= to score() in Python)."
    )


def resolve_location(location: str | os.PathLike | None = None) -> str | None:
    """Return the data location: ``location``, else ``$ECINSTRUCT_DATA``, else ``None``.

    Existing local paths are returned absolute (``~`` expanded); anything else
    is returned as given (a Hub id).

    Examples
    --------
    >>> resolve_location("/tmp")
    '/tmp'
    """
    loc = location if location is not None else os.environ.get(DATA_ENV)
    if loc is None or str(loc).strip() == "":
        return None
    path = Path(os.path.expanduser(str(loc)))
    if path.exists():
        return str(path.resolve())
    return str(loc)


def _looks_local(loc: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything path-like that does not exist is an error.
    return loc.startswith((".", "/", "~", "\\")) or loc.count("/") > 1 or "\\" in loc


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, JSON value)`` for every non-blank line of a JSONL file.

    Invalid JSON raises a ``ValueError`` naming the file and line.  This is the
    one JSONL reader of the package: :func:`read_jsonl` and the predictions
    reader build on it.
    """
    # Undecodable bytes become lone surrogates (reported below with their line), so that lines end
    # where text mode ends them (\n, \r\n or \r) and blank lines are any whitespace, as always.
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            yield lineno, _json_value(line, f"{path}, line {lineno}")


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value of a whole file; every way it fails is one ``ValueError`` naming the file (and line)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        return _json_value(fh.read(), str(path), whole_file=True)


def _json_value(text: str, where: str, *, whole_file: bool = False) -> Any:
    """``json.loads`` of ``text`` (read with ``errors="surrogateescape"``); every way it fails is
    one ``ValueError`` starting with ``where`` (and the line, for a ``whole_file``)."""
    try:
        text.encode("utf-8")  # a byte that was not UTF-8 is a lone surrogate now: UnicodeEncodeError
        return json.loads(text)
    except UnicodeEncodeError as e:
        raise ValueError(f"{where}: not UTF-8 text (byte 0x{ord(e.object[e.start]) - 0xDC00:02x} "
                         f"at character {e.start})") from None
    except json.JSONDecodeError as e:
        line = f", line {e.lineno}" if whole_file else ""
        raise ValueError(f"{where}{line}: not valid JSON ({e.msg})") from None
    except ValueError as e:  # an integer of over 4,300 digits
        raise ValueError(f"{where}: not valid JSON ({e})") from None
    except RecursionError:
        raise ValueError(f"{where}: not valid JSON (nested too deeply)") from None


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSONL file of objects; errors name the file and line."""
    records = []
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise ValueError(
                f"{path}, line {lineno}: expected a JSON object, got {type(obj).__name__}"
            )
        records.append(obj)
    return records


def load_split(task: str, split: str, location: str | os.PathLike | None = None) -> list[dict]:
    """Return the records of one split of one task as a list of dicts.

    Parameters
    ----------
    task : str
        Task code, case-insensitive (``"SR"``).
    split : str
        One of the task's splits (``TASKS[task].splits``), e.g. ``"test"``,
        ``"test_ood"``.
    location : str or path, optional
        A build folder holding ``<TASK>/<split>.jsonl``, an exported dataset
        folder, or a Hub id.  Defaults to ``$ECINSTRUCT_DATA``.

    Returns
    -------
    list of dict
        Canonical records (``id``, ``task``, ``split``, ``input``,
        ``options``, ``output``, ...), in file order.

    Raises
    ------
    KeyError
        Unknown task code (with a suggestion).
    ValueError
        ``split`` is not a split of ``task``; the message lists the valid ones.
    DataNotFoundError
        Nothing configured, or the location does not hold the split (also
        offline with an uncached Hub id).  When offline mode is off but the
        Hub does not answer within 3 s, the split is read from the local
        cache in offline mode, or this is raised at once (instead of after
        huggingface_hub's retries).

    Examples
    --------
    >>> records = load_split("SR", "test", "build")  # doctest: +SKIP
    >>> records[0]["output"]  # doctest: +SKIP
    'C'
    """
    spec = get_task(task)
    extra = split.startswith("single_")  # an imported release's seed-instruction data (BUILD/<TASK>/extra/)
    if split not in spec.splits and not extra:
        raise ValueError(
            f"{spec.code} has no split {split!r}; valid splits: {', '.join(spec.splits)}"
        )
    loc = resolve_location(location)
    if extra:
        candidate = Path(loc or "") / spec.code / "extra" / f"{split}.jsonl"
        if loc is None or not candidate.is_file():
            raise _not_found(spec.code, split, f"{split} is the seed-instruction data of an `ecinstruct import`, "
                                               f"expected at {candidate}")
        return read_jsonl(candidate)
    if loc is None:
        raise _not_found(spec.code, split, "no dataset location is configured")
    path = Path(loc)
    if path.is_dir():
        for name in (spec.code, spec.code.lower()):
            candidate = path / name / f"{split}.jsonl"
            if candidate.is_file():
                return read_jsonl(candidate)
    elif path.is_file():
        raise _not_found(spec.code, split, f"{loc} is a file, not a dataset folder")
    elif _looks_local(loc):
        raise _not_found(spec.code, split, f"{loc} does not exist")
    return _load_with_datasets(loc, spec.code, split)


def _load_with_datasets(loc: str, task: str, split: str) -> list[dict]:
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a core dependency
        raise _not_found(task, split, f"{loc} needs the 'datasets' package") from None
    offline = bool(datasets.config.HF_HUB_OFFLINE)
    if not offline and not _hub_reachable():
        # Without this, huggingface_hub retries for ~25 s before giving up; in
        # offline mode datasets still finds a cached copy, or fails at once.
        try:
            with _offline_mode(datasets):
                ds = datasets.load_dataset(loc, task, split=split)
        except Exception as e:
            raise _not_found(task, split, f"the Hugging Face Hub is unreachable and {loc} is not "
                                          "in the local cache") from e
        return ds.to_list()
    try:
        ds = datasets.load_dataset(loc, task, split=split)
    except (ValueError, KeyError) as e:
        if split in str(e) or "split" in str(e).lower() or "config" in str(e).lower():
            raise _not_found(task, split, f"{loc} has no {task} config with split {split!r}") from e
        raise _not_found(task, split, f"{loc} could not be read ({e})") from e
    except (FileNotFoundError, ConnectionError, OSError) as e:
        raise _not_found(task, split, f"{loc} was not found locally or in the cache") from e
    except Exception as e:  # datasets raises many exception types when offline
        raise _not_found(task, split, f"{loc} could not be loaded ({type(e).__name__}: {e})") from e
    return ds.to_list()


_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout`` seconds.

    Assumed reachable behind a proxy (a direct probe says nothing there).
    """
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    import socket
    import threading
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    if not host:
        return True
    ok: list[bool] = []

    def probe() -> None:  # in a thread: name resolution has no timeout of its own
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(ok)


class _offline_mode:
    """Turn on the Hub's offline mode for one ``load_dataset`` call."""

    def __init__(self, datasets_module: Any):
        import huggingface_hub.constants as hub_constants

        self._targets = [(datasets_module.config, "HF_HUB_OFFLINE"),
                         (datasets_module.config, "HF_DATASETS_OFFLINE"),
                         (hub_constants, "HF_HUB_OFFLINE")]
        self._saved: list = []

    def __enter__(self) -> None:
        for module, name in self._targets:
            self._saved.append(getattr(module, name, None))
            setattr(module, name, True)

    def __exit__(self, *exc: Any) -> None:
        for (module, name), value in zip(self._targets, self._saved):
            setattr(module, name, value)


_ABSENT = object()


def _from_record(obj: Any, where: str) -> dict:
    if type(obj) is dict:
        pred, rid = obj.get("prediction", _ABSENT), obj.get("id", _ABSENT)
        if (pred is None or type(pred) is str) and (rid is None or type(rid) is str):
            return obj  # already in shape: no copy (callers never mutate it)
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: expected an object with 'prediction', got {type(obj).__name__}")
    if "prediction" not in obj:
        keys = ", ".join(map(str, obj)) or "none"
        raise ValueError(f"{where}: no 'prediction' field (fields: {keys})")
    pred = obj["prediction"]
    if pred is not None and not isinstance(pred, str):
        raise ValueError(f"{where}: 'prediction' must be a string or null, got {type(pred).__name__}")
    out = dict(obj)
    out.setdefault("id", None)
    if out["id"] is not None:
        out["id"] = str(out["id"])
    return out


def read_predictions(path_or_obj: Any) -> list[dict]:
    """Read or normalise predictions into a list of ``{"id", "prediction", ...}`` dicts.

    Parameters
    ----------
    path_or_obj : path, sequence, mapping, pandas Series or DataFrame
        * a ``.jsonl`` file of ``{"id": ..., "prediction": ...}`` lines (other
          fields such as ``task`` and ``split`` are kept);
        * a ``.json`` file holding a list of such objects, a list of strings,
          or an object mapping id -> prediction;
        * a sequence of strings / ``None`` (``id`` is ``None``: align by
          position), or of dicts as above;
        * a mapping id -> prediction;
        * a pandas Series (its index gives the ids unless it is a default
          ``RangeIndex``);
        * a pandas DataFrame with a ``prediction`` column and optionally an
          ``id`` column (without one, rows align by position; other columns
          such as ``task`` and ``split`` are kept).

    Returns
    -------
    list of dict
        ``id`` is a string or ``None``; ``prediction`` a string or ``None``.

    Raises
    ------
    TypeError
        An input of none of these kinds (e.g. a DataFrame without a
        ``prediction`` column); the message lists the accepted inputs.
    ValueError
        Malformed input; for files the message names the file and line.

    Examples
    --------
    >>> read_predictions(["B", None])
    [{'id': None, 'prediction': 'B'}, {'id': None, 'prediction': None}]
    >>> read_predictions({"SR-test-00000": "C"})
    [{'id': 'SR-test-00000', 'prediction': 'C'}]
    """
    if isinstance(path_or_obj, (str, os.PathLike)):
        return _read_predictions_file(Path(path_or_obj))
    if _is_dataframe(path_or_obj):
        return _from_dataframe(path_or_obj)
    if _is_series(path_or_obj):
        import pandas as pd

        index = path_or_obj.index
        default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
        values = [None if _isna(v) else v for v in path_or_obj.tolist()]
        ids = [None] * len(values) if default else [str(i) for i in index]
        return [_from_record({"id": i, "prediction": v}, f"item {k}") for k, (i, v) in
                enumerate(zip(ids, values))]
    if isinstance(path_or_obj, Mapping):
        return [
            _from_record({"id": k, "prediction": v}, f"id {k!r}") for k, v in path_or_obj.items()
        ]
    # Any ordered iterable (list, tuple, numpy array, generator, datasets.Dataset).
    if hasattr(path_or_obj, "__iter__") and not isinstance(
            path_or_obj, (bytes, bytearray, set, frozenset)):
        return _from_sequence(path_or_obj, "")
    raise TypeError(f"predictions must be {_ACCEPTED}; got {type(path_or_obj).__name__}")


_ACCEPTED = (
    "a path to a JSONL/JSON file, a sequence of strings (None allowed) or of "
    '{"id", "prediction"} records, a mapping id -> string, a pandas Series, or a pandas '
    "DataFrame with a 'prediction' column (and optionally 'id')"
)


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns") and hasattr(obj, "to_dict")


def _from_dataframe(df: Any) -> list[dict]:
    columns = [str(c) for c in df.columns]
    if "prediction" not in columns:
        raise TypeError(f"a predictions DataFrame needs a 'prediction' column (and optionally "
                        f"'id'), got columns {columns}; predictions must be {_ACCEPTED}")
    if len(set(columns)) != len(columns):
        raise TypeError(f"a predictions DataFrame must not repeat column names, got {columns}")
    out = []
    for k, row in enumerate(df.to_dict("records")):
        rec = {str(c): (None if _isna(v) else v) for c, v in row.items()}
        rec.setdefault("id", None)
        out.append(_from_record(rec, f"row {k}"))
    return out


def select_predictions(predictions: list[dict], task: str,
                       split: str | None) -> tuple[list[dict], int]:
    """Keep the predictions for ``task``/``split`` when they say which they are for.

    ``ecinstruct predict`` and leaderboard submissions write one file for many
    tasks and splits (lines ``{"task", "split", "id", "prediction"}``).  A
    prediction carrying ``task`` (case-insensitive) or ``split`` is kept only
    if it matches; one without them is always kept.

    Parameters
    ----------
    predictions : list of dict
        Output of :func:`read_predictions`.
    task : str
        Task code being scored.
    split : str or None
        Split being scored; ``None`` matches any split.

    Returns
    -------
    kept : list of dict
    n_ignored : int
        Predictions dropped because they are for another task or split.

    Raises
    ------
    ValueError
        Predictions carry task/split fields but none matches; the message
        lists what the predictions are for.

    Examples
    --------
    >>> preds = [{"task": "SA", "split": "test", "id": "a", "prediction": "B"},
    ...          {"task": "PM", "split": "test", "id": "b", "prediction": "yes"}]
    >>> kept, n_ignored = select_predictions(preds, "sa", "test")
    >>> [p["id"] for p in kept], n_ignored
    (['a'], 1)
    """
    code = str(task).upper()
    if not any("task" in p or "split" in p for p in predictions):
        return predictions, 0

    def matches(p: dict) -> bool:
        t, s = p.get("task"), p.get("split")
        return (t is None or str(t).upper() == code) and (s is None or split is None or s == split)

    kept = [p for p in predictions if matches(p)]
    if predictions and not kept:
        found: dict[str, int] = {}
        for p in predictions:
            key = f"{p.get('task', '?')}/{p.get('split', '?')}"
            found[key] = found.get(key, 0) + 1
        listing = ", ".join(f"{k} ({n})" for k, n in sorted(found.items()))
        raise ValueError(f"none of the {len(predictions)} predictions is for {code}/{split}; "
                         f"they are for: {listing}")
    return kept, len(predictions) - len(kept)


def _is_series(obj: Any) -> bool:
    return type(obj).__name__ == "Series" and hasattr(obj, "index") and hasattr(obj, "tolist")


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _read_predictions_file(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"predictions file {path} does not exist")
    if path.suffix.lower() == ".json":
        data = read_json(path)
        if isinstance(data, Mapping):
            return [_from_record({"id": k, "prediction": v}, f"{path}, id {k!r}")
                    for k, v in data.items()]
        if isinstance(data, list):
            return _from_sequence(data, f"{path}, ", require_ids=True)
        raise ValueError(f"{path}: expected a JSON list or object, got {type(data).__name__}")
    return [_with_id(_from_record(obj, f"{path}, line {lineno}"), f"{path}, line {lineno}")
            for lineno, obj in iter_jsonl(path)]


def _with_id(record: dict, where: str) -> dict:
    """``record``, which must carry an ``id``: records in files are aligned by id, never silently by position."""
    if record.get("id") is None:
        raise ValueError(f"{where}: no 'id'; prediction records are aligned with the references by id "
                         "(for outputs in reference order, write a JSON file holding a list of strings)")
    return record


def _from_sequence(items, where: str, *, require_ids: bool = False) -> list[dict]:
    """Bare strings (or None) aligned by position, or records with ``id``/``prediction``
    (``require_ids``: records must carry one, as in files)."""
    out = []
    for k, item in enumerate(items):
        if item is None or isinstance(item, str):
            out.append({"id": None, "prediction": item})
        else:
            rec = _from_record(item, f"{where}item {k}")
            out.append(_with_id(rec, f"{where}item {k}") if require_ids else rec)
    return out
