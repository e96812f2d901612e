"""Weight-free baselines on release-format records: parseable outputs in each task's output form,
deterministic, and no better than they should be.

Two kinds of records are used, never built with the dataset builders:

* the authors' own records of real raw rows (``tests/data/released_format``: PM, SA, MPC, PSI,
  QPR), turned into canonical records;
* small synthetic records written in the release's rendering (RELEASED_FORMAT.md §2-§9) for all
  ten tasks, with made-up texts, so that the lexical baselines have signal to find.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from ecinstruct_leaderboard.baselines import (
    METHODS,
    _candidates,
    _context,
    _question_and_sentences,
    _target_attributes,
    _two_products,
    predict,
)

from ecinstruct_eval import gold_answer
from ecinstruct_eval.parsing import parse
from ecinstruct_eval.tasks import LETTERS, TASKS

REF = Path(__file__).resolve().parents[1] / "data" / "released_format"

WORDS = ("green steel cotton wool leather plastic phone cable lamp chair tent boot "
         "knife drill mug bottle charger case screen table fan rope glove hat bag watch").split()
ORDINALS = ["1st", "2nd", "3rd"] + [f"{i}th" for i in range(4, 21)]
PRP_OPTIONS = ["A: Users who buy product 1 may also buy product 2.",
               "B: Users who view product 1 may also view product 2.",
               "C: The product 1 is similar with the product 2."]


def _words(rng, k):
    return " ".join(rng.choice(WORDS) for _ in range(k))


def _record(task, split, i, **kw):
    rec = {"id": f"{task}-{split}-{i:05d}", "task": task, "split": split, "instruction": "Do it.",
           "instruction_kind": "seed", "input": "", "options": [], "output": "", "category": "",
           "source_ids": [], "few_shot_id": "", "relevance": [], "attributes": []}
    rec.update(kw)
    return rec


def make_record(task: str, split: str, i: int, rng: random.Random) -> dict:
    """One synthetic record in the release's rendering."""
    spec = TASKS[task]
    if task == "SR":
        items = [_words(rng, 4) for _ in range(20)]
        gold = rng.randrange(20)
        history = [f"{ORDINALS[k]}: {t}" for k, t in
                   enumerate([_words(rng, 3), items[gold] + " " + _words(rng, 2)])]
        return _record(task, split, i, input=str(history),
                       options=[f"{LETTERS[k]}: {t}" for k, t in enumerate(items)],
                       output=LETTERS[gold])
    if task == "QPR":
        n = rng.choice([2, 3, 4])
        grades = rng.sample(["E", "S", "C", "I"], n)
        query = _words(rng, 3)
        products = [f"{LETTERS[k]}: {query if g == 'E' else _words(rng, 3)}"
                    for k, g in enumerate(grades)]
        rank = {"E": 0, "S": 1, "C": 2, "I": 3}
        out = ",".join(LETTERS[k] for k in sorted(range(n), key=lambda k: rank[grades[k]]))
        return _record(task, split, i, input=json.dumps({"query": query, "product list": products}),
                       output=out, relevance=grades)
    if task == "AVE":
        value = rng.choice(["red", "blue", "None"])
        title = f"{value if value != 'None' else 'plain'} {_words(rng, 3)}"
        triple = {"attribute": "color", "value": value,
                  "source": "product title" if value != "None" else "None"}
        inp = {"product title": title, "product description": _words(rng, 6),
               "target attributes": "color"}
        return _record(task, split, i, input=json.dumps(inp), output=json.dumps([triple]),
                       attributes=[triple])
    if task == "AG":
        q = f"does the {_words(rng, 2)} work"
        doc = ["It is fine.", f"The {q} really well.", "Shipping was slow and boxes were torn."]
        return _record(task, split, i, input=json.dumps({"question": q + "?", "document": doc}),
                       output=f"yes the {q}")
    if task == "AP":
        lab = "yes" if rng.random() < 0.7 else "no"
        inp = {"question": f"is it {_words(rng, 2)}?", "document": [f"{_words(rng, 4)} {lab}."]}
        return _record(task, split, i, input=json.dumps(inp), output=lab)
    if task == "PM":
        lab = "yes" if rng.random() < 0.7 else "no"
        p1 = {"title": f"{_words(rng, 3)} {lab}", "description": float("nan"),
              "manufacturer": "nan", "price": "19.99"}
        p2 = {"title": _words(rng, 3), "description": _words(rng, 5), "manufacturer": "acme",
              "price": "0.0"}
        return _record(task, split, i, input=json.dumps({"product 1": p1, "product 2": p2}),
                       output=lab)
    if task == "PSI":
        lab = "yes" if rng.random() < 0.7 else "no"
        return _record(task, split, i, output=lab, input=json.dumps(
            {"query": _words(rng, 2), "product": f"{_words(rng, 3)} {lab}"}))
    letters = spec.labels[:2] if rng.random() < 0.8 else spec.labels
    lab = rng.choice(letters)
    if task == "PRP":
        return _record(task, split, i, options=PRP_OPTIONS, output=lab, input=json.dumps(
            {"Product 1:": f"{_words(rng, 3)} tag{lab}", "Product 2:": _words(rng, 3)}))
    if task == "SA":
        return _record(task, split, i, options=spec.lettered_options(),
                       input=f"{_words(rng, 4)} tag{lab}!", output=spec.format_answer(lab))
    assert task == "MPC"
    return _record(task, split, i, options=spec.lettered_options(), output=spec.format_answer(lab),
                   input=json.dumps({"query": _words(rng, 2),
                                     "product title": f"{_words(rng, 3)} tag{lab}"}))


