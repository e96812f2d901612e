"""The Appendix E prompts and the per-model wrappers, pinned to the exact text."""

import pytest

from ecinstruct_eval.prompts import STYLES, build_prompt, find_shot, prompt_parts, wrap

# Records in the official release's format (RELEASED_FORMAT.md): SA's output is the full option
# text, AG's input a JSON text of the question and the document snippets.
SA = {
    "id": "SA-test-00000",
    "instruction": "Given the user's review, identify the user's sentiment from the listed options.",
    "input": "Works great, love it.",
    "options": ["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"],
    "output": "A: very positive",
    "few_shot_id": "SA-train-00000",
}
SA_SHOT = {**SA, "id": "SA-train-00000", "input": "It broke after a day.", "output": "E: very negative",
           "few_shot_id": ""}
AG = {
    "id": "AG-test-00000",
    "instruction": "Answer the given question using the supporting document.",
    "input": '{"question": "Is it waterproof?", "document": ["Fully waterproof to 10 m."]}',
    "options": [],
    "output": "Yes, to 10 m.",
    "few_shot_id": "AG-train-00003",
}
AG_SHOT = {**AG, "id": "AG-train-00003", "input": '{"question": "Color?", "document": ["It is red."]}',
           "output": "Red."}
OPTIONS = "options:\nA: very positive\nB: positive\nC: neutral\nD: negative\nE: very negative\n"

ZERO = ("Below is an instruction that describes a task. "
        "Write a response that appropriately completes the request.")
ONE = ("Below is an instruction that describes a task, paired with an example "
       "that provides further context for the task.")


def test_zero_shot_with_options():
    assert build_prompt(SA) == (
        f"{ZERO}\n\n"
        "Instruction: Given the user's review, identify the user's sentiment from the listed options.\n"
        "input: Works great, love it.\n"
        f"{OPTIONS}"
        "response:"
    )


def test_zero_shot_without_options():
    assert build_prompt(AG) == (
        f"{ZERO}\n\n"
        "Instruction: Answer the given question using the supporting document.\n"
        'input: {"question": "Is it waterproof?", "document": ["Fully waterproof to 10 m."]}\n'
        "response:"
    )


def test_one_shot_with_options():
    assert build_prompt(SA, shot=SA_SHOT) == (
        f"{ONE}\n\n"
        "Instruction: Given the user's review, identify the user's sentiment from the listed options.\n\n"
        "Example:\n"
        "input: It broke after a day.\n"
        f"{OPTIONS}"
        "response: E: very negative\n\n"
        "Now write a response that appropriately completes the following example.\n"
        "input: Works great, love it.\n"
        f"{OPTIONS}"
        "response:"
    )


def test_one_shot_without_options():
    assert build_prompt(AG, shot=AG_SHOT) == (
        f"{ONE}\n\n"
        "Instruction: Answer the given question using the supporting document.\n\n"
        "Example:\n"
        'input: {"question": "Color?", "document": ["It is red."]}\n'
        "response: Red.\n\n"
        "Now write a response that appropriately completes the following example.\n"
        'input: {"question": "Is it waterproof?", "document": ["Fully waterproof to 10 m."]}\n'
        "response:"
    )


def test_gold_output_never_leaks_into_the_prompt():
    assert "Yes, to 10 m." not in build_prompt(AG, shot=AG_SHOT)
    assert not build_prompt(SA).rstrip().endswith("A")
    assert "A: very positive" not in build_prompt(SA).split("options:")[0]


