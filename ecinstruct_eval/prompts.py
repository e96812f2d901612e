"""Prompts of the paper (Appendix E) and the per-model wrappers around them.

:func:`build_prompt` turns a canonical record (and, for one-shot prompts, the
training record its ``few_shot_id`` points at) into the exact text a model
sees.  The body follows Appendix E: a system prompt, then the instruction,
then the example (one-shot only) and the item, each with its ``input``, its
``options`` (when the record has any, one lettered option per line, as the
paper's case studies show them) and ``response:``.  The model's answer is
what follows ``response:``; training appends the record's ``output`` there.

Records in the official release's format fit as they are: ``input`` is shown
verbatim (a JSON text for most tasks, with PM's bare ``NaN`` and ``\\uXXXX``
escapes; SR's Python list text; SA's raw review), and ``output`` is the
release's answer, so a one-shot example of SA or MPC reads
``response: A: very positive``.  Options kept as text (the release's table)
are shown one per line too.

Wrappers (``style``) place that body the way each base model was tuned to
read it:

========== =============================================================
style      text
========== =============================================================
plain      ``{system}\\n\\n{body}`` (Flan-T5, Phi-2, any base model)
mistral    ``[INST] {system}\\n\\n{body} [/INST]`` (Mistral-7B-Instruct)
llama2     ``<s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{body} [/INST]``
claude     ``\\n\\nHuman: {system}\\n\\n{body}\\n\\nAssistant:`` (Claude 2.1)
chat       the tokenizer's own chat template (``tokenizer=`` required)
========== =============================================================

Two prompt formats exist (:data:`PROMPT_FORMATS`):

``appendix-e``
    The paper's Appendix E layout above, wrapped by ``style``; the default for
    base models.
``released``
    The official release's own templates (RELEASED_FORMAT.md §12), which the
    published eCeLLM models were tuned on: :func:`build_released_prompt`,
    driven by the table :data:`RELEASED_TEMPLATES` (styles ``alpaca``,
    ``mistral``, ``flan-t5``), and :func:`answer_from_released` for the
    release's answer cut.  :func:`build_prompt` picks the format with
    ``prompt_format=``; an Appendix E ``style`` maps to a released one with
    :func:`released_style`.

This module needs only the standard library, :mod:`ecinstruct_eval.data`,
:mod:`ecinstruct_eval.release` and :mod:`ecinstruct_eval.tasks` (the ``chat``
style calls the tokenizer it is given).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecinstruct_eval.data import record_options

__all__ = [
    "PROMPT_FORMATS",
    "RELEASED_PREAMBLE",
    "RELEASED_STYLES",
    "RELEASED_TEMPLATES",
    "ReleasedTemplate",
    "answer_from_released",
    "build_released_prompt",
    "released_options_text",
    "released_style",
    "STYLES",
    "SYSTEM_ZERO_SHOT",
    "SYSTEM_ONE_SHOT",
    "ONE_SHOT_LEAD",
    "build_prompt",
    "prompt_parts",
    "format_options",
    "find_shot",
    "wrap",
]

#: System prompt of the zero-shot templates (Appendix E.1).
SYSTEM_ZERO_SHOT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
#: System prompt of the one-shot templates (Appendix E.2).
SYSTEM_ONE_SHOT = (
    "Below is an instruction that describes a task, paired with an example "
    "that provides further context for the task."
)
#: The line that introduces the item after the one-shot example (Appendix E.2).
ONE_SHOT_LEAD = "Now write a response that appropriately completes the following example."

#: Wrapper styles understood by :func:`wrap` / :func:`build_prompt`.
STYLES = ("plain", "mistral", "llama2", "claude", "chat")

# Anthropic's legacy completion markers (HUMAN_PROMPT / AI_PROMPT).
_HUMAN = "\n\nHuman:"
_ASSISTANT = "\n\nAssistant:"


def format_options(options: Sequence[str]) -> str:
    """Lettered options as the prompts show them: one per line.

    Examples
    --------
    >>> print(format_options(["A: yes", "B: no"]))
    A: yes
    B: no
    """
    return "\n".join(str(o) for o in options)


def _item(record: Mapping[str, Any], *, with_response: bool) -> str:
    lines = [f"input: {record['input']}"]
    options = record_options(record)
    if options:
        lines.append("options:\n" + format_options(options))
    lines.append(f"response: {record['output']}" if with_response else "response:")
    return "\n".join(lines)


def prompt_parts(
    record: Mapping[str, Any], *, shot: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """Return ``(system, body)`` of the Appendix E template for ``record``.

    Parameters
    ----------
    record : mapping
        A canonical record (``instruction``, ``input``, ``options``...).
    shot : mapping, optional
        The one-shot example (a training record, usually the one named by
        ``record["few_shot_id"]``); ``None`` gives the zero-shot template.

    Examples
    --------
    >>> system, body = prompt_parts({"instruction": "Say yes.", "input": "x", "options": []})
    >>> print(body)
    Instruction: Say yes.
    input: x
    response:
    """
    instruction = record["instruction"]
    if shot is None:
        return SYSTEM_ZERO_SHOT, f"Instruction: {instruction}\n{_item(record, with_response=False)}"
    body = (
        f"Instruction: {instruction}\n\n"
        f"Example:\n{_item(shot, with_response=True)}\n\n"
        f"{ONE_SHOT_LEAD}\n{_item(record, with_response=False)}"
    )
    return SYSTEM_ONE_SHOT, body


def wrap(system: str, body: str, *, style: str = "plain", tokenizer: Any = None) -> str:
    """Wrap a system prompt and a body in a model's turn markers (see module docstring).

    Examples
    --------
    >>> wrap("Sys.", "Body.", style="mistral")
    '[INST] Sys.\\n\\nBody. [/INST]'
    """
    if style == "plain":
        return f"{system}\n\n{body}"
    if style == "mistral":
        return f"[INST] {system}\n\n{body} [/INST]"
    if style == "llama2":
        return f"<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{body} [/INST]"
    if style == "claude":
        return f"{_HUMAN} {system}\n\n{body}{_ASSISTANT}"
    if style == "chat":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                "style='chat' needs a tokenizer that has a chat template; "
                "pass tokenizer= or use another style (plain, mistral, llama2, claude)"
            )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": body}]
        try:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # templates without a system role raise their own errors
            merged = [{"role": "user", "content": f"{system}\n\n{body}"}]
            return tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
    raise ValueError(f"unknown prompt style {style!r}; choose one of {', '.join(STYLES)}")


def build_prompt(
    record: Mapping[str, Any],
    *,
    shot: Mapping[str, Any] | None = None,
    style: str = "plain",
    tokenizer: Any = None,
    prompt_format: str = "appendix-e",
    arch: str | None = None,
) -> str:
    """The exact prompt for ``record``: Appendix E template, wrapped for a model.

    With ``prompt_format="released"`` the release's template is used instead
    (:func:`build_released_prompt`, style ``released_style(style, arch)``).

    Parameters
    ----------
    record : mapping
        A canonical ECInstruct record.
    shot : mapping, optional
        The one-shot example record; ``None`` (default) for zero-shot.
    style : {"plain", "mistral", "llama2", "claude", "chat"}
        Wrapper; ``"chat"`` applies ``tokenizer``'s chat template.  With the
        released format, also ``"alpaca"`` or ``"flan-t5"``.
    tokenizer : optional
        A ``transformers`` tokenizer, needed only for ``style="chat"``.
    prompt_format : {"appendix-e", "released"}
        Which template family (:data:`PROMPT_FORMATS`).
    arch : {"causal", "seq2seq"}, optional
        Only for the released format: ``"seq2seq"`` selects ``flan-t5``.

    Returns
    -------
    str
        The prompt, ending with ``response:`` (plus the wrapper's closing
        marker); the model's answer follows it.

    Examples
    --------
    >>> rec = {"instruction": "Pick one.", "input": "great!", "options": ["A: good", "B: bad"]}
    >>> print(build_prompt(rec))
    Below is an instruction that describes a task. Write a response that appropriately completes the request.
    <BLANKLINE>
    Instruction: Pick one.
    input: great!
    options:
    A: good
    B: bad
    response:
    """
    if prompt_format == "released":
        return build_released_prompt(record, shot=shot, style=released_style(style, arch))
    if prompt_format != "appendix-e":
        raise ValueError(f"unknown prompt format {prompt_format!r}; choose one of {', '.join(PROMPT_FORMATS)}")
    if style in ("alpaca", "flan-t5"):  # released-only names: their Appendix E wrapper is plain
        style = "plain"
    system, body = prompt_parts(record, shot=shot)
    return wrap(system, body, style=style, tokenizer=tokenizer)


def find_shot(
    record: Mapping[str, Any], train_by_id: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any]:
    """The one-shot example of ``record``: the training record named by its ``few_shot_id``.

    Raises ``KeyError`` naming the record when the id is empty or absent.

    Examples
    --------
    >>> find_shot({"id": "SA-test-00000", "few_shot_id": "t1"}, {"t1": {"input": "x"}})
    {'input': 'x'}
    """
    shot_id = record.get("few_shot_id") or ""
    if not shot_id:
        raise KeyError(f"record {record.get('id')!r} has no few_shot_id; cannot build a one-shot prompt")
    try:
        return train_by_id[shot_id]
    except KeyError:
        raise KeyError(
            f"record {record.get('id')!r}: its one-shot example {shot_id!r} is not in the training split"
        ) from None


# ---------------------------------------------------------------------------
# The official release's templates (RELEASED_FORMAT.md §12)
# ---------------------------------------------------------------------------

#: Template families understood by :func:`build_prompt` (``--prompt-format``).
PROMPT_FORMATS = ("appendix-e", "released")

#: The release's preamble ``P`` (RELEASED_FORMAT.md §12).
RELEASED_PREAMBLE = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request."
)


@dataclass(frozen=True)
class ReleasedTemplate:
    """One row of :data:`RELEASED_TEMPLATES`.

    The prompt is ``open + P⏎⏎### Instruction:⏎{instruction}⏎⏎### Input:⏎{input}⏎⏎``
    ``[### Options:⏎{options}⏎⏎] + close + "### Response:⏎"``.

    Attributes
    ----------
    open : str
        Text before the preamble.
    close : str
        Text between the last block and ``### Response:``.
    marker : str or None
        The response marker the release splits causal outputs on; ``None``
        when the generated text is the answer whole (Flan-T5).
    """

    open: str
    close: str
    marker: str | None


#: The release's templates per style: ``alpaca`` (Llama-2, Phi-2, merged models),
#: ``mistral`` (Mistral-7B-Instruct-v0.2, eCeLLM-M; one space before ``[/INST]``),
#: ``flan-t5`` (alpaca text; the encoder gets the prompt, the answer is the output whole).
RELEASED_TEMPLATES: dict[str, ReleasedTemplate] = {
    "alpaca": ReleasedTemplate(open="", close="", marker="### Response:"),
    "mistral": ReleasedTemplate(open="[INST] ", close=" [/INST] ", marker="[/INST] ### Response:"),
    "flan-t5": ReleasedTemplate(open="", close="", marker=None),
}
#: Styles of the released format.
RELEASED_STYLES = tuple(RELEASED_TEMPLATES)

#: Tasks whose options the release stores as a JSON array (``json.dumps``); SR's are ``str(list)``.
_JSON_OPTIONS_TASKS = frozenset({"SA", "PRP", "MPC"})
_PY_OPTIONS_TASKS = frozenset({"SR"})


def released_style(style: str | None, arch: str | None = None) -> str:
    """The released-format style for an Appendix E ``style`` and an architecture.

    The release used its ``mistral`` template for Mistral models only and the
    alpaca template for everything else (Llama-2, Phi-2, Flan-T5); seq2seq
    models get ``flan-t5`` (same text, answer taken whole).

    Examples
    --------
    >>> released_style("mistral"), released_style("llama2"), released_style("plain", "seq2seq")
    ('mistral', 'alpaca', 'flan-t5')
    """
    if style in RELEASED_TEMPLATES and style != "alpaca":
        return style
    if arch == "seq2seq":
        return "flan-t5"
    if style in (None, "alpaca", "plain", "llama2", "claude", "chat"):
        return "alpaca"
    raise ValueError(f"unknown prompt style {style!r}; choose one of {', '.join(STYLES + RELEASED_STYLES)}")


def _task_code(record: Mapping[str, Any]) -> str | None:
    from ecinstruct_eval.release import TASK_NAMES
    from ecinstruct_eval.tasks import TASKS

    for raw in (record.get("task"), str(record.get("id") or "").split("-", 1)[0]):
        if not raw:
            continue
        raw = str(raw).strip()
        if raw in TASK_NAMES:
            return TASK_NAMES[raw]
        if raw.upper() in TASKS:
            return raw.upper()
    return None


def released_options_text(record: Mapping[str, Any]) -> str | None:
    """A record's ``options`` as the release stores them, or ``None`` (no options block).

    A stored string (the release's own table) is kept verbatim.  A list is
    rebuilt: ``json.dumps(list)`` for SA, PRP and MPC, ``str(list)`` for SR,
    nothing for the other tasks (the release stores null).  The task comes
    from ``task`` (a code or the release's name) or the ``id`` prefix; when
    it is unknown a list is written as JSON.

    Examples
    --------
    >>> released_options_text({"task": "SA", "options": ["A: good", "B: bad"]})
    '["A: good", "B: bad"]'
    >>> print(released_options_text({"task": "SR", "options": ["A: lamp", "B: kid's toy"]}))
    ['A: lamp', "B: kid's toy"]
    >>> released_options_text({"task": "PM", "options": []}) is None
    True
    """
    opts = record.get("options")
    if not opts:
        return None
    if isinstance(opts, str):
        return opts
    values = [str(o) for o in opts]
    code = _task_code(record)
    if code in _PY_OPTIONS_TASKS:
        return str(values)
    if code is None or code in _JSON_OPTIONS_TASKS:
        return json.dumps(values)
    return None


def _released_blocks(record: Mapping[str, Any]) -> str:
    text = f"### Input:\n{record['input']}\n\n"
    options = released_options_text(record)
    if options:
        text += f"### Options:\n{options}\n\n"
    return text


def build_released_prompt(
    record: Mapping[str, Any], *, shot: Mapping[str, Any] | None = None, style: str = "alpaca"
) -> str:
    """The release's prompt for ``record`` (RELEASED_FORMAT.md §12), byte for byte.

    ``P⏎⏎### Instruction:⏎{instruction}⏎⏎### Input:⏎{input}⏎⏎[### Options:⏎{options}⏎⏎]### Response:⏎``,
    inside the style's ``open``/``close`` (:data:`RELEASED_TEMPLATES`).  The
    input is inserted verbatim (PM's ``NaN`` and ``\\uXXXX`` stay as they
    are), the options as the release stores them (:func:`released_options_text`).
    For training the record's ``output`` follows the prompt directly.

    One-shot: the release's inference never read ``few_shot_example``, so
    how its 1-shot prompts were composed is unknown.  This composition is
    ours: the test record's instruction once, then the example's ``Input``,
    ``Options`` and ``Response`` (its output) blocks, a blank line, then the
    test record's blocks and the closing ``### Response:⏎``.  The prompt then
    holds the response marker twice; answers are cut from the generation
    alone (:func:`answer_from_released` on ``marker + generation``).

    Parameters
    ----------
    record : mapping
        ``instruction``, ``input``, ``options`` (list or stored text), and
        ``task`` or an id prefix naming the task (for the options text).
    shot : mapping, optional
        The one-shot example record.
    style : {"alpaca", "mistral", "flan-t5"}

    Examples
    --------
    >>> rec = {"task": "SA", "instruction": "Pick one.", "input": "great!", "options": ["A: good", "B: bad"]}
    >>> text = build_released_prompt(rec, style="mistral")
    >>> text[:8], text[text.index("### Instruction"):]
    ('[INST] B', '### Instruction:\\nPick one.\\n\\n### Input:\\ngreat!\\n\\n### Options:\\n["A: good", "B: bad"]\\n\\n [/INST] ### Response:\\n')
    """
    try:
        template = RELEASED_TEMPLATES[style]
    except KeyError:
        raise ValueError(f"unknown released prompt style {style!r}; choose one of {', '.join(RELEASED_STYLES)}") \
            from None
    text = f"{template.open}{RELEASED_PREAMBLE}\n\n### Instruction:\n{record['instruction']}\n\n"
    if shot is not None:
        text += f"{_released_blocks(shot)}### Response:\n{shot['output']}\n\n"
    return f"{text}{_released_blocks(record)}{template.close}### Response:\n"


def answer_from_released(text: str, marker: str | None) -> str:
    """The answer in a causal model's raw output, by the release's rule.

    The answer is the text between the first occurrence of ``marker`` (the
    one the prompt ends with, when the output echoes the prompt) and the
    next occurrence, if any, whitespace-stripped.  Without any occurrence
    (e.g. a generation without the prompt echo) the whole text is the
    answer, stripped; ``marker=None`` (Flan-T5) takes the text whole.

    Examples
    --------
    >>> answer_from_released("P ### Response:\\n A: good \\n### Response:\\nB", "### Response:")
    'A: good'
    >>> answer_from_released("  yes ", "### Response:"), answer_from_released(" no ", None)
    ('yes', 'no')
    """
    if marker and marker in text:
        text = text.split(marker, 2)[1]
    return text.strip()
