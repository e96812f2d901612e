"""One test per parsing rule, on raw strings as models write them."""

import pytest

from ecinstruct_eval import parse
from ecinstruct_eval.parsing import normalize, split_options, strip_echo

PRP = [
    "A: Users who buy product 1 may also buy product 2.",
    "B: Users who view product 1 may also view product 2.",
    "C: The product 1 is similar with the product 2.",
]
SR = [f"{chr(65 + i)}: Product number {i} with a long title. Electronics." for i in range(20)]


@pytest.mark.parametrize(
    "output",
    [
        "B",
        "B: Users who view product 1 may also view product 2.",
        "Answer: B",
        "The answer is (B).",
        "**B**",
        "Users who view product 1 may also view product 2.",
        "b",
        "(B)",
        "B.",
        "Option B",
        "The correct option is B: users who view product 1 may also view product 2",
        "### Response:\nB",
        "[INST] Pick one. [/INST] B</s>",
        "B\n\n### Instruction: next task",
    ],
)
def test_option_letter_forms(output):
    assert parse(output, "PRP", PRP) == "B"


def test_option_text_without_letter_uses_fixed_options_by_default():
    assert parse("Users who buy product 1 may also buy product 2.", "PRP") == "A"
    assert parse("The product is irrelevant to the query.", "MPC") == "D"


def test_longer_option_text_wins_over_contained_shorter_one():
    assert parse("very positive", "SA") == "A"
    assert parse("positive", "SA") == "B"
    assert parse("The sentiment is very negative.", "SA") == "E"


def test_plain_option_texts_are_lettered_by_position():
    assert parse("neutral", "SA", ["very positive", "positive", "neutral"]) == "C"


@pytest.mark.parametrize(
    ("output", "task"),
    [
        ("A or B", "PRP"),
        ("B: Users who buy product 1 may also buy product 2.", "PRP"),  # letter B, text of A
        ("Answer: A. Answer: B.", "PRP"),
        ("(A) and (C)", "PRP"),
        ("positive or negative", "SA"),
        ("The answer is B, or maybe very negative", "SA"),
    ],
)
def test_two_different_answers_fail(output, task):
    assert parse(output, task) is None


@pytest.mark.parametrize(
    "output",
    [
        "I'm sorry, but I cannot determine the relation from the titles.",
        "As an AI, I cannot answer this.",
        "I cannot determine the answer.",
        "",
        "   \n ",
        None,
    ],
)
def test_refusals_and_empty_fail(output):
    assert parse(output, "PRP") is None
    assert parse(output, "PM") is None
    assert parse(output, "QPR") is None
    assert parse(output, "AVE") is None


@pytest.mark.parametrize("output", ["", "  \n", None, "### Response: </s>"])
def test_empty_answer_generation_fails(output):
    assert parse(output, "AG") is None


def test_letter_outside_the_options_fails():
    assert parse("D", "PRP") is None
    assert parse("U", "SR", SR) is None
    assert parse("T", "SR", SR) == "T"


def test_sr_letter_i_is_a_letter_alone_but_not_as_a_pronoun():
    assert parse("I", "SR", SR) == "I"
    assert parse("The answer is I.", "SR", SR) == "I"
    assert parse("I think the answer is C", "SR", SR) == "C"


def test_sr_full_candidate_text():
    assert parse("Product number 7 with a long title. Electronics.", "SR", SR) == "H"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Yes, they are the same product.", "yes"),
        ("no.", "no"),
        ("YES", "yes"),
        ("No, the products are different.", "no"),
        ("Answer: yes", "yes"),
        ("### Response: yes</s>", "yes"),
        ("**No**", "no"),
        ("Yes or no?", None),
        ("yes. no.", None),
        ("The products are identical.", None),
        ("I'm sorry, I can't tell.", None),
    ],
)
def test_yes_no(output, expected):
    assert parse(output, "PM") == expected
    assert parse(output, "PSI") == expected
    assert parse(output, "AP") == expected


@pytest.mark.parametrize(
    "output",
    ["A, C, B", "A > C > B", "A\nC\nB", "[A, C, B]", "A,C,B", "1. A\n2. C\n3. B",
     "A: first product\nC: third product\nB: second product", "Ranking: A > C > B."],
)
def test_qpr_rankings(output):
    assert parse(output, "QPR", ["A: x", "B: y", "C: z"]) == ["A", "C", "B"]