@pytest.fixture(scope="module")
def build():
    rng = random.Random(0)
    return {(task, split): [make_record(task, split, i, rng) for i in range(n)]
            for task in TASKS for split, n in (("train", 40), ("test", 24))}


def _outputs(build, task, method, seed=0):
    recs = build[(task, "test")]
    return recs, predict(recs, method, train_records=build[(task, "train")], seed=seed)


def _released(name: str, task: str, labels: str | None = None) -> list[dict]:
    """Canonical records from one of the authors' reference files."""
    raw = json.loads((REF / name).read_text(encoding="utf-8"))
    grades = json.loads((REF / labels).read_text(encoding="utf-8")) if labels else None
    return [_record(task, "test", i, instruction=r["instruction"], input=r["input"],
                    options=json.loads(r.get("options", "[]")), output=r["output"],
                    relevance=grades[i] if grades else [])
            for i, r in enumerate(raw)]


RELEASED = {"PM": ("PM_train.json", "PM_test.json"),
            "SA": ("SA_IND_train.json", "SA_IND_test.json"),
            "MPC": ("MPC_train_nolangfilter.json", "MPC_test_nolangfilter.json"),
            "PSI": ("PSI_train_nolangfilter.json", "PSI_test_nolangfilter.json")}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("task", list(TASKS))
def test_outputs_parse_without_failures(build, task, method):
    recs, outs = _outputs(build, task, method)
    assert len(outs) == len(recs) and all(isinstance(o, str) for o in outs)
    for r, o in zip(recs, outs):
        assert parse(o, task, r["options"] or None) is not None, (task, method, o)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("task", list(RELEASED))
def test_baselines_on_the_authors_records(task, method):
    train_file, test_file = RELEASED[task]
    train, test = _released(train_file, task), _released(test_file, task)[:60]
    outs = predict(test, method, train_records=train, seed=0)
    spec = TASKS[task]
    for r, o in zip(test, outs):
        assert parse(o, task, r["options"] or None) is not None, (task, method, o)
        if spec.output_form == "option":  # written as the release writes it
            assert o in r["options"], o
        elif spec.kind == "binary":
            assert o in ("yes", "no")


@pytest.mark.parametrize("method", METHODS)
def test_baselines_on_the_authors_qpr_lists(method):
    train = _released("QPR_val_nolangfilter.json", "QPR", "QPR_val_optionlabels_nolangfilter.json")
    test = _released("QPR_test_nolangfilter.json", "QPR", "QPR_test_optionlabels_nolangfilter.json")
    (out,) = predict(test, method, train_records=train, seed=0)
    assert sorted(out.split(",")) == ["A", "B"]  # "B,A": the release's form, no spaces
    assert parse(out, "QPR") == out.split(",")


@pytest.mark.parametrize("task", ["PM", "SA", "MPC", "PSI", "AP", "PRP"])
def test_majority_accuracy_is_the_majority_share(build, task):
    train = build[(task, "train")]
    counts = Counter(r["output"] for r in train)
    label = min(counts, key=lambda k: (-counts[k], k))  # ties: the first in text order
    recs, outs = _outputs(build, task, "majority")
    assert set(outs) == {label}
    acc = sum(o == r["output"] for o, r in zip(outs, recs)) / len(recs)
    assert acc == sum(r["output"] == label for r in recs) / len(recs)


def test_majority_writes_the_release_output_form():
    train, test = _released(*RELEASED["SA"][:1], "SA"), _released(RELEASED["SA"][1], "SA")
    assert set(predict(test, "majority", train_records=train)) == {"A: very positive"}
    assert gold_answer("SA", {"output": "A: very positive"}) == "A"


def test_random_is_seeded_uniform_over_labels(build):
    recs = build[("SA", "test")] * 20  # same ids repeat: same draws
    a = predict(recs, "random", seed=1)
    assert a == predict(recs, "random", seed=1) and a != predict(recs, "random", seed=2)
    assert set(a) <= set(TASKS["SA"].lettered_options())  # full option texts, as released
    many = [dict(r, id=f"x{i}") for i, r in enumerate(recs)]
    counts = Counter(o[0] for o in predict(many, "random", seed=0))
    assert set(counts) == set("ABCDE") and max(counts.values()) < 2 * min(counts.values())
    sr = predict(build[("SR", "test")], "random", seed=0)
    assert set(sr) <= set("ABCDEFGHIJKLMNOPQRST")
    qpr_recs = build[("QPR", "test")]
    for r, o in zip(qpr_recs, predict(qpr_recs, "random", seed=0)):
        assert sorted(o.split(",")) == sorted("ABCD"[: len(r["relevance"])])


