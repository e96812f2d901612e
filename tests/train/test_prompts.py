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
