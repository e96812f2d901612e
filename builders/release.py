"""The official release's primitives: its random draws, its splits and its text forms.

The authors' release (the Hub dataset NingLab/ECInstruct) was made with
Python's ``random`` seeded with 1, NumPy's legacy ``RandomState``
permutations (behind pandas ``sample`` and scikit-learn's
``train_test_split``), ``json.dumps`` with default arguments and, for SR,
Python's ``str`` of a list (``RELEASED_FORMAT.md`` §1.2-1.3).  Each step is
written here once, explicitly, so that a build does not inherit a library's
incidental behaviour: pandas and scikit-learn are not called, only the two
random streams that NumPy and CPython keep stable across versions.

Examples
--------
>>> rng = py_rng()
>>> [rng.randrange(5) for _ in range(10)]
[1, 4, 0, 2, 0, 3, 3, 3, 3, 1]
>>> [int(i) for i in np_perm(1, 2528)[:5]]
[368, 1002, 807, 685, 81]
>>> train, val, test = split_811(list(range(10)))
>>> len(train), len(val), len(test)
(8, 1, 1)
>>> json_text({"title": "caf\\u00e9", "description": float("nan")})
'{"title": "caf\\\\u00e9", "description": NaN}'
>>> cut_words("a. b c d.", 3)
'a. b c...'
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: The release's seed everywhere but MPC's row sample (2).
SEED = 1

#: The order in which we replay the diverse-instruction pass over a task's IND
#: files.  The release drew in its operating system's directory-listing order,
#: which is unknown (RELEASED_FORMAT.md §1.5); we pick train, validation, test.
DIVERSE_FILE_ORDER = ("train", "validation", "test")


def py_rng(seed: int = SEED) -> random.Random:
    """Python's Mersenne Twister seeded as ``random.seed(seed)`` (PY-RNG).

    ``randrange(n)``, ``choice``, ``shuffle``, ``sample`` and ``randint`` of
    this object are the release's draws; CPython keeps them stable across 3.x.
    """
    return random.Random(seed)


def np_perm(seed: int, n: int) -> np.ndarray:
    """NumPy's legacy ``RandomState(seed).permutation(n)`` (NP-PERM): a fresh generator each call.

    >>> [int(i) for i in np_perm(1, 506)[:5]]
    [307, 343, 47, 67, 362]
    """
    return np.random.RandomState(seed).permutation(n)


def pandas_sample(items: Sequence[T], *, seed: int, n: int | None = None, frac: float | None = None) -> list[T]:
    """What pandas ``DataFrame.sample(n=|frac=, random_state=seed)`` returns, as a list.

    ``frac`` keeps ``round(frac * len)`` items (Python's ``round``: halves to
    even), ``n`` keeps ``n``; both are the first items of NP-PERM(seed, len).

    >>> pandas_sample(list("abcde"), seed=1, frac=1.0)
    ['c', 'b', 'e', 'a', 'd']
    >>> pandas_sample(list("abcde"), seed=1, n=2)
    ['c', 'b']
    """
    if (n is None) == (frac is None):
        raise ValueError("give exactly one of n and frac")
    k = round(frac * len(items)) if frac is not None else n
    if k > len(items):
        raise ValueError(f"cannot sample {k} of {len(items)} items without replacement")
    perm = np_perm(seed, len(items))
    return [items[i] for i in perm[:k]]


def split_811(items: Sequence[T], *, seed: int = SEED) -> tuple[list[T], list[T], list[T]]:
    """The release's 8:1:1 split (scikit-learn ``train_test_split`` twice, SPLIT-811).

    Returns ``(train, val, test)``.  The held-out fifth is ``ceil(0.2 n)``
    items; its first ``ceil(m / 2)`` items in the second permutation are the
    test set, the rest the validation set.

    >>> train, val, test = split_811(list(range(2528)))
    >>> len(train), len(val), len(test)
    (2022, 253, 253)
    """
    n = len(items)
    if n == 0:
        return [], [], []
    h = math.ceil(0.2 * n)
    p = np_perm(seed, n)
    train = [items[i] for i in p[h:]]
    hold = [items[i] for i in p[:h]]
    m = len(hold)
    t = math.ceil(0.5 * m)
    q = np_perm(seed, m)
    return train, [hold[i] for i in q[t:]], [hold[i] for i in q[:t]]


def json_text(obj: Any) -> str:
    """``json.dumps(obj)`` with default arguments: the release's text of a JSON ``input``/``options``.

    ASCII escapes (``\\u00ae``), ``", "``/``": "`` separators, a float NaN as
    the bare token ``NaN``.
    """
    return json.dumps(obj)


def py_list_text(items: Sequence[str]) -> str:
    """Python's ``str`` of a list of strings: SR's ``input`` and ``options``.

    >>> py_list_text(["1st: It's", 'a "b"'])
    '["1st: It\\'s", \\'a "b"\\']'
    """
    return str(list(items))


def cut_words(text: str, n: int) -> str:
    """The release's word cut (PM 50, SR 25): split on single spaces; over ``n`` tokens,
    keep ``n``, strip leading and trailing ``.``, add ``...``.

    Runs of spaces make empty tokens, and those count.

    >>> cut_words("a  b c", 2)
    'a ...'
    >>> cut_words("a b", 2)
    'a b'
    """
    tokens = text.split(" ")
    if len(tokens) <= n:
        return text
    return " ".join(tokens[:n]).strip(".") + "..."


def quota_concat(parts: Sequence[Sequence[T]], size: int) -> list[T]:
    """The release's per-category assembly of one split (SA, RELEASED_FORMAT.md §5).

    Category ``i`` of ``c`` appends its records in order while the running
    total is below ``(i + 1) * size / c``.

    >>> [len(x) for x in [quota_concat([range(5000)] * 3, 10000)]]
    [10000]
    >>> quota_concat([[1, 2, 3], ["a", "b"]], 4)
    [1, 2, 'a', 'b']
    """
    out: list[T] = []
    c = len(parts)
    for i, part in enumerate(parts):
        bound = (i + 1) * size / c
        for item in part:
            if len(out) >= bound:
                break
            out.append(item)
    return out