def test_qpr_partial_ranking_is_kept_and_repeats_or_unknown_letters_fail():
    opts = ["A: x", "B: y", "C: z"]
    assert parse("C, A", "QPR", opts) == ["C", "A"]
    assert parse("A, A, B", "QPR", opts) is None
    assert parse("A, D, B", "QPR", opts) is None
    assert parse("A, then maybe product B", "QPR", opts) is None


def test_ave_json_list():
    out = '[{"attribute": "Material", "value": "nylon", "source": "product description"}]'
    assert parse(out, "AVE") == [("material", "nylon", "product description")]


def test_ave_json_in_code_fence_and_single_object():
    out = '```json\n{"attribute": "color", "value": "red", "source": "title"}\n```'
    assert parse(out, "AVE") == [("color", "red", "title")]


def test_ave_case_study_free_text_semicolons():
    out = ("- Attribute: material; Value: nylon; Source: product description.\n"
           "- Attribute: material; Value: nylon; Source: product feature.")
    assert parse(out, "AVE") == [("material", "nylon", "product description"),
                                 ("material", "nylon", "product feature")]


def test_ave_free_text_commas_and_none():
    assert parse("Attribute: specialty style; Value: None, Source: None.", "AVE") == [
        ("specialty style", None, None)]
    assert parse("Attribute: specialty style; Value: airy, lightweight knit, Source: product "
                 "title.", "AVE") == [("specialty style", "airy, lightweight knit", "product title")]
    assert parse("Attribute: color, Value: red, Source: title", "AVE") == [("color", "red", "title")]


def test_ave_empty_list_is_an_answer_and_prose_fails():
    assert parse("[]", "AVE") == []
    assert parse("The material is nylon.", "AVE") is None
    assert parse('[{"value": "nylon"}]', "AVE") is None


def test_ag_returns_stripped_text_and_strips_echo():
    assert parse("  It works with iPhone 12. ", "AG") == "It works with iPhone 12."
    assert parse("### Response: Yes it fits.</s>", "AG") == "Yes it fits."


def test_steps_are_small_and_pure():
    assert strip_echo("abc ### Response: B") == " B"
    assert normalize("\u00a0**B**\n\n") == "B"
    assert split_options(["A: x", "B: y"]) == {"A": "x", "B": "y"}


def test_unknown_task_raises_with_suggestion():
    with pytest.raises(KeyError, match="did you mean"):
        parse("B", "SRR")


# --------------------------------------------------------------------- audit fixes


@pytest.mark.parametrize("sep", [":", ".", ")", " -", " \u2013"])
def test_leading_letter_with_any_separator_is_a_candidate(sep):
    # Letter B with the text of option A: two answers, never a guess of A.
    assert parse(f"B{sep} very positive", "SA") is None
    assert parse(f"B{sep} positive", "SA") == "B"
    assert parse(f"D{sep} Users who view product 1 may also view product 2.", "PRP") is None


@pytest.mark.parametrize("output", ["A - B", "A. B. C", "B. A"])
def test_two_leading_letters_fail(output):
    assert parse(output, "SA") is None


@pytest.mark.parametrize(
    "output",
    [
        "B\nExplanation: the review is happy but not very positive.",
        "B: positive\nThe reviewer likes it, though it is not very positive or very negative.",
        "The answer is B.\nIt is positive rather than very positive.",
        "**B**\n\nReason: neutral words are absent.",
    ],
)
def test_first_line_letter_wins_over_option_texts_in_the_explanation(output):
    assert parse(output, "SA") == "B"


@pytest.mark.parametrize(
    "output",
    [
        "B\nThe answer is (A).",
        "Answer: A\nAnswer: B",
        "B\nA",
        "B\nA: very positive",
        "very positive\nbut maybe just positive",  # first line has no explicit letter
        "B: very positive\nExplanation follows.",  # conflict inside the first line
    ],
)
def test_first_line_rule_keeps_two_explicit_answers_failed(output):
    assert parse(output, "SA") is None


@pytest.mark.parametrize("output", ["I'm sorry, I cannot answer.",
                                    "As an AI language model, I cannot know that.",
                                    "I don't know", "I do not know.",
                                    "Unfortunately, I am unable to answer that.",
                                    "### Response: I'm sorry, but I can't help with that.</s>"])
def test_ag_refusals_fail(output):
    assert parse(output, "AG") is None


@pytest.mark.parametrize("output", ["Sorry, it does not fit the 2019 model.",
                                    "Unfortunately it is not waterproof.", "I think so, yes."])
def test_ag_answers_that_sound_apologetic_are_answers(output):
    assert parse(output, "AG") == output


# Review of realistic outputs (2026-11-26): each of these used to fail or to be misread.

SA = ["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"]


