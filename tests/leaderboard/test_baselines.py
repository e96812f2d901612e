"""Weight-free baselines: parseable outputs, deterministic, and no better than they should be."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import load

from ecinstruct_eval.parsing import parse
from ecinstruct_eval.tasks import TASKS
from leaderboard.baselines import METHODS, predict


def _outputs(build_dir, task, split, method, seed=0):
    recs = load(build_dir, task, split)
    return recs, predict(recs, method, train_records=load(build_dir, task, "train"), seed=seed)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("task", list(TASKS))
def test_outputs_parse_without_failures(build_dir, task, method):
    recs, outs = _outputs(build_dir, task, "test", method)
    assert len(outs) == len(recs) and all(isinstance(o, str) for o in outs)
    for r, o in zip(recs, outs):
        assert parse(o, task, r["options"] or None) is not None, (task, method, o)


@pytest.mark.parametrize("task", ["PM", "SA", "MPC", "PSI", "AP", "PRP"])
def test_majority_accuracy_is_the_majority_share(build_dir, task):
    train = load(build_dir, task, "train")
    label, _ = Counter(r["output"] for r in train).most_common(1)[0]
    recs, outs = _outputs(build_dir, task, "test", "majority")
    assert set(outs) == {label}
    acc = sum(o == r["output"] for o, r in zip(outs, recs)) / len(recs)
    assert acc == sum(r["output"] == label for r in recs) / len(recs)


def test_random_is_seeded_uniform_over_labels(build_dir):
    recs = load(build_dir, "SA", "test") * 20  # same ids repeat: same draws
    a = predict(recs, "random", seed=1)
    assert a == predict(recs, "random", seed=1) and a != predict(recs, "random", seed=2)
    assert set(a) <= set(TASKS["SA"].labels)
    many = [dict(r, id=f"x{i}") for i, r in enumerate(recs)]
    counts = Counter(predict(many, "random", seed=0))
    assert set(counts) == set("ABCDE") and max(counts.values()) < 2 * min(counts.values())
    sr = predict(load(build_dir, "SR", "test"), "random", seed=0)
    assert set(sr) <= set("ABCDEFGHIJKLMNOPQRST")
    qpr_recs = load(build_dir, "QPR", "test")
    for r, o in zip(qpr_recs, predict(qpr_recs, "random", seed=0)):
        assert sorted(o.split(", ")) == sorted("ABCD"[: len(r["relevance"])])


def test_lexical_uses_the_text(build_dir):
    # the synthetic SR history repeats the target's words; QPR's exact product is the query
    recs, outs = _outputs(build_dir, "SR", "test", "lexical")
    hits = sum(o == r["output"] for o, r in zip(outs, recs)) / len(recs)
    _, rnd = _outputs(build_dir, "SR", "test", "random")
    assert hits > 0.8 > sum(o == r["output"] for o, r in zip(rnd, recs)) / len(recs)
    recs, outs = _outputs(build_dir, "QPR", "test", "lexical")
    top = [o.split(", ")[0] for o in outs]
    with_exact = [(t, r) for t, r in zip(top, recs) if "E" in r["relevance"]]
    assert len(with_exact) > 10
    assert sum(r["relevance"]["ABCD".index(t)] == "E" for t, r in with_exact) / len(with_exact) > 0.8
    recs, outs = _outputs(build_dir, "AVE", "test", "lexical")
    values = [(parse(o, "AVE")[0][1] or "None", r["attributes"][0]["value"]) for o, r in zip(outs, recs)]
    assert all(got in (gold, "None") for got, gold in values)
    assert sum(got == gold != "None" for got, gold in values) >= sum(gold != "None" for _, gold in values) - 1
    recs, outs = _outputs(build_dir, "AG", "test", "lexical")
    assert all("work" in o for o in outs)  # the review sentence that shares the question's words


def test_lexical_nearest_neighbour_copies_train_label():
    train = [{"task": "SA", "input": "awful broken junk", "options": [], "output": "E"},
             {"task": "SA", "input": "great lovely perfect", "options": [], "output": "A"}]
    test = [{"task": "SA", "id": "1", "input": "perfect and lovely", "options": []},
            {"task": "SA", "id": "2", "input": "broken", "options": []}]
    assert predict(test, "lexical", train_records=train) == ["A", "E"]


def test_errors():
    with pytest.raises(ValueError, match="unknown baseline"):
        predict([{"task": "SA", "input": ""}], "oracle")
    with pytest.raises(ValueError, match="needs train_records"):
        predict([{"task": "SA", "input": ""}], "majority")
    with pytest.raises(ValueError, match="one task"):
        predict([{"task": "SA", "input": ""}, {"task": "PM", "input": ""}], "random")
    assert predict([], "random") == []
