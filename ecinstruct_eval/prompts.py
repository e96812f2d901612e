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

This module needs only the standard library and :mod:`ecinstruct_eval.data`
(the ``chat`` style calls the tokenizer it is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecinstruct_eval.data import record_options

__all__ = [
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
) -> str:
    """The exact prompt for ``record``: Appendix E template, wrapped for a model.

    Parameters
    ----------
    record : mapping
        A canonical ECInstruct record.
    shot : mapping, optional
        The one-shot example record; ``None`` (default) for zero-shot.
    style : {"plain", "mistral", "llama2", "claude", "chat"}
        Wrapper; ``"chat"`` applies ``tokenizer``'s chat template.
    tokenizer : optional
        A ``transformers`` tokenizer, needed only for ``style="chat"``.

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
