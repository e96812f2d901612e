"""Typed ``datasets`` features of the canonical record and its Arrow form.

One schema serves every config: the fields of :data:`ecinstruct_builders.core.RECORD_FIELDS`
in that order, all strings except ``options``, ``source_ids`` and
``relevance`` (lists of strings) and ``attributes`` (a list of
``{attribute, value, source}`` structs, AVE's gold triples).

Examples
--------
>>> from ecinstruct_dataset.schema import FEATURES, records_to_table
>>> FEATURES["options"]
List(Value('string'))
>>> rec = dict(id="PM-train-00000", task="PM", split="train", instruction="...",
...            instruction_kind="seed", input="...", options=[], output="yes", category="",
...            source_ids=["a", "b"], few_shot_id="", relevance=[], attributes=[])
>>> records_to_table([rec]).num_rows
1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa
from datasets import Features, List, Value
from ecinstruct_builders.core import RECORD_FIELDS

_STRING_LISTS = ("options", "source_ids", "relevance")
ATTRIBUTE_KEYS = ("attribute", "value", "source")


def _feature(name: str):
    if name in _STRING_LISTS:
        return List(Value("string"))
    if name == "attributes":
        return List({k: Value("string") for k in ATTRIBUTE_KEYS})
    return Value("string")


#: The features of every config, in :data:`RECORD_FIELDS` order.
FEATURES = Features({name: _feature(name) for name in RECORD_FIELDS})

#: The Arrow schema, carrying the ``huggingface`` features metadata that
#: ``datasets`` reads back from Parquet files.
ARROW_SCHEMA: pa.Schema = FEATURES.arrow_schema


class RecordError(ValueError):
    """A build record that does not follow the canonical schema."""


_FIELD_SET = frozenset(RECORD_FIELDS)
_STRINGS = tuple(n for n in RECORD_FIELDS if n not in _STRING_LISTS and n != "attributes")
_ATTRIBUTE_SET = frozenset(ATTRIBUTE_KEYS)


def _is_canonical(r) -> bool:
    """Fast check of the common case; :func:`check_record` explains failures."""
    if type(r) is not dict or r.keys() != _FIELD_SET:
        return False
    for k in _STRINGS:
        if type(r[k]) is not str:
            return False
    for k in _STRING_LISTS:
        v = r[k]
        if type(v) is not list or any(type(x) is not str for x in v):
            return False
    attrs = r["attributes"]
    return type(attrs) is list and all(
        type(a) is dict and a.keys() == _ATTRIBUTE_SET and all(type(x) is str for x in a.values())
        for a in attrs
    )


def check_record(record: Mapping, where: str = "") -> None:
    """Raise :class:`RecordError` (naming ``where`` and the id) unless ``record`` is canonical.

    Examples
    --------
    >>> check_record({"id": "x"}, "PM/train.jsonl:1")
    Traceback (most recent call last):
    ...
    ecinstruct_dataset.schema.RecordError: PM/train.jsonl:1 (id 'x'): missing field(s) ['task', ...
    """
    if _is_canonical(record):
        return
    rid = record.get("id") if isinstance(record, Mapping) else None
    at = f"{where} (id {rid!r})" if where else f"record {rid!r}"
    if not isinstance(record, Mapping):
        raise RecordError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in RECORD_FIELDS if k not in record]
    if missing:
        raise RecordError(f"{at}: missing field(s) {missing}")
    extra = sorted(set(record) - set(RECORD_FIELDS))
    if extra:
        raise RecordError(f"{at}: unknown field(s) {extra}; expected {list(RECORD_FIELDS)}")
    for name in RECORD_FIELDS:
        value = record[name]
        if name in _STRING_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise RecordError(f"{at}: {name!r} must be a list of strings, got {value!r:.80}")
        elif name == "attributes":
            if not isinstance(value, list) or not all(
                isinstance(a, Mapping)
                and set(a) == set(ATTRIBUTE_KEYS)
                and all(isinstance(v, str) for v in a.values())
                for a in value
            ):
                raise RecordError(
                    f"{at}: 'attributes' must be a list of {{attribute, value, source}} string "
                    f"objects, got {value!r:.80}"
                )
        elif not isinstance(value, str):
            raise RecordError(f"{at}: {name!r} must be a string, got {type(value).__name__}")


def records_to_table(records: Iterable[Mapping]) -> pa.Table:
    """Canonical records (already checked) as an Arrow table of :data:`ARROW_SCHEMA`."""
    return pa.Table.from_pylist(
        [{k: r[k] for k in RECORD_FIELDS} for r in records], schema=ARROW_SCHEMA
    )
