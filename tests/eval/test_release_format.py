"""The scorer on the official release's record format (RELEASED_FORMAT.md §0, §12).

Gold outputs are read in one place (:func:`ecinstruct_eval.gold_answer`): SA/MPC write the full
option text (``"A: very positive"``), QPR the letters joined by ``","`` (``"B,A,C"``).  eCeLLM
models, tuned on these outputs, answer the same way, so those answers must parse to the right
letter or ranking.  Scores must not depend on which form the gold is written in.

Real records come from ``tests/data/released_format`` (the authors' processing of real raw rows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecinstruct_eval import TASKS, gold_answer, parse, score

REF = Path(__file__).resolve().parents[1] / "data" / "released_format"
MPC = TASKS["MPC"].lettered_options()
SA = TASKS["SA"].lettered_options()
PROMPT = ("Below is an instruction that describes a task, paired with an input that provides "
          "further context. Write a response that appropriately completes the request.")


def _records(name: str, labels: str | None = None) -> list[dict]:
    """The reference file's records, with ``options`` as a list (the canonical schema)."""
    raw = json.loads((REF / name).read_text(encoding="utf-8"))
    grades = json.loads((REF / labels).read_text(encoding="utf-8")) if labels else None
    return [{"id": f"r{i}", "input": r["input"], "output": r["output"],
             "options": json.loads(r.get("options", "[]")),
             "relevance": grades[i] if grades else []} for i, r in enumerate(raw)]


# --------------------------------------------------------------------------- gold


@pytest.mark.parametrize(("task", "output", "expected"), [
    ("SA", "A: very positive", "A"),
    ("SA", "E: very negative", "E"),
    ("SA", "C", "C"),                 # older builds and imports: a bare letter
    ("SA", "b", "B"),
    ("SA", "neutral", "C"),           # an option's text without its letter
    ("MPC", MPC[1], "B"),
    ("MPC", MPC[3] + "\n", "D"),
    ("MPC", "D", "D"),
    ("PRP", "C", "C"),
    ("SR", "T", "T"),
    ("PM", "Yes", "yes"),
    ("PSI", "no", "no"),
    ("AG", "Fits the 2019 model.", "Fits the 2019 model."),
])
def test_gold_answer_reads_release_and_older_forms(task, output, expected):
    assert gold_answer(task, {"output": output}) == expected


def test_gold_answer_follows_the_record_options():
    # SR options vary per record; the output may be an option's whole text
    options = [f"{chr(65 + i)}: item {i}" for i in range(20)]
    assert gold_answer("SR", {"output": "C: item 2", "options": options}) == "C"
    assert gold_answer("SR", {"output": "item 7", "options": options}) == "H"
    # options kept as the release's table keeps them: text
    assert gold_answer("SA", {"output": "B: positive", "options": json.dumps(SA)}) == "B"
    assert gold_answer("SR", {"output": "S", "options": str(options)}) == "S"


@pytest.mark.parametrize("output", ["B,A,C", "B, A, C", " B,A , C "])
def test_gold_ranking_with_and_without_spaces(output):
    assert gold_answer("QPR", {"output": output, "relevance": ["S", "E", "I"]}) == ["B", "A", "C"]


@pytest.mark.parametrize(("task", "ref", "message"), [
    ("SA", {"output": "F: great"}, "not one of the 5 option letters"),
    ("SA", {"output": "superb"}, "not one of the 5 option letters"),
    ("MPC", {"output": "E"}, "not one of the 4 option letters"),
    ("QPR", {"output": "B,A,D", "relevance": ["S", "E", "I"]}, "not a ranking of the 3 option"),
    ("QPR", {"output": "B,B", "relevance": ["S", "E"]}, "not a ranking"),
    ("QPR", {"output": "", "relevance": ["S", "E"]}, "not a ranking"),
])
def test_bad_gold_is_one_clear_error(task, ref, message):
    with pytest.raises(ValueError, match=message):
        gold_answer(task, ref)
    with pytest.raises(ValueError, match=rf"{task} reference 0 \(id 'x'\): .*{message}"):
        score(["A"], task, [{**ref, "id": "x"}])


