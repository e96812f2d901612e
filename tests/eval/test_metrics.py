"""Metric definitions (paper, Table A1, eq. 1) and the Table A10 reproduction."""

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from ecinstruct_eval import score
from ecinstruct_eval.metrics import (
    ave_counts,
    ave_metrics,
    binary_metrics,
    hit_rate_at_1,
    multiclass_metrics,
    ndcg,
    query_ndcg,
)

# --------------------------------------------------------------------- Table A10 (PM, IND)
# The PM test set has 253 items: 111 "yes" and 142 "no" (the only split
# consistent with every row of Table A10).  (TP, FN, TN, FP) per row.
TABLE_A10 = {
    "GPT-4 Turbo": ((67, 44, 142, 0), (0.826, 0.604, 1.000, 0.753, 1.000, 0.763), 0),
    "Gemini Pro": ((85, 26, 142, 0), (0.897, 0.766, 1.000, 0.867, 1.000, 0.845), 0),
    "Llama-2 13B-chat": ((51, 60, 69, 73), (0.474, 0.459, 0.411, 0.434, 0.486, 0.535), 0),
    "EcomGPT": ((82, 29, 82, 60), (0.648, 0.739, 0.577, 0.648, 0.577, 0.739), 0),
    "DeBERTaV3": ((111, 0, 35, 107), (0.577, 1.000, 0.509, 0.675, 0.246, 1.000), 0),
    "Mistral-7B task-specific": ((110, 1, 140, 2), (0.988, 0.991, 0.982, 0.987, 0.986, 0.993), 0),
    # One failed output, counted as the opposite label (here a gold "no" -> a false positive).
    "Claude 2.1": ((40, 71, 140, 2), (0.711, 0.360, 0.952, 0.523, 0.986, 0.664), 1),
}
ORDER = ("accuracy", "recall", "precision", "f1", "specificity", "npr")


def pm_test_set(tp, fn, tn, fp, n_failed, failed_gold="no"):
    gold = ["yes"] * (tp + fn) + ["no"] * (tn + fp)
    outputs = (["Yes, they are the same product."] * tp + ["no."] * fn + ["No"] * tn
               + ["yes"] * fp)
    # Replace n_failed of the wrong answers on `failed_gold` items by unparseable outputs.
    wrong = [i for i, (g, o) in enumerate(zip(gold, outputs))
             if g == failed_gold and o.lower().startswith("no" if g == "yes" else "yes")]
    for i in wrong[:n_failed]:
        outputs[i] = "I cannot tell whether these are the same product."
    ids = [f"PM-test-{i:05d}" for i in range(len(gold))]
    refs = [{"id": i, "output": g} for i, g in zip(ids, gold)]
    return [{"id": i, "prediction": o} for i, o in zip(ids, outputs)], refs


@pytest.mark.parametrize("row", list(TABLE_A10))
def test_pm_reproduces_table_a10_row(row):
    cm, expected, n_failed = TABLE_A10[row]
    preds, refs = pm_test_set(*cm, n_failed)
    assert len(refs) == 253
    result = score(preds, "PM", refs)
    assert result.n_failed == n_failed
    assert tuple(round(result[m], 3) for m in ORDER) == expected


def test_pm_failed_on_a_gold_yes_item_is_a_false_negative():
    preds, refs = pm_test_set(40, 71, 140, 2, 1, failed_gold="yes")
    result = score(preds, "PM", refs)
    assert result.n_failed == 1
    assert tuple(round(result[m], 3) for m in ORDER) == TABLE_A10["Claude 2.1"][1]


def test_pm_excluding_failed_changes_the_denominator():
    preds, refs = pm_test_set(40, 71, 140, 2, 1)
    result = score(preds, "PM", refs, failed="exclude")
    assert result.n == 253 and result.n_failed == 1
    assert result["accuracy"] == pytest.approx(180 / 252)
    assert result["precision"] == pytest.approx(40 / 41)


# --------------------------------------------------------------------- classification


