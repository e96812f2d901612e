"""The six Appendix C instructions of every task, as finalize and the prompts use them."""

import dataclasses
import re

import pytest
from ecinstruct_builders.instructions import INSTRUCTIONS, SEEN_KINDS

from ecinstruct_eval.tasks import TASKS


def test_every_task_has_five_seen_and_one_unseen():
    assert set(INSTRUCTIONS) == set(TASKS)
    for code, ins in INSTRUCTIONS.items():
        assert len(ins.seen) == 5, code
        assert isinstance(ins.unseen, str) and ins.unseen, code
        assert ins.unseen not in ins.seen, code
        assert len(set(ins.seen)) == 5, code


def test_no_pdf_artefacts():
    for code, ins in INSTRUCTIONS.items():
        for text in (*ins.seen, ins.unseen):
            assert "*" not in text, code
            assert "\n" not in text and "  " not in text, code
            assert text == text.strip() and text.isascii(), code
            assert re.search(r"[.?]$", text), (code, text)
            # hyphenation / split-word artefacts like "at tribute"
            assert " tribute" not in text, code


def test_known_texts_verbatim():
    assert INSTRUCTIONS["PM"].seen[4] == (
        "Compare the details of two given products to determine if they are identical. "
        "Output yes if they are identical or no otherwise."
    )  # the J.2 case study
    assert INSTRUCTIONS["AVE"].seen[0].startswith("Given the title, description, feature, price, and brand")
    assert INSTRUCTIONS["AG"].unseen.endswith("generate an answer to the given question.")
    assert INSTRUCTIONS["MPC"].seen[0].startswith("What is the relevance between the query")


def test_sa_generated_4_holds_the_option_list():
    text = INSTRUCTIONS["SA"].by_kind("generated_4")
    assert "(A: very positive, B: positive, C: neutral, D: negative, E: very negative)" in text
    # ...and it spells the options as the registry does
    listed = ", ".join(TASKS["SA"].lettered_options())
    assert f"({listed})" in text


def test_kinds_and_by_kind():
    ins = INSTRUCTIONS["QPR"]
    assert ins.kinds == SEEN_KINDS == ("seed", "generated_1", "generated_2", "generated_3", "generated_4")
    assert ins.by_kind("seed") == ins.seen[0]
    assert ins.by_kind("generated_3") == ins.seen[3]
    assert ins.by_kind("unseen") == ins.unseen
    with pytest.raises(KeyError, match="unknown instruction kind"):
        ins.by_kind("generated_5")


def test_frozen_and_read_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        INSTRUCTIONS["PM"].unseen = "x"
    with pytest.raises(TypeError):
        INSTRUCTIONS["PM"] = INSTRUCTIONS["AP"]


def test_instructions_are_drawn_as_the_release_drew_them():
    """RELEASED_FORMAT.md §1.5: random.seed(1); one draw for the unseen instruction, then one per
    record over train, validation, test, then the OOD test, from the pool [generated 1-4, seed]."""
    from ecinstruct_builders.core import Example, finalize

    s = [1, 4, 0, 2, 0, 3, 3, 3, 3, 1, 0, 3, 0, 3, 3, 4, 0, 3, 2, 1]  # the spec's test vector
    seen = INSTRUCTIONS["SA"].seen
    pool = [*seen[1:], seen[0]]
    ex = Example("x", "A: very positive")
    out = finalize("SA", {"train": [ex] * 5, "validation": [ex] * 3, "test": [ex] * 4, "test_ood": [ex] * 2})
    drawn = [r["instruction"] for split in ("train", "validation", "test", "test_ood") for r in out[split]]
    assert drawn == [pool[k] for k in s[1:15]]
    assert out["train"][0]["instruction_kind"] == "seed" and out["train"][1]["instruction_kind"] == "generated_1"
    assert {r["instruction"] for r in out["test_unseen"]} == {INSTRUCTIONS["SA"].unseen}
    # another task drawing first on the same stream (MPC after QPR) shifts the draws
    shifted = finalize("SA", {"train": [ex] * 3}, stream_start=2)
    assert [r["instruction"] for r in shifted["train"]] == [pool[k] for k in s[3:6]]


def test_one_shot_pairs_test_i_with_train_i_and_ood_with_the_ind_train():
    from ecinstruct_builders.core import Example, finalize

    ex = Example("x", "yes")
    out = finalize("AP", {"train": [ex] * 4, "test": [ex] * 3, "test_ood": [ex] * 2})
    assert [r["few_shot_id"] for r in out["test"]] == ["AP-train-00000", "AP-train-00001", "AP-train-00002"]
    assert [r["few_shot_id"] for r in out["test_ood"]] == ["AP-train-00000", "AP-train-00001"]
