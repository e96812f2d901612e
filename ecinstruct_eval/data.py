"""Read ECInstruct splits and prediction files.

One loader for everybody: :func:`load_split` reads a task's split from a
build folder (``BUILD/<TASK>/<split>.jsonl``), an exported Hub folder or a Hub
id (through :func:`datasets.load_dataset`).  Where the data live is given by
the ``location`` argument or the ``ECINSTRUCT_DATA`` environment variable.

:func:`read_predictions` reads model outputs (JSONL lines ``{"id": ...,
"prediction": ...}``, a JSON list or object) or normalises in-memory ones
into the same list of ``{"id", "prediction"}`` dicts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ecinstruct_eval.tasks import get_task

#: Environment variable naming the data location (build folder, export folder or Hub id).
DATA_ENV = "ECINSTRUCT_DATA"

__all__ = ["DATA_ENV", "DataNotFoundError", "load_split", "read_predictions", "resolve_location"]


class DataNotFoundError(FileNotFoundError):
    """No dataset is configured, or the configured one does not hold the split."""


def _not_found(task: str, split: str, detail: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"cannot load ECInstruct {task}/{split}: {detail}; set the {DATA_ENV} environment "
        "variable to a build folder, an exported dataset folder or a Hub id (or pass "
        "location=), or give the gold records directly with references=."
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


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSONL file of objects; errors name the file and line."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}, line {lineno}: not valid JSON ({e.msg})") from None
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
        offline with an uncached Hub id).

    Examples
    --------
    >>> records = load_split("SR", "test", "build")  # doctest: +SKIP
    >>> records[0]["output"]  # doctest: +SKIP
    'C'
    """
    spec = get_task(task)
    if split not in spec.splits:
        raise ValueError(
            f"{spec.code} has no split {split!r}; valid splits: {', '.join(spec.splits)}"
        )
    loc = resolve_location(location)
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
    path_or_obj : path, sequence, mapping or pandas Series
        * a ``.jsonl`` file of ``{"id": ..., "prediction": ...}`` lines (other
          fields such as ``task`` and ``split`` are kept);
        * a ``.json`` file holding a list of such objects, a list of strings,
          or an object mapping id -> prediction;
        * a sequence of strings / ``None`` (``id`` is ``None``: align by
          position), or of dicts as above;
        * a mapping id -> prediction;
        * a pandas Series (its index gives the ids unless it is a default
          ``RangeIndex``).

    Returns
    -------
    list of dict
        ``id`` is a string or ``None``; ``prediction`` a string or ``None``.

    Raises
    ------
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
    if isinstance(path_or_obj, Sequence) or hasattr(path_or_obj, "__iter__"):
        out = []
        for k, item in enumerate(path_or_obj):
            if item is None or isinstance(item, str):
                out.append({"id": None, "prediction": item})
            else:
                out.append(_from_record(item, f"item {k}"))
        return out
    raise TypeError(
        "predictions must be a path, a sequence of strings, a mapping id -> string or a "
        f"pandas Series, got {type(path_or_obj).__name__}"
    )


def _is_series(obj: Any) -> bool:
    return type(obj).__name__ == "Series" and hasattr(obj, "index") and hasattr(obj, "tolist")


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _read_predictions_file(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"predictions file {path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from None
        if isinstance(data, Mapping):
            return [_from_record({"id": k, "prediction": v}, f"{path}, id {k!r}")
                    for k, v in data.items()]
        if isinstance(data, list):
            out = []
            for k, item in enumerate(data):
                if item is None or isinstance(item, str):
                    out.append({"id": None, "prediction": item})
                else:
                    out.append(_from_record(item, f"{path}, item {k}"))
            return out
        raise ValueError(f"{path}: expected a JSON list or object, got {type(data).__name__}")
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}, line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: not valid JSON ({e.msg})") from None
            out.append(_from_record(obj, where))
    return out