def test_macro_counts_classes_never_predicted():
    # Nobody predicts "C": it still counts (precision 0, recall 0) in the macro mean,
    # also when the model only ever answers one class.
    m = multiclass_metrics(["A", "B", "C"], ["A", "B", "B"], labels="ABCDE")
    assert m["macro_precision"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["macro_recall"] == pytest.approx((1 + 1 + 0) / 3)
    always_a = multiclass_metrics(["A", "B", "C"], ["A", "A", "A"], labels="ABC")
    assert always_a["macro_recall"] == pytest.approx(1 / 3)
    assert always_a["macro_f1"] == pytest.approx((0.5 + 0 + 0) / 3)


def test_macro_leaves_out_classes_with_no_gold_and_no_prediction():
    # "C".."E" have neither gold items nor predictions: undefined, not zero.
    m = multiclass_metrics(["A", "B"], ["A", "B"], labels="ABCDE")
    assert m["accuracy"] == 1.0 and m["macro_f1"] == 1.0


def test_failed_outputs_are_misses_not_a_class():
    m = multiclass_metrics(["A", "B"], ["A", None], labels="AB")
    assert m["macro_recall"] == pytest.approx(0.5)
    assert m["macro_precision"] == pytest.approx(0.5)  # B predicted never: precision 0


def test_multiclass_matches_sklearn_with_failed_as_no_class():
    rng = np.random.default_rng(0)
    gold = list(rng.choice(list("ABC"), 200))
    pred = [None if rng.random() < 0.1 else p for p in rng.choice(list("ABC"), 200)]
    m = multiclass_metrics(gold, pred, labels="ABC")
    expected = f1_score(gold, [p or "X" for p in pred], labels=list("ABC"), average="macro")
    assert m["macro_f1"] == pytest.approx(expected)
    assert m["accuracy"] == pytest.approx(np.mean([g == p for g, p in zip(gold, pred)]))


def test_binary_failed_is_the_opposite_label_in_every_metric():
    m = binary_metrics(["yes", "no"], [None, None])
    assert m == {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0,
                 "specificity": 0.0, "npr": 0.0}


def test_binary_rejects_unknown_gold_labels():
    with pytest.raises(ValueError, match="maybe"):
        binary_metrics(["maybe"], ["yes"])


# --------------------------------------------------------------------- ranking


def test_hr_at_1():
    assert hit_rate_at_1(["A", "B", "C", "D"], ["A", "B", None, "A"]) == 0.5
    assert hit_rate_at_1(["A", "B", "C", "D"], ["A", "B", None, "A"], failed="exclude") == \
        pytest.approx(2 / 3)


def test_ndcg_uses_esci_gains_and_the_gold_ideal_ranking():
    rel = ["I", "E", "S"]
    gains = {"E": 1.0, "S": 2**0.1 - 1, "I": 0.0}
    ideal = gains["E"] + gains["S"] / math.log2(3)
    assert query_ndcg(rel, ["B", "C", "A"]) == pytest.approx(1.0)
    assert query_ndcg(rel, ["C", "B", "A"]) == pytest.approx(
        (gains["S"] + gains["E"] / math.log2(3)) / ideal)
    # A truncated list is not perfect: the missing products get no gain.
    assert query_ndcg(rel, ["C"]) == pytest.approx(gains["S"] / ideal)
    assert query_ndcg(rel, None) == 0.0
    assert ndcg([rel, rel], [["B", "C", "A"], None]) == 0.5


def test_qpr_score_needs_relevance():
    with pytest.raises(ValueError, match="relevance"):
        score(["A, B"], "QPR", ["A, B"])


# --------------------------------------------------------------------- extraction (eq. 1)


def test_ave_entry_buckets():
    gold = [("material", "nylon", "product description"), ("material", "nylon", "product feature"),
            ("color", None, None), ("size", None, None), ("brand", "Acme", "title"),
            ("style", "knit", "title")]
    pred = [("material", "durable Nylon", "product feature"), ("color", "red", "title"),
            ("brand", "Other", "title")]
    c = ave_counts(gold, pred)
    # material CV, color IV, size NV, brand WV, style NL
    assert (c["cv"], c["iv"], c["nv"], c["wv"], c["nl"], c["n"]) == (1, 1, 1, 1, 1, 5)
    assert (c["source_correct"], c["source_total"]) == (1, 1)


def test_ave_equation_1():
    gold = [[("material", "nylon", "title")], [("color", None, None)], [("size", "XL", "title")],
            [("brand", "Acme", "title")]]
    pred = [[("material", "nylon", "title")], [("color", None, None)], [], None]
    m = ave_metrics(gold, pred)
    # NV=1, CV=1, NL=1 (size), WV=1 (brand, failed counts as wrong); N=4
    assert m["precision_star"] == pytest.approx(2 / 3)
    assert m["recall_star"] == pytest.approx(2 / 4)
    assert m["f1_star"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    excluded = ave_metrics(gold, pred, failed="exclude")
    assert excluded["precision_star"] == 1.0 and excluded["recall_star"] == pytest.approx(2 / 3)


def test_ave_value_must_contain_the_gold_value_and_extra_wrong_values_are_wrong():
    gold = [("color", "yellow", "title")]
    assert ave_counts(gold, [("color", "bright  YELLOW", "title")])["cv"] == 1
    assert ave_counts(gold, [("color", "yel", "title")])["wv"] == 1
    assert ave_counts(gold, [("color", "yellow", "title"), ("color", "blue", "title")])["wv"] == 1


def test_ave_score_reads_gold_attributes_and_free_text_predictions():
    refs = [{"id": "a", "output": '[{"attribute": "material", "value": "nylon", "source": '
             '"product description"}]',
             "attributes": [{"attribute": "material", "value": "nylon",
                             "source": "product description"}]},
            {"id": "b", "output": '[{"attribute": "specialty style", "value": "None", '
             '"source": "None"}]'}]
    preds = {"a": "Attribute: material; Value: nylon; Source: product description.",
             "b": "Attribute: specialty style; Value: None, Source: None."}
    r = score(preds, "AVE", refs)
    assert r["f1_star"] == 1.0 and r["source_accuracy"] == 1.0
    assert r.per_item[0].correct and r.per_item[1].correct


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_metrics_equal_sklearn_over_the_classes_that_occur(seed):
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    gold = list(rng.choice(list("ABCDE"), n))
    pred = [None if rng.random() < 0.15 else str(p) for p in rng.choice(list("ABCD"), n)]
    m = multiclass_metrics(gold, pred, labels="ABCDE")
    filled = [p or "failed" for p in pred]
    seen = sorted(set(gold) | {p for p in pred if p})
    p, r, f, _ = precision_recall_fscore_support(gold, filled, labels=seen,
                                                 average="macro", zero_division=0)
    assert (m["macro_precision"], m["macro_recall"], m["macro_f1"]) == pytest.approx((p, r, f))
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, filled))

    ygold = list(rng.choice(["yes", "no"], n))
    ypred = [None if rng.random() < 0.15 else str(v) for v in rng.choice(["yes", "no"], n)]
    b = binary_metrics(ygold, ypred)
    opposite = {"yes": "no", "no": "yes"}
    filled = [v or opposite[g] for v, g in zip(ypred, ygold)]
    p, r, f, _ = precision_recall_fscore_support(ygold, filled, labels=["yes", "no"],
                                                 average=None, zero_division=0)
    assert (b["precision"], b["recall"], b["f1"], b["npr"], b["specificity"]) == \
        pytest.approx((p[0], r[0], f[0], p[1], r[1]))


