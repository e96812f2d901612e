"""compat="released": the authors' scorer's numbers on the same inputs, without its crashes."""

import pytest

from ecinstruct_eval import score


def test_option_tasks_take_the_first_character_and_drop_failed():
    preds = ["B: positive", "Answer: A", "", "C"]  # "Answer: A" -> "A" (first char!), "" dropped
    refs = ["B", "B", "A", "C"]
    r = score(preds, "SA", refs, compat="released")
    assert r.n_failed == 1
    assert r["accuracy"] == pytest.approx(2 / 3)
    # macro over the labels that occur (A, B, C), as sklearn's default does
    assert r["macro_recall"] == pytest.approx((0 + 0.5 + 1) / 3)
    paper = score(preds, "SA", refs)
    assert paper["accuracy"] == pytest.approx(2 / 4)  # failed counts as wrong


def test_released_accepts_e_on_three_class_prp_like_its_scorer():
    r = score(["E", "A"], "PRP", ["A", "A"], compat="released")
    assert r.n_failed == 0 and r["accuracy"] == 0.5


def test_sr_needs_exactly_one_letter():
    r = score(["C", " D ", "The answer is C", "U"], "SR", ["C", "D", "C", "A"],
              compat="released")
    assert r.n_failed == 2 and r["hr@1"] == 1.0


def test_yes_no_exact_lowercase_and_failed_dropped():
    preds = ["Yes", "no", "Yes, same product.", "no"]
    refs = ["yes", "no", "yes", "yes"]
    r = score(preds, "PM", refs, compat="released")
    assert r.n_failed == 1
    assert r["accuracy"] == pytest.approx(2 / 3)
    assert r["recall"] == 0.5 and r["precision"] == 1.0
    assert r["specificity"] == pytest.approx(1 / (1 + 1e-8))
    # single-class confusion matrix (the released scorer crashes on it)
    assert score(["yes"], "PM", ["yes"], compat="released")["specificity"] == 0.0


def test_qpr_normalises_by_the_predicted_list():
    refs = [{"output": "B,C,A", "relevance": ["I", "E", "S"]}]
    # A truncated list scores (almost) 1.0 under the released normalisation...
    r = score(["B"], "QPR", refs, compat="released")
    assert r["ndcg"] == pytest.approx(1 / (1 + 1e-6))
    # ...and below 1 under the paper's (ideal ranking of the gold grades)
    assert score(["B"], "QPR", refs)["ndcg"] < 0.96


def test_qpr_comma_space_quirk_keeps_only_the_first_letter():
    refs = [{"output": "B,C,A", "relevance": ["I", "E", "S"]}]
    spaced = score(["C, B, A"], "QPR", refs, compat="released")
    assert spaced.n_failed == 1  # " B" and " A" were skipped
    gain = 2**0.1 - 1  # only C (grade S) is scored
    assert spaced["ndcg"] == pytest.approx(gain / (gain + 1e-6))


def test_qpr_empty_output_does_not_crash():
    refs = [{"output": "A,B", "relevance": ["E", "S"]}]
    assert score([""], "QPR", refs, compat="released")["ndcg"] == 0.0


def test_ave_exact_triples_and_substring_in_ood():
    gold = '[{"attribute": "material", "value": "nylon", "source": "product feature"}]'
    near = '[{"attribute": "material", "value": "durable nylon", "source": "feature"}]'
    ind = score([near], "AVE", [gold], compat="released", split="test")
    ood = score([near], "AVE", [gold], compat="released", split="test_ood")
    assert ind["f1_star"] == 0.0
    assert ood["recall_star"] == 1.0
    # free text is not JSON: unreadable, no hits, no crash
    r = score(["Attribute: material; Value: nylon; Source: product feature.", None, "[1, 2]"],
              "AVE", [gold] * 3, compat="released")
    assert r["f1_star"] == 0.0 and r.n_failed == 2


def test_ave_no_one_to_one_matching():
    gold = '[{"attribute": "a", "value": "x", "source": "title"}]'
    dup = '[{"attribute": "a", "value": "x", "source": "title"}, ' \
          '{"attribute": "a", "value": "x", "source": "title"}]'
    r = score([dup], "AVE", [gold], compat="released")
    assert r["recall_star"] == 2.0  # two hits for one gold triple, as released


def test_failed_option_is_rejected_in_released_mode():
    with pytest.raises(ValueError, match="failed"):
        score(["A"], "SA", ["A"], compat="released", failed="wrong")


def test_empty_prediction_never_crashes_in_released_mode():
    for task, gold in [("SA", "A"), ("SR", "A"), ("PM", "yes"), ("MPC", "B")]:
        r = score(["", None], task, [gold, gold], compat="released")
        assert r.n_failed == 2