@pytest.mark.parametrize(("name", "task", "labels"), [
    ("SA_IND_test.json", "SA", None), ("SA_OOD_test.json", "SA", None),
    ("MPC_test_nolangfilter.json", "MPC", None), ("MPC_train_nolangfilter.json", "MPC", None),
    ("PM_test.json", "PM", None), ("PSI_test_nolangfilter.json", "PSI", None),
    ("QPR_val_nolangfilter.json", "QPR", "QPR_val_optionlabels_nolangfilter.json"),
    ("QPR_test_nolangfilter.json", "QPR", "QPR_test_optionlabels_nolangfilter.json"),
])
@pytest.mark.parametrize("compat", ["paper", "released"])
def test_release_outputs_as_predictions_score_perfectly(name, task, labels, compat):
    refs = _records(name, labels)
    r = score([x["output"] for x in refs], task, refs, compat=compat)
    assert r.n == len(refs) and r.n_failed == 0
    assert r.n_correct == r.n, [it for it in r.per_item if not it.correct][:2]
    # released QPR: its 1e-6 keeps the NDCG below 1 (0.999986 for an S-over-I list)
    assert r[r.primary] == pytest.approx(1.0, abs=1e-4)


def test_release_gold_letters_of_the_real_records():
    refs = _records("SA_IND_test.json")
    letters = [gold_answer("SA", ref) for ref in refs]
    assert letters == [ref["output"][0] for ref in refs] and set(letters) <= set("ABCDE")
    qpr = _records("QPR_val_nolangfilter.json", "QPR_val_optionlabels_nolangfilter.json")
    assert gold_answer("QPR", qpr[0]) == ["A", "C", "B"]  # output "A,C,B", grades E, I, S


# --------------------------------------------------------------------------- predictions


def _echoed(answer: str, options: list[str], style: str) -> str:
    """What the authors' pipelines return: prompt (§12) plus generation."""
    opts = json.dumps(options)
    body = f"{PROMPT}\n\n### Instruction:\nPick.\n\n### Input:\nx\n\n### Options:\n{opts}\n\n"
    if style == "alpaca":
        return f"{body}### Response:\n{answer}"
    return f"[INST] {body} [/INST] ### Response:\n{answer}</s>"


@pytest.mark.parametrize("i", range(4))
@pytest.mark.parametrize("options", [MPC, None])
@pytest.mark.parametrize("shape", ["bare", "newline", "alpaca", "mistral", "no letter",
                                   "lower", "markdown", "continues"])
def test_every_mpc_option_text_parses_as_its_own_letter(i, options, shape):
    text = MPC[i]
    raw = {"bare": text, "newline": f"{text}\n", "alpaca": _echoed(text, MPC, "alpaca"),
           "mistral": _echoed(text, MPC, "mistral"), "no letter": text[3:],
           "lower": text.lower(), "markdown": f"**{text}**",
           "continues": f"{text}\n\n### Instruction:\nNext task"}[shape]
    assert parse(raw, "MPC", options) == "ABCD"[i]


@pytest.mark.parametrize("i", range(5))
def test_every_sa_option_text_parses_as_its_own_letter(i):
    for raw in (SA[i], f" {SA[i]}\n", _echoed(SA[i], SA, "mistral"), SA[i].split(": ", 1)[1]):
        assert parse(raw, "SA", SA) == parse(raw, "SA") == "ABCDE"[i], raw


@pytest.mark.parametrize("task", ["SA", "MPC", "PRP"])
def test_fast_path_agrees_with_the_chain_on_whole_options(task):
    from ecinstruct_eval.parsing import _parse_chain

    spec = TASKS[task]
    opts = spec.lettered_options()
    for i, opt in enumerate(opts):
        for options in (None, opts):
            assert parse(opt, task, options) == _parse_chain(opt, spec, options) == "ABCDE"[i]
    # other options: the full chain decides ("A: x" on a record whose options differ)
    other = ["A: x", "B: y", "C: z", "D: w", "E: v"]
    assert parse(opts[0], task, other) == _parse_chain(opts[0], spec, other)


def test_an_option_text_under_another_letter_is_ambiguous():
    assert parse("A: " + MPC[3][3:], "MPC", MPC) is None
    assert parse("B: very positive", "SA", SA) is None


@pytest.mark.parametrize("raw", ["B,A,C", "B, A, C", "B,A,C</s>", "### Response:\nB,A,C",
                                 "B,A,C\n\n### Instruction: next"])