def test_release_inputs_are_shown_verbatim():
    # PM's input is JSON text with the bare NaN token and \\uXXXX escapes: not re-encoded
    pm_input = ('{"product 1": {"title": "mcafee total protection", "description": NaN}, '
                '"product 2": {"title": "mcafee\\ufffd total", "description": "x"}}')
    pm = {"instruction": "Same product?", "input": pm_input, "options": [], "output": "no"}
    assert f"input: {pm_input}\nresponse:" in build_prompt(pm)
    # SR: Python list text as input; options given as the release's table stores them (text)
    items = [f"{chr(65 + i)}: item {i}" for i in range(20)]
    sr = {"instruction": "Next item?", "input": str(["1st: usb cable", "2nd: kid's lamp"]),
          "options": str(items), "output": "C"}
    body = prompt_parts(sr)[1]
    assert "input: ['1st: usb cable', \"2nd: kid's lamp\"]\noptions:\nA: item 0\nB: item 1\n" in body
    assert body.endswith("T: item 19\nresponse:")
    assert prompt_parts({**sr, "options": items}) == prompt_parts(sr)


def test_one_shot_mpc_shows_the_release_answer():
    from ecinstruct_eval import TASKS

    opts = TASKS["MPC"].lettered_options()
    rec = {"instruction": "Relevance?", "input": '{"query": "mug", "product title": "red mug"}',
           "options": opts, "output": opts[0]}
    shot = {**rec, "input": '{"query": "mug", "product title": "lamp"}', "output": opts[3]}
    body = prompt_parts(rec, shot=shot)[1]
    assert "response: D: The product is irrelevant to the query.\n\n" in body
    assert body.endswith("D: The product is irrelevant to the query.\nresponse:")


@pytest.mark.parametrize(
    "style, expected",
    [
        ("plain", "{s}\n\n{b}"),
        ("mistral", "[INST] {s}\n\n{b} [/INST]"),
        ("llama2", "<s>[INST] <<SYS>>\n{s}\n<</SYS>>\n\n{b} [/INST]"),
        ("claude", "\n\nHuman: {s}\n\n{b}\n\nAssistant:"),
    ],
)
def test_wrappers(style, expected):
    system, body = prompt_parts(AG)
    assert build_prompt(AG, style=style) == expected.format(s=system, b=body)


class _ChatTokenizer:
    chat_template = "stub"

    def __init__(self, system_ok=True):
        self.system_ok = system_ok

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize is False and add_generation_prompt is True
        if not self.system_ok and messages[0]["role"] == "system":
            raise ValueError("System role not supported")
        return "|".join(f"<{m['role']}>{m['content']}" for m in messages) + "|<assistant>"


def test_chat_style_uses_the_tokenizer_template():
    system, body = prompt_parts(SA, shot=SA_SHOT)
    got = build_prompt(SA, shot=SA_SHOT, style="chat", tokenizer=_ChatTokenizer())
    assert got == f"<system>{system}|<user>{body}|<assistant>"


def test_chat_style_folds_the_system_prompt_when_the_template_has_no_system_role():
    system, body = prompt_parts(SA)
    got = build_prompt(SA, style="chat", tokenizer=_ChatTokenizer(system_ok=False))
    assert got == f"<user>{system}\n\n{body}|<assistant>"


def test_chat_style_without_template_and_unknown_style_are_clear_errors():
    with pytest.raises(ValueError, match="chat template"):
        build_prompt(SA, style="chat")
    with pytest.raises(ValueError, match="unknown prompt style 'gpt'"):
        wrap("s", "b", style="gpt")
    assert STYLES == ("plain", "mistral", "llama2", "claude", "chat")


def test_find_shot_follows_few_shot_id():
    assert find_shot(SA, {"SA-train-00000": SA_SHOT}) is SA_SHOT
    with pytest.raises(KeyError, match="SA-train-00000"):
        find_shot(SA, {})
    with pytest.raises(KeyError, match="no few_shot_id"):
        find_shot({**SA, "few_shot_id": ""}, {})


# --- The official release's templates (RELEASED_FORMAT.md §12), pinned byte for byte -------------

from ecinstruct_eval.prompts import (  # noqa: E402
    RELEASED_TEMPLATES,
    answer_from_released,
    build_released_prompt,
    released_options_text,
    released_style,
)

P = ("Below is an instruction that describes a task, paired with an input that provides further context. "
     "Write a response that appropriately completes the request.")
