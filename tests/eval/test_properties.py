"""Property tests: parse never raises, score never raises, counts add up."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecinstruct_eval import TASKS, parse, score

NON_AG = [t for t in TASKS if t != "AG"]

# Text that looks like model output: letters, option words, separators, markers.
pieces = st.sampled_from(["A", "B", "C", "T", "I", "yes", "no", "Answer:", "(B)", ",", ">", "\n",
                          "### Response:", "[/INST]", "**", "very positive", "Attribute:",
                          "Value:", "Source:", "None", ";", "[", "]", "{", "}", '"', " ",
                          "I'm sorry", "positive", "nylon"])
outputs = st.one_of(st.none(), st.text(max_size=80),
                    st.lists(pieces, max_size=12).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(output=outputs, task=st.sampled_from(list(TASKS)))
def test_parse_never_raises(output, task):
    parse(output, task)


@settings(max_examples=100, deadline=None)
@given(output=outputs, options=st.lists(st.text(max_size=20), max_size=5))
def test_parse_with_arbitrary_options_never_raises(output, options):
    result = parse(output, "SR", options)
    assert result is None or result in string.ascii_uppercase


# Well-formed answers too, so that right, wrong and partly right items all occur.
ANSWERS = (
    ["A", "B", "C", "D", "E", "yes", "no", "A, B", "B, A", "A,B", "B,A", "C, A", "A, B, C, D",
     "B > A",
     '[{"attribute": "color", "value": "red", "source": "title"}]',
     '[{"attribute": "color", "value": "dark red", "source": "title"}]',
     '[{"attribute": "color", "value": "nylon", "source": "title"}]',
     '[{"attribute": "color", "value": "None", "source": "None"}]', "[]",
     # the official release's output forms, which eCeLLM models answer in
     "A: very positive", "E: very negative", "B,A,C", "C,A",
     *TASKS["MPC"].lettered_options()])
answers = st.sampled_from(ANSWERS)
score_outputs = st.one_of(outputs, answers)


def _refs(task, n, data):
    spec = TASKS[task]
    if spec.kind == "binary":
        return [data.draw(st.sampled_from(["yes", "no"])) for _ in range(n)]
    if spec.kind in ("multiclass", "pick"):
        # the letter (older builds) or the release's form (SA, MPC: the full option text)
        return [data.draw(st.sampled_from(spec.labels).flatmap(
            lambda x: st.sampled_from([x, spec.format_answer(x)]))) for _ in range(n)]
    if spec.kind == "ranking":
        grades = st.lists(st.sampled_from("ESCI"), min_size=2, max_size=4)
        return [{"output": data.draw(st.sampled_from(["A, B", "A,B"])),
                 "relevance": data.draw(grades)} for _ in range(n)]
    value = st.sampled_from(["None", "red", "nylon"])
    return [f'[{{"attribute": "color", "value": "{data.draw(value)}", "source": "title"}}]'
            for _ in range(n)]


def _independently_wrong(task, compat, item, ref, prediction):
    """Whether an answered item is wrong, decided from the gold and the output alone.

    Uses the metric definitions directly, not the result's ``correct`` column,
    so a miscount of ``n_correct`` (or of ``n_failed``) breaks the sum below.
    """
    from ecinstruct_eval.metrics import released
    from ecinstruct_eval.metrics.extraction import ave_counts, gold_triples
    from ecinstruct_eval.metrics.ranking import ESCI_GRADES, query_ndcg

    spec = TASKS[task]
    if spec.kind in ("binary", "multiclass", "pick"):
        gold = ref.strip().lower() if spec.kind == "binary" else ref[0]
        return item.parsed is not None and item.parsed != gold
    if spec.kind == "ranking":
        if compat == "released":
            value, skipped = released.qpr_item(prediction, ref["relevance"])
            if skipped:
                return False
            # right = the grades read are in best-first order (its 1e-6 keeps the NDCG below 1)
            gains = [ESCI_GRADES[ref["relevance"]["ABCD".index(piece[0])]]
                     for piece in prediction.strip().split(",")]
            return value == 0 or gains != sorted(gains, reverse=True)
        return item.parsed is not None and query_ndcg(ref["relevance"], item.parsed) < 1 - 1e-9
    if compat == "released":
        hits, n_gold, _, unreadable = released.ave_item(prediction, ref, ood=False)
        return not unreadable and not (n_gold > 0 and hits >= n_gold)
    if item.parsed is None:
        return False
    c = ave_counts(gold_triples(ref), item.parsed)
    return c["nv"] + c["cv"] < c["n"]


@pytest.mark.parametrize("compat", ["paper", "released"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), task=st.sampled_from(NON_AG))
def test_score_never_raises_and_counts_add_up(compat, data, task):
    preds = data.draw(st.lists(score_outputs, min_size=1, max_size=8))
    refs = _refs(task, len(preds), data)
    result = score(preds, task, refs, compat=compat)
    wrong = sum(_independently_wrong(task, compat, it, ref, p)
                for it, ref, p in zip(result.per_item, refs, preds))
    assert result.n == len(preds) == result.n_correct + wrong + result.n_failed
    assert all(v == v for v in result.values())  # no NaN
    assert set(result) >= {result.primary}
    assert result.recompute(range(result.n)) == dict(result)


FIXED_REFS = {
    "binary": ["yes", "no"],
    "multiclass": ["A", "B", "C", "A: very positive"],
    "pick": ["A", "B", "C"],
    "ranking": [{"output": "A, B", "relevance": ["E", "S"]},
                {"output": "B,A", "relevance": ["I", "E", "C"]}],
    "extraction": ['[{"attribute": "color", "value": "red", "source": "title"}]',
                   '[{"attribute": "color", "value": "None", "source": "None"}]'],
}


@pytest.mark.parametrize("compat", ["paper", "released"])
@pytest.mark.parametrize("task", NON_AG)
def test_counts_add_up_on_every_well_formed_answer(task, compat):
    # The same check on a fixed grid, so right, partly right, wrong and failed
    # items of every family are always covered.
    golds = FIXED_REFS[TASKS[task].kind]
    grid = ANSWERS + ["", None, "I'm sorry"]
    preds = [p for p in grid for _ in golds]
    refs = [g for _ in grid for g in golds]
    result = score(preds, task, refs, compat=compat)
    wrong = sum(_independently_wrong(task, compat, it, ref, p)
                for it, ref, p in zip(result.per_item, refs, preds))
    assert result.n_correct > 0 and wrong > 0 and result.n_failed > 0
    assert result.n == len(preds) == result.n_correct + wrong + result.n_failed


SR_OPTIONS = [f"{chr(65 + i)}: Product {i} title. Electronics. Brand{i}." for i in range(20)]
QPR_OPTIONS = ["A: red shoes", "B: blue shoes", "C: socks"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(output=st.one_of(outputs, st.sampled_from(
    ["B", " C ", "yes", "No.", "A, C, B", "A,B", "B,A,C", "C,C", "Z", "A: very positive",
     "D: The product is irrelevant to the query.", "C: The product 1 is similar with the product 2.", '[{"attribute": "a", "value": "x"}]',
     '{"attribute": "a", "value": "x", "source": "t"}', "fits  well", "ok", "yes."])),
       task=st.sampled_from(list(TASKS)))
def test_fast_path_agrees_with_the_full_chain(output, task):
    from ecinstruct_eval.parsing import _parse_chain

    spec = TASKS[task]
    options = SR_OPTIONS if task == "SR" else QPR_OPTIONS if task == "QPR" else None
    if output is None:
        return
    assert parse(output, task, options) == _parse_chain(output, spec, options)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(preds=st.lists(outputs, min_size=1, max_size=6), failed=st.sampled_from(["wrong", "exclude"]))
def test_ag_score_never_raises_with_stub_models(monkeypatch, preds, failed):
    import numpy as np

    from ecinstruct_eval.metrics import generation

    def fake_bertscore(cands, refs, **kw):
        z = np.array([float(len(c) > 0) for c in cands])
        return {"bertscore_precision": z, "bertscore_recall": z, "bertscore_f1": z}, "stub-bs"

    monkeypatch.setattr(generation, "bertscore", fake_bertscore)
    monkeypatch.setattr(generation, "bleurt", lambda c, r, **kw: (np.zeros(len(c)), "stub-bl"))
    result = score(preds, "AG", ["a reference answer"] * len(preds), failed=failed)
    assert result.n == len(preds) and result.n_correct == 0
    assert result.settings["bertscore"] == "stub-bs"
    assert result.recompute(range(result.n)) == dict(result)
