"""The six Appendix C instructions of every task, as finalize and the prompts use them."""

import dataclasses
import re

import pytest

from builders.instructions import INSTRUCTIONS, SEEN_KINDS
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