@pytest.mark.parametrize(
    "output, expected",
    [
        ("Option A is the best fit.", "A"),  # "A" followed by "is" is the letter, not the article
        ("The answer is A because the review is glowing.", "A"),
        ("The answer is a glowing review, so it is positive.", "B"),  # lowercase "a" stays an article
        ("The answer is: B", "B"),
        ("Answer is: B", "B"),
        ("'B'", "B"),
        ('"B"', "B"),
        ("The answer is \u2018B\u2019.", "B"),
    ],
)
def test_letter_answers_models_write(output, expected):
    assert parse(output, "SA", SA) == expected


def test_pronoun_i_after_a_cue_is_still_not_a_letter():
    assert parse("Response: I was unsure, but the answer is B.", "SR", SR) == "B"


@pytest.mark.parametrize(
    "output, expected",
    [
        ("Yes\nExplanation: no differences were found.", "yes"),
        ("Yes, the question can be answered. There is no missing information.", "yes"),
        ("No. The listing says yes to waterproofing but not to the size.", "no"),
        ("No. Yes.", None),  # two answers of their own
        ("Yes and no.", None),
    ],
)
def test_yes_no_opening_answer_wins_over_words_in_the_explanation(output, expected):
    assert parse(output, "PM") == expected


@pytest.mark.parametrize(
    "output, expected",
    [
        ("Answer: Yes. Explanation: there is no difference.", "yes"),
        ("The answer is yes. There is no mention of a different brand.", "yes"),
        ("Output: yes (no differences found)", "yes"),
        ("The answer is no, there is no match.", "no"),
        ("The answer is yes. No.", None),  # a cue and an answer of its own disagree
        ("Answer: yes. Answer: no.", None),
        ("Answer: yes\nNo differences found.", "yes"),
        # hedges: a cue needs a link before the word and punctuation or the end after it
        ("The reviews don't answer yes or no.", None),
        ("The reviews do not clearly answer yes or no, so the question is not answerable.", None),
        ("Based on the given information, it is not possible to answer yes or no.", None),
        ("Whether the answer is yes or no depends on the size of the phone.", None),
        ("The answer is no doubt yes.", None),
    ],
)
def test_yes_no_answer_cue_wins_over_words_in_the_explanation(output, expected):
    assert parse(output, "PM") == expected


@pytest.mark.parametrize(
    "output", ["Based on the information, I cannot say yes.", "I would not say yes.", "They can't say no.", "I wouldn\u2019t say yes."]
)
def test_a_negated_yes_or_no_is_no_answer(output):
    assert parse(output, "PM") is None


@pytest.mark.parametrize(
    "output, expected",
    [
        ("The review is not negative.", None),
        ("The user is not positive about it.", None),
        ("Not negative", None),
        ("It isn't very positive.", None),
        ("The sentiment is negative.", "D"),
        ("Negative, not positive.", None),  # names two options, as before
        ("D: negative", "D"),  # an explicit letter is not read from the text
        ("The reviewer didn't. Negative", "D"),  # a negation ends with its sentence
        ("Negative\nThe reviewer is not negative about the price, only the quality.", "D"),  # said once plainly
    ],
)
def test_an_option_text_after_a_negation_is_no_answer(output, expected):
    assert parse(output, "SA", SA) == expected


def test_a_negation_in_an_earlier_sentence_leaves_an_option_text_alone():
    assert parse("Does it match? It does not. The product is irrelevant to the query.", "MPC") == "D"


@pytest.mark.parametrize(
    "output", ["B - A - C", "B. A. C", "B-A-C", "B A C", "Product B, Product A, Product C", "(B) (A) (C)"]
)
def test_qpr_letter_chains_are_whole_rankings(output):
    # These were read as "B" plus a description and scored as a one-item ranking.
    assert parse(output, "QPR", ["A: x", "B: y", "C: z"]) == ["B", "A", "C"]


def test_qpr_letter_chain_with_a_repeat_or_unknown_letter_fails():
    assert parse("B - A - B", "QPR", ["A: x", "B: y", "C: z"]) is None
    assert parse("B - A - D", "QPR", ["A: x", "B: y", "C: z"]) is None


@pytest.mark.parametrize("value", ["Not found", "not mentioned", "Not specified", "unknown"])
def test_ave_null_value_phrases_are_null(value):
    assert parse(f"Attribute: style; Value: {value}; Source: N/A", "AVE") == [("style", None, None)]


def test_ave_fields_one_per_line():
    assert parse("Attribute: finish\nValue: glossy\nSource: title", "AVE") == [("finish", "glossy", "title")]
