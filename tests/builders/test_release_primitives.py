"""The release's random draws and text forms, against the test vectors of RELEASED_FORMAT.md §1.2-1.3."""

import json
import random

import numpy as np
from ecinstruct_builders import release


def test_py_rng_is_python_random_seeded_1():
    rng = release.py_rng()
    assert [rng.randrange(5) for _ in range(20)] == [1, 4, 0, 2, 0, 3, 3, 3, 3, 1, 0, 3, 0, 3, 3, 4, 0, 3, 2, 1]
    raw = random.Random(1)
    assert [raw.getrandbits(3) for _ in range(10)] == [1, 4, 6, 6, 6, 0, 2, 0, 3, 6]


def test_np_perm_vectors():
    for n, head in ((2528, [368, 1002, 807, 685, 81]), (506, [307, 343, 47, 67, 362]),
                    (1363, [1060, 368, 111, 424, 638]), (3226, [2571, 187, 1169, 2082, 705])):
        assert release.np_perm(1, n)[:5].tolist() == head


def test_split_811_matches_train_test_split_twice():
    sklearn = __import__("sklearn.model_selection", fromlist=["train_test_split"])
    items = list(range(1237))
    train, val, test = release.split_811(items)
    a, hold = sklearn.train_test_split(items, test_size=0.2, random_state=1)
    b_val, b_test = sklearn.train_test_split(hold, test_size=0.5, random_state=1)  # the authors call the first part val
    assert (train, val, test) == (a, b_val, b_test)


def test_pandas_sample_is_the_first_rows_of_the_permutation():
    pandas = __import__("pandas")
    items = [f"r{i}" for i in range(101)]
    frame = pandas.DataFrame({"x": items})
    assert release.pandas_sample(items, seed=2, n=30) == frame.sample(n=30, random_state=2)["x"].tolist()
    assert release.pandas_sample(items, seed=1, frac=0.5) == frame.sample(frac=0.5, random_state=1)["x"].tolist()


def test_text_forms():
    assert release.json_text({"a": "caf\u00e9 \U0001f600", "b": float("nan")}) == \
        '{"a": "caf\\u00e9 \\ud83d\\ude00", "b": NaN}'
    assert release.py_list_text(["it's", 'say "hi"', "both ' \"", "tab\there", "caf\u00e9"]) == \
        "[\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\there', 'caf\u00e9']"
    assert release.cut_words(". " + "w " * 60, 50).endswith("w...")
    assert release.cut_words("a b", 1) == "a..."
    assert json.loads(release.json_text([1])) == [1]
    assert isinstance(release.np_perm(1, 3), np.ndarray)