# --------------------------------------------------------------------- audit fixes


@pytest.mark.parametrize(
    ("gold", "pred", "correct"),
    [
        ("yellow", "bright yellow", True),  # the paper's example
        ("Yellow", "bright  YELLOW.", True),
        ("5 inch", "5-inch", True),
        ("5", "5-inch", True),
        ("stainless steel", "brushed stainless steel finish", True),
        ("M", "small", False),
        ("2", "12", False),
        ("red", "shredded", False),
        ("steel blue", "blue steel", False),  # token order matters
        ("yel", "yellow", False),
    ],
)
def test_ave_value_containment_is_whole_token(gold, pred, correct):
    c = ave_counts([("color", gold, "title")], [("color", pred, "title")])
    assert (c["cv"], c["wv"]) == ((1, 0) if correct else (0, 1))


def test_released_ave_keeps_its_own_substring_matching_on_ood():
    gold = '[{"attribute": "size", "value": "2", "source": "title"}]'
    pred = '[{"attribute": "size", "value": "12", "source": "title"}]'
    refs = [{"id": "a", "split": "test_ood", "output": gold}]
    assert score([pred], "AVE", refs, compat="released", split="test_ood")["recall_star"] == 1.0
    assert score([pred], "AVE", refs, split="test_ood")["recall_star"] == 0.0


def test_macro_over_a_bootstrap_resample_missing_a_class():
    """A resample without any gold or predicted "C" averages over A, B, D only.

    That equals sklearn with ``labels`` = the classes that occur; sklearn with
    the full label set would add a 0 for the absent class.
    """
    from sklearn.metrics import precision_recall_fscore_support

    gold = ["A", "B", "C", "D", "A", "B", "D", "C"]
    pred = ["A", "B", "C", "A", "A", "D", "D", "C"]
    r = score(pred, "MPC", gold)
    rows = [0, 1, 3, 4, 5, 6, 0, 1]  # no "C" item drawn
    resample = r.recompute(rows)
    g, p = [gold[i] for i in rows], [pred[i] for i in rows]
    occur = sorted(set(g) | set(p))
    assert occur == ["A", "B", "D"]
    expected = precision_recall_fscore_support(g, p, labels=occur, average="macro",
                                               zero_division=0)
    assert (resample["macro_precision"], resample["macro_recall"], resample["macro_f1"]) == \
        pytest.approx(expected[:3])
    full = precision_recall_fscore_support(g, p, labels=list("ABCD"), average="macro",
                                           zero_division=0)
    assert resample["macro_f1"] > full[2]
    # On the full sample every class occurs: the full label set and sklearn agree.
    everything = precision_recall_fscore_support(gold, pred, labels=list("ABCD"),
                                                 average="macro", zero_division=0)
    assert r["macro_f1"] == pytest.approx(everything[2])