def test_lexical_uses_the_text(build):
    # the synthetic SR history repeats the target's words; QPR's exact product is the query
    recs, outs = _outputs(build, "SR", "lexical")
    hits = sum(o == r["output"] for o, r in zip(outs, recs)) / len(recs)
    _, rnd = _outputs(build, "SR", "random")
    assert hits > 0.8 > sum(o == r["output"] for o, r in zip(rnd, recs)) / len(recs)
    recs, outs = _outputs(build, "QPR", "lexical")
    top = [o.split(",")[0] for o in outs]
    with_exact = [(t, r) for t, r in zip(top, recs) if "E" in r["relevance"]]
    assert len(with_exact) > 10
    assert sum(r["relevance"]["ABCD".index(t)] == "E" for t, r in with_exact) / len(with_exact) > 0.8
    recs, outs = _outputs(build, "AVE", "lexical")
    got = [json.loads(o)[0] for o in outs]
    gold = [r["attributes"][0] for r in recs]
    assert all(g["value"] in (t["value"], "None") for g, t in zip(got, gold))
    found = [(g, t) for g, t in zip(got, gold) if t["value"] != "None"]
    assert sum(g == t for g, t in found) >= len(found) - 1  # value and source ("product title")
    recs, outs = _outputs(build, "AG", "lexical")
    assert all("work" in o for o in outs)  # the document sentence that shares the question's words
    recs, outs = _outputs(build, "PRP", "lexical")
    assert set(outs) <= {"A", "B", "C"}


def test_lexical_nearest_neighbour_copies_train_label():
    train = [{"task": "SA", "input": "awful broken junk", "options": [], "output": "E: very negative"},
             {"task": "SA", "input": "great lovely perfect", "options": [], "output": "A: very positive"}]
    test = [{"task": "SA", "id": "1", "input": "perfect and lovely", "options": []},
            {"task": "SA", "id": "2", "input": "broken", "options": []}]
    assert predict(test, "lexical", train_records=train) == ["A: very positive", "E: very negative"]
    # PM: the texts inside the JSON input are compared, NaN and all
    train = [{"task": "PM", "input": json.dumps({"product 1": {"title": "red mug", "description": float("nan")},
                                                  "product 2": {"title": "red mug"}}), "output": "yes"},
             {"task": "PM", "input": json.dumps({"product 1": {"title": "blue lamp"},
                                                  "product 2": {"title": "steel drill"}}), "output": "no"}]
    test = [{"task": "PM", "id": "1", "input": train[1]["input"].replace("blue", "green")}]
    assert "NaN" in train[0]["input"] and predict(test, "lexical", train_records=train) == ["no"]


def test_input_readers_on_release_inputs():
    sr = {"input": str(["1st: usb cable 'braided'", "2nd: kid's \"lamp\""]),
          "options": [f"{LETTERS[k]}: item {k}" for k in range(20)]}
    assert _context(sr) == "usb cable 'braided'\nkid's \"lamp\""
    assert _candidates(sr)[19] == ("T", "item 19")
    qpr = {"input": json.dumps({"query": "red mug", "product list": ["A: mug, red", "B: lamp"]})}
    assert _candidates(qpr) == [("A", "mug, red"), ("B", "lamp")] and _context(qpr) == "red mug"
    prp = {"input": json.dumps({"Product 1:": "usb cable", "Product 2:": "usb charger"})}
    assert _two_products(prp) == ("usb cable", "usb charger")
    ave = {"input": json.dumps({"product title": "x", "target attributes": "Color and Sleeve Style"})}
    assert _target_attributes(ave) == ["Color", "Sleeve Style"]
    ap = {"input": json.dumps({"question": "Is it loud?", "document": ["Very quiet fan. Works.",
                                                                      "Not loud at all here."]})}
    assert _question_and_sentences(ap) == ("Is it loud?", ["Very quiet fan.", "Not loud at all here."])


@pytest.mark.parametrize("bad", ["[", "{\"query\": ", "['1st: x', __import__('os')]", "[" * 5000,
                                 "[" * 3000 + "]" * 3000, "x" * 10, "['a'] + ['b']", "[1, 2]", "nan", "NaN", "{}", "[]"])
@pytest.mark.parametrize("task", list(TASKS))
def test_malformed_inputs_never_crash(task, bad):
    rec = dict(make_record(task, "test", 0, random.Random(1)), input=bad)
    train = [make_record(task, "train", i, random.Random(i)) for i in range(6)]
    for method in METHODS:
        (out,) = predict([rec], method, train_records=train, seed=0)
        assert isinstance(out, str)


def test_errors():
    with pytest.raises(ValueError, match="unknown baseline"):
        predict([{"task": "SA", "input": ""}], "oracle")
    with pytest.raises(ValueError, match="needs train_records"):
        predict([{"task": "SA", "input": ""}], "majority")
    with pytest.raises(ValueError, match="one task"):
        predict([{"task": "SA", "input": ""}, {"task": "PM", "input": ""}], "random")
    assert predict([], "random") == []