SR_REL = {
    "id": "SR-test-00000", "task": "SR",
    "instruction": "Predict the next item.",
    "input": "['1st: usb cable', \"2nd: kid's lamp\"]",
    "options": ["A: usb charger", "B: kid's tent"],
    "output": "B",
}
# PM: the input holds the release's bare NaN and \uXXXX escapes (backslash-u, verbatim); no options.
PM_INPUT = '{"product 1": {"title": "Caf\\u00e9 mug", "description": NaN}, "product 2": {"title": "mug"}}'
PM_REL = {"id": "PM-test-00000", "task": "PM", "instruction": "Do they match?", "input": PM_INPUT,
          "options": [], "output": "yes"}
SA_OPTS_TEXT = '["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"]'
SR_OPTS_TEXT = "['A: usb charger', \"B: kid's tent\"]"

SA_BLOCKS = ("### Instruction:\nGiven the user's review, identify the user's sentiment from the listed options.\n\n"
             "### Input:\nWorks great, love it.\n\n"
             f"### Options:\n{SA_OPTS_TEXT}\n\n")
SR_BLOCKS = ("### Instruction:\nPredict the next item.\n\n"
             "### Input:\n['1st: usb cable', \"2nd: kid's lamp\"]\n\n"
             f"### Options:\n{SR_OPTS_TEXT}\n\n")
PM_BLOCKS = f"### Instruction:\nDo they match?\n\n### Input:\n{PM_INPUT}\n\n"


@pytest.mark.parametrize("style", ["alpaca", "flan-t5"])
@pytest.mark.parametrize("record, blocks", [(SA, SA_BLOCKS), (SR_REL, SR_BLOCKS), (PM_REL, PM_BLOCKS)],
                         ids=["SA", "SR", "PM"])
def test_released_alpaca_and_flan_t5(record, blocks, style):
    assert build_released_prompt(record, style=style) == f"{P}\n\n{blocks}### Response:\n"


@pytest.mark.parametrize("record, blocks", [(SA, SA_BLOCKS), (SR_REL, SR_BLOCKS), (PM_REL, PM_BLOCKS)],
                         ids=["SA", "SR", "PM"])
def test_released_mistral(record, blocks):
    # One space before [/INST], after the two newlines.
    assert build_released_prompt(record, style="mistral") == f"[INST] {P}\n\n{blocks} [/INST] ### Response:\n"


def test_released_literal_texts():
    """The whole SR and PM mistral prompts written out, no shared pieces."""
    assert build_released_prompt(SR_REL, style="mistral") == (
        "[INST] Below is an instruction that describes a task, paired with an input that provides further "
        "context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
        "Predict the next item.\n\n### Input:\n['1st: usb cable', \"2nd: kid's lamp\"]\n\n"
        "### Options:\n['A: usb charger', \"B: kid's tent\"]\n\n [/INST] ### Response:\n"
    )
    text = build_released_prompt(PM_REL)
    assert "NaN" in text and "Caf\\u00e9" in text and "é" not in text
    assert "### Options" not in text


def test_released_options_text_rules():
    assert released_options_text(SA) == SA_OPTS_TEXT  # json.dumps
    assert released_options_text({**SA, "options": ["A: caf\u00e9"]}) == '["A: caf\\u00e9"]'  # ensure_ascii
    assert released_options_text(SR_REL) == SR_OPTS_TEXT  # str(list)
    assert released_options_text(PM_REL) is None
    # A stored string (the release's table) is kept verbatim; the release's task names work too.
    assert released_options_text({"task": "Sentiment_Analysis", "options": SA_OPTS_TEXT}) == SA_OPTS_TEXT
    # Tasks the release stores null for get no options block even if a record has a list.
    assert released_options_text({"task": "QPR", "options": ["A: x"]}) is None
    # The id prefix names the task when "task" is absent.
    assert released_options_text({"id": "SR-test-00001", "options": ["A: x"]}) == "['A: x']"