def test_release_ranking_parses(raw):
    assert parse(raw, "QPR", ["A: x", "B: y", "C: z"]) == parse(raw, "QPR") == ["B", "A", "C"]


def test_released_compat_reads_the_first_character_of_option_texts():
    refs = [{"output": o, "options": MPC} for o in MPC]
    preds = [MPC[0], MPC[2], "C", "The product is irrelevant to the query."]
    r = score(preds, "MPC", refs, compat="released")
    # first characters A, C, C, T: T is no option letter (dropped, as the released scorer does)
    assert r.n_failed == 1 and r["accuracy"] == pytest.approx(2 / 3)
    assert score(preds, "MPC", refs)["accuracy"] == 0.75  # paper: the last one is D, right


# --------------------------------------------------------------------------- old vs release golds


def _old_and_release(task: str) -> tuple[list, list, list]:
    """(old-form references, release-form references, predictions) on the same items."""
    spec = TASKS[task]
    if spec.kind == "ranking":
        rel = [["S", "E", "I"], ["E", "S"], ["I", "C", "S", "E"], ["E", "I"]]
        rank = [["B", "A", "C"], ["A", "B"], ["D", "C", "B", "A"], ["A", "B"]]
        old = [{"output": ", ".join(k), "relevance": g} for k, g in zip(rank, rel)]
        new = [{"output": ",".join(k), "relevance": g} for k, g in zip(rank, rel)]
        preds = ["B,A,C", "B, A", "D > C > A > B", "", "A", "B,A,C"]
        return old, new, preds[:4]
    if spec.kind == "extraction":
        triples = [[{"attribute": "color", "value": "r\u00e9d", "source": "product title"}],
                   [{"attribute": "size", "value": "None", "source": "None"}],
                   [{"attribute": "color", "value": "blue", "source": "product description"},
                    {"attribute": "material", "value": "nylon", "source": "product title"}]]
        old = [json.dumps(t, ensure_ascii=False) for t in triples]
        new = [json.dumps(t) for t in triples]  # the release: ASCII escapes
        return old, new, [new[0], "[]", json.dumps(triples[2][:1])]
    if spec.kind == "binary":
        golds = ["yes", "no", "yes", "no"]
        return golds, golds, ["yes", "No.", "", "yes"]
    if spec.kind == "generation":
        golds = ["It fits.", "No, it does not."]
        return golds, golds, ["It fits.", ""]
    letters = list(spec.labels[:3]) + [spec.labels[0]]
    opts = spec.lettered_options() or [f"{chr(65 + i)}: item {i}" for i in range(20)]
    old = [{"output": x, "options": opts} for x in letters]
    new = [{"output": spec.format_answer(x), "options": opts} for x in letters]
    full = opts[LETTERS_INDEX[letters[1]]]
    preds = [letters[0], full, "Z", opts[LETTERS_INDEX[letters[0]]]]
    return old, new, preds


LETTERS_INDEX = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRST")}


@pytest.mark.parametrize("compat", ["paper", "released"])
@pytest.mark.parametrize("task", list(TASKS))
def test_old_and_release_golds_give_identical_results(task, compat):
    old, new, preds = _old_and_release(task)
    assert [gold_answer(task, o if isinstance(o, dict) else {"output": o}) for o in old] == \
        [gold_answer(task, n if isinstance(n, dict) else {"output": n}) for n in new]
    if TASKS[task].kind == "generation":
        return  # the gold is the answer text in both forms; BERTScore is tested elsewhere
    a, b = score(preds, task, old, compat=compat), score(preds, task, new, compat=compat)
    assert dict(a) == dict(b) and a.n_failed == b.n_failed and a.n_correct == b.n_correct
    assert [(it.parsed, it.gold, it.correct) for it in a.per_item] == \
        [(it.parsed, it.gold, it.correct) for it in b.per_item]


@pytest.mark.parametrize("compat", ["paper", "released"])
@pytest.mark.parametrize("task", ["SA", "MPC", "PRP"])
def test_full_option_answers_score_as_their_letters(task, compat):
    spec = TASKS[task]
    golds = [spec.format_answer(x) for x in spec.labels] * 2
    letters = list(spec.labels) + list(reversed(spec.labels))
    texts = [spec.lettered_options()[LETTERS_INDEX[x]] for x in letters]
    assert dict(score(letters, task, golds, compat=compat)) == \
        dict(score(texts, task, golds, compat=compat))