def test_released_via_build_prompt():
    assert build_prompt(SA, prompt_format="released") == build_released_prompt(SA, style="alpaca")
    assert build_prompt(SA, style="mistral", prompt_format="released") == build_released_prompt(SA, style="mistral")
    assert build_prompt(SA, style="llama2", prompt_format="released") == build_released_prompt(SA)
    assert build_prompt(SA, style="plain", arch="seq2seq", prompt_format="released") == \
        build_released_prompt(SA, style="flan-t5")
    assert released_style("mistral") == "mistral" and released_style("plain", "seq2seq") == "flan-t5"
    with pytest.raises(ValueError, match="prompt format"):
        build_prompt(SA, prompt_format="alpaca")


def test_released_one_shot_composition():
    shot = {**SA_SHOT, "task": "SA"}
    text = build_released_prompt(SA, shot=shot, style="alpaca")
    assert text == (
        f"{P}\n\n### Instruction:\nGiven the user's review, identify the user's sentiment from the listed options.\n\n"
        f"### Input:\nIt broke after a day.\n\n### Options:\n{SA_OPTS_TEXT}\n\n### Response:\nE: very negative\n\n"
        f"### Input:\nWorks great, love it.\n\n### Options:\n{SA_OPTS_TEXT}\n\n### Response:\n"
    )


def test_released_markers():
    assert RELEASED_TEMPLATES["alpaca"].marker == "### Response:"
    assert RELEASED_TEMPLATES["mistral"].marker == "[/INST] ### Response:"
    assert RELEASED_TEMPLATES["flan-t5"].marker is None


@pytest.mark.parametrize("style", ["alpaca", "mistral"])
def test_answer_cut_on_raw_generations(style):
    marker = RELEASED_TEMPLATES[style].marker
    prompt = build_released_prompt(SA, style=style)
    # Prompt echoed, the model stops: the text after the marker.
    assert answer_from_released(prompt + " A: very positive \n", marker) == "A: very positive"
    # Prompt echoed, the model runs on into another turn: cut at the next marker.
    assert answer_from_released(prompt + "B: positive\n\n" + marker + "\nC", marker) == "B: positive"
    # No marker at all (generation without the echo): the whole text, stripped.
    assert answer_from_released("\n D: negative  ", marker) == "D: negative"
    # Flan-T5: the generated text whole, even if it contains the alpaca marker.
    assert answer_from_released(" x ### Response: y ", None) == "x ### Response: y"


class _LeadingSpaceTokenizer:
    """Characters as ids, the first one of a text marked as SentencePiece marks a word start ("▁A" vs "A")."""

    bos_token, eos_token, bos_token_id, eos_token_id = None, "</s>", None, 1

    def __call__(self, text, add_special_tokens=True):
        ids = [1000 + ord(c) for c in text]
        if ids:
            ids[0] += 100_000  # the leading-space form of the first character
        return {"input_ids": ids}


def test_released_training_tokenizes_prompt_and_output_as_one_text():
    """The release trained on prompt + output as one text: the answer's first token is the one that
    follows the prompt there, not the output's leading-space form when tokenized alone."""
    from ecellm.data import encode_example
    from ecinstruct_eval.prompts import build_prompt

    rec = {"task": "PSI", "instruction": "Is it a substitute?", "input": "{}", "options": [], "output": "yes"}
    tok = _LeadingSpaceTokenizer()
    released = encode_example(rec, tok, arch="causal", prompt_format="released", style="alpaca")
    answer = [i for i in released["labels"] if i != -100]
    assert answer == [1000 + ord(c) for c in "yes"] + [tok.eos_token_id]
    prompt = build_prompt(rec, prompt_format="released", style="alpaca", arch="causal")
    assert released["input_ids"] == tok(prompt + "yes")["input_ids"] + [tok.eos_token_id]
    appendix = encode_example(rec, tok, arch="causal", prompt_format="appendix-e")
    assert [i for i in appendix["labels"] if i != -100][0] == 100_000 + 1000 + ord("y")  # output alone
