"""Turn free-text model outputs into answers, one small pure step at a time.

The chain is the same for every task::

    strip_echo  ->  normalize  ->  extract (per task kind)  ->  validate

* :func:`strip_echo` removes a prompt echoed back by the model (everything up
  to the last ``### Response:`` / ``response:`` / ``[/INST]``) and whatever the
  model generated after its answer (``</s>``, a new ``### Instruction``).
* :func:`normalize` applies Unicode NFKC, drops Markdown emphasis and code
  fences and collapses whitespace.
* The extractors (:func:`extract_letter`, :func:`extract_yes_no`,
  :func:`extract_ranking`, :func:`extract_triples`) know one answer shape
  each and return ``None`` rather than guess: an output naming two different
  answers, a refusal, or an empty output is *failed*.  For option letters,
  a first line that is an explicit letter answer wins over option texts
  mentioned in later explanation lines (:func:`extract_letter`).  An option
  written out whole, letter and text (``"B: positive"``, the form of the
  official release's SA and MPC outputs that eCeLLM models answer in), is
  that option, even when its text contains words of another option.

:func:`parse` dispatches on the task kind from :data:`ecinstruct_eval.TASKS`.

Examples
--------
>>> parse("The answer is (B).", "PRP")
'B'
>>> parse("D: The product is irrelevant to the query.", "MPC")  # the release's output form
'D'
>>> parse("B,A,C", "QPR", options=["A: x", "B: y", "C: z"])
['B', 'A', 'C']
>>> parse("Yes, they are the same product.", "PM")
'yes'
>>> parse("A > C > B", "QPR", options=["A: x", "B: y", "C: z"])
['A', 'C', 'B']
>>> parse("Attribute: material; Value: nylon; Source: product description.", "AVE")
[('material', 'nylon', 'product description')]
>>> parse("A or B", "SA") is None
True
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import unicodedata
from collections.abc import Sequence

from ecinstruct_eval.tasks import LETTERS, TaskSpec, get_task

__all__ = [
    "parse",
    "strip_echo",
    "normalize",
    "split_options",
    "is_refusal",
    "is_ag_refusal",
    "extract_letter",
    "extract_yes_no",
    "extract_ranking",
    "extract_triples",
]

Triple = tuple[str, "str | None", "str | None"]

# --------------------------------------------------------------------------- steps

# Every pattern below runs in time linear in the text (issue 15): a quantified run
# (``#{2,}``, ``\s*``) is possessive where giving characters back cannot help, and a
# pattern that opens with such a run is tried only where the run begins (``(?<!#)``,
# ``(?<!\s)``), so no run is rescanned from each of its positions.  Each rewrite
# finds the same matches as the plain form it replaces, which is kept beside it.
#
# Was ``(?:#{2,}\s*response\s*:?|...|(?:^|\n)\s*[-*•]?\s*response\s*:)``: cubic on
# newlines (three adjacent ``\s*`` tried from every ``\n``), quadratic on ``#``.  The
# last branch now starts at the beginning of the whitespace run holding the
# ``\n`` (only ``.end()`` is used, and no marker ends inside a whitespace run).
_ECHO_MARKERS = re.compile(
    r"(?:(?<!#)#{2,}+\s*+response\s*+:?|\[/INST\]|<\|assistant\|>|<\|im_start\|>\s*+assistant"
    r"|<start_of_turn>\s*+model|(?:^|(?<!\s)[^\S\n]*+\n)\s*+(?:[-*•]\s*+)?response\s*+:)",
    re.IGNORECASE,
)
# Was ``...|\n\s*#{2,}\s*(?:instruction|input|response|options?)\b``: quadratic on
# newlines.  Group ``nl`` is the ``\n`` the old pattern started at (the first one
# of its whitespace run); the cut is made there.
_TRAILERS = re.compile(
    r"</s>|<\|im_end\|>|<\|eot_id\|>|<\|endoftext\|>|<end_of_turn>|<eos>"
    r"|(?<!\s)[^\S\n]*+(?P<nl>\n)\s*+#{2,}+\s*+(?:instruction|input|response|options?)\b",
    re.IGNORECASE,
)


def strip_echo(text: str) -> str:
    """Drop an echoed prompt (up to the last response marker) and trailing turns.

    >>> strip_echo("### Instruction: pick\\n### Response: B</s>")
    ' B'
    >>> strip_echo("[INST] Which? [/INST] yes")
    ' yes'
    """
    low = text.lower()
    if "response" in low or "[/inst]" in low or "<" in low:
        markers = list(_ECHO_MARKERS.finditer(text))
        if markers:
            text = text[markers[-1].end() :]
    if "<" in text or "#" in text:
        cut = _TRAILERS.search(text)
        if cut is not None:
            text = text[: cut.start("nl") if cut.group("nl") else cut.start()]
    return text


_FENCE = re.compile(r"```[a-zA-Z]*")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_QUOTES = "'\"\u2018\u2019\u201c\u201d"
#: A letter in quotes (``'B'``, ``"B"``, curly quotes): the quotes go, as emphasis does.
_QUOTED_LETTER = re.compile(rf"[{_QUOTES}]([A-Za-z])[{_QUOTES}](?![A-Za-z])")


def normalize(text: str) -> str:
    """NFKC, no Markdown emphasis, code fences or quotes around a letter, single spaces, stripped.

    >>> normalize("  **B**\\n")
    'B'
    >>> normalize("The answer is 'B'.")
    'The answer is B.'
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if "`" in text:
        text = _FENCE.sub(" ", text)
    if "*" in text or "_" in text or "`" in text:
        text = _EMPHASIS.sub("", text)
    if not _QUOTE_CHARS.isdisjoint(text):
        text = _QUOTED_LETTER.sub(r"\1", text)
    if "  " in text or not _PLAIN_SPACES.isdisjoint(text):
        text = _SPACES.sub(" ", text)
        text = _NEWLINES.sub("\n", text)
    return text.strip()


_PLAIN_SPACES = frozenset("\t\r\f\v\n")
_QUOTE_CHARS = frozenset(_QUOTES)
_SPACES = re.compile(r"[ \t\r\f\v]+")
#: Was ``\s*\n\s*``: quadratic on a long run of whitespace other than ASCII spaces.
_NEWLINES = re.compile(r"(?<!\s)[^\S\n]*+\n\s*+")


_REFUSAL = re.compile(
    r"^(?:i'?m sorry|sorry\b|i am sorry|i apologi[sz]e|as an ai\b|i (?:can ?not|can't|am unable|"
    r"'m unable|do not have enough|don't have enough|do not know|don't know)|unfortunately,? i|it is (?:not possible|"
    r"impossible) to (?:determine|say|tell)|there is not enough information|"
    r"(?:cannot|can't) (?:be )?determine)",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """Whether a normalised output opens with a refusal ("I'm sorry", "I cannot ...").

    >>> is_refusal("I cannot determine the answer from the given information.")
    True
    >>> is_refusal("B")
    False
    """
    return bool(_REFUSAL.match(text))


# AG answers are free text, and a human-style answer may open with "Sorry, it
# does not fit": only a model declining to answer counts as a refusal there.
_AG_REFUSAL = re.compile(
    r"^(?:as an ai\b|i (?:do not|don't) know\b|"
    r"(?:(?:i'?m |i am )?sorry|i apologi[sz]e|unfortunately)\b[^.!?\n]*?\bi (?:can ?not|can't|"
    r"am unable|'m unable|do not|don't)\b|"
    r"i (?:can ?not|can't|am unable to|'m unable to) (?:answer|provide|help|assist|determine|"
    r"say|tell)\b)",
    re.IGNORECASE,
)


def is_ag_refusal(text: str) -> bool:
    """Whether a normalised AG answer declines to answer ("I'm sorry, I cannot ...", "As an AI").

    Stricter than :func:`is_refusal`: "Sorry, it does not fit." is an answer.

    >>> is_ag_refusal("I'm sorry, I cannot answer.")
    True
    >>> is_ag_refusal("Sorry, it does not fit the 2019 model.")
    False
    """
    return bool(_AG_REFUSAL.match(text))


_LETTERED = re.compile(r"^\s*\(?([A-Z])\)?\s*[:.)]\s*(.*)$", re.DOTALL)


def split_options(options: Sequence[str] | None) -> dict[str, str]:
    """Map option letter -> option text from lettered (``"A: very positive"``) or plain options.

    >>> split_options(["A: very positive", "B: positive"])
    {'A': 'very positive', 'B': 'positive'}
    >>> split_options(["very positive", "positive"])
    {'A': 'very positive', 'B': 'positive'}
    """
    if not options:
        return {}
    return dict(_split_options(tuple(str(o) for o in options)))


@functools.lru_cache(maxsize=256)
def _split_options(options: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for i, opt in enumerate(options[: len(LETTERS)]):
        m = _LETTERED.match(opt)
        if m and m.group(1) == LETTERS[i]:
            out.append((m.group(1), m.group(2).strip()))
        else:
            out.append((LETTERS[i], opt.strip()))
    return tuple(out)


_PUNCT_TO_SPACE = str.maketrans({c: " " for c in map(chr, range(128))
                                  if not (c.isalnum() or c in "_%$")})


def _fold(text: str) -> str:
    """Case-folded text with punctuation turned into spaces, for option-text matching."""
    text = text.casefold()
    if text.isascii():
        return " ".join(text.translate(_PUNCT_TO_SPACE).split())
    return " ".join(re.sub(r"[^\w%$]+", " ", text).split())


@functools.lru_cache(maxsize=8192)
def _fold_cached(text: str) -> str:
    return _fold(text)


def _option_mentions(text: str, options: dict[str, str]) -> set[str]:
    """Letters whose full option text occurs in ``text`` (longest matches win).

    "very positive" also contains "positive": a shorter option inside a longer
    matched one does not count.
    """
    folded = f" {_fold(text)} "
    spans: list[tuple[int, int, str]] = []
    for letter, opt in options.items():
        key = _fold_cached(opt)
        if not key:
            continue
        start = folded.find(f" {key} ")
        while start != -1:
            spans.append((start + 1, start + 1 + len(key), letter))
            start = folded.find(f" {key} ", start + 1)
    # A span is dropped when a strictly longer span contains it.  Was a test of
    # every span against every other, quadratic in the number of mentions ("positive
    # positive ..."); spans of one option all have the same length, so only the
    # last span of each longer option starting at or before ``s`` can contain it.
    starts: dict[int, list[int]] = {}
    for s, e, _ in spans:
        starts.setdefault(e - s, []).append(s)  # appended in increasing order per letter
    for lst in starts.values():
        lst.sort()
    found: set[str] = set()
    for s, e, letter in spans:
        if letter in found:
            continue
        contained = False
        for length, lst in starts.items():
            if length > e - s:
                i = bisect.bisect_right(lst, s)
                if i and lst[i - 1] + length >= e:
                    contained = True
                    break
        if not contained:
            found.add(letter)
    return found


#: Words that negate what follows them ("not negative", "never positive"); "n't" folds to "n t".
_NEGATIONS = frozenset({"not", "never"})
#: A sentence or clause end, kept through folding as the word "_" so that no negation reaches across it.
_CLAUSE_END = re.compile(r"[.!?;:\n]+(?=\s|$)")


def _negated_mention(text: str, option: str) -> bool:
    """Whether ``option``'s text occurs in ``text``, and only right after a negation in its sentence.

    >>> _negated_mention("It is not negative.", "negative"), _negated_mention("It isn't negative", "negative")
    (True, True)
    >>> _negated_mention("Negative, not positive", "negative")
    False
    >>> _negated_mention("It does not. Negative.", "negative")  # the negation ends with its sentence
    False
    >>> _negated_mention("Negative. Not negative about the price.", "negative")  # said once without one
    False
    """
    folded, key = f" {_fold(_CLAUSE_END.sub(' _ ', text))} ", _fold_cached(_CLAUSE_END.sub(" _ ", option))
    if not key:
        return False
    start = folded.find(f" {key} ")
    found = False
    while start != -1:
        lo = max(0, start - 16)  # a bounded look back: linear in the number of mentions
        words = folded[lo:start].split(" ")
        if lo and folded[lo - 1] != " ":
            words = words[1:]  # the window began inside a word
        last = words[-1] if words else ""
        if not (last in _NEGATIONS or (last == "t" and len(words) > 1 and words[-2].endswith("n"))):
            return False
        found = True
        start = folded.find(f" {key} ", start + 1)
    return found


_CUE = re.compile(
    r"\b(?:answer|option|choice|output|prediction|response|label|selection|recommendation|"
    r"item)\s*+(?:(?:is|would be)\s*+)?(?:[:=-]\s*+)?(?:option\s*+)?[\(\[]?((?-i:[A-Z]))\b(?![-'])",
    re.IGNORECASE,
)
_CUE_WORDS = ("answer", "option", "choice", "output", "prediction", "response", "label",
              "selection", "recommendation", "item")
_PAREN = re.compile(r"[\(\[]([A-Z])[\)\]]")
_WHOLE = re.compile(r"^[\(\[]?([A-Za-z])[\)\]]?[.:;!]?$")


#: Words that follow an answer letter ("Option A is the best fit", "The answer is A because ...");
#: after "A" or "I" any other lowercase word makes them the article or the pronoun.
_AFTER_LETTER = frozenset({"is", "was", "because", "since", "as", "fits", "matches", "seems", "best", "which",
                           "and"})
_NEXT_WORD = re.compile(r"\s+([a-z]+)")


def _cue_letters(text: str) -> set[str]:
    """Letters after an answer cue; "I"/"A" followed by a lowercase word are words, not letters.

    >>> sorted(_cue_letters("Option A is the best fit.")), sorted(_cue_letters("The answer is a hat."))
    (['A'], [])
    >>> sorted(_cue_letters("Response: I think B")), sorted(_cue_letters("The answer is: B"))
    ([], ['B'])
    """
    found: set[str] = set()
    low = text.lower()
    if not any(word in low for word in _CUE_WORDS):
        return found
    for m in _CUE.finditer(text):
        letter = m.group(1)
        if letter in "IA":
            nxt = _NEXT_WORD.match(text, m.end())
            if nxt and (nxt.group(1) not in _AFTER_LETTER or (letter == "I" and nxt.group(1) == "was")):
                continue
        found.add(letter)
    return found


def extract_letter(text: str, options: dict[str, str], valid: Sequence[str]) -> str | None:
    """One option letter from a normalised output, or ``None``.

    Rules, strongest first: the whole output is one letter (``"B"``,
    ``"(b)."``); it starts with a letter and a separator (``"B: ..."``,
    ``"B. ..."``, ``"B) ..."``, ``"B - ..."``); an answer cue (``"Answer:
    B"``, ``"The answer is (B)."``); a parenthesised letter; an option's full
    text, unless every mention of it follows a negation in its sentence
    (``"not negative"``, ``"isn't negative"``).  Any other letter or option text
    named elsewhere in the output makes it ambiguous (``None``): ``"B. very
    positive"`` names B and the text of A.

    First-line rule: when the output has several lines and its first line
    alone is an explicit letter answer (one of the first three forms, with no
    conflict inside that line), the later lines are read as an explanation:
    option texts they mention do not count, but an explicit different letter
    in them (``"Answer: A"``, ``"(A)"``, a line ``"A"`` or ``"A: ..."``)
    still makes the output ambiguous.

    >>> opts = {"A": "yes please", "B": "no thanks"}
    >>> extract_letter("Answer: B", opts, "AB")
    'B'
    >>> extract_letter("no thanks", opts, "AB")
    'B'
    >>> extract_letter("A or B", opts, "AB") is None
    True
    >>> extract_letter("B\\nExplanation: not yes please.", opts, "AB")
    'B'
    >>> extract_letter("B\\nThe answer is (A).", opts, "AB") is None
    True
    """
    if not text or is_refusal(text):
        return None
    valid_set = set(valid)
    if "\n" in text:
        first, rest = text.split("\n", 1)
        letter, explicit = _one_letter(first, options, valid_set)
        if letter is not None and explicit:
            return None if _explicit_letters(rest, valid_set) - {letter} else letter
    return _one_letter(text, options, valid_set)[0]


_SEPARATED = re.compile(r"^\s*\(?([A-Z])\)?\s*(?:[:.)]|\s[-\u2013\u2014](?=\s))\s*(.*)$", re.DOTALL)


def _leading_letter(text: str) -> tuple[str, str] | None:
    """``(letter, rest)`` when ``text`` opens with a capital letter and a separator.

    The letter need not be valid: ``"D: <text of option B>"`` on a three-option
    task names two answers (and fails) rather than being read as B.
    """
    m = _SEPARATED.match(text)
    return (m.group(1), m.group(2)) if m else None


def _explicit_letters(text: str, valid_set: set[str]) -> set[str]:
    """Valid letters ``text`` names explicitly: cues, parentheses, lines that are or open with one."""
    found = _cue_letters(text) | set(_PAREN.findall(text))
    for line in text.split("\n"):
        line = line.strip()
        m = _WHOLE.match(line)
        if m:
            found.add(m.group(1).upper())
        lead = _leading_letter(line)
        if lead:
            found.add(lead[0])
    return found & valid_set


def _one_letter(text: str, options: dict[str, str],
                valid_set: set[str]) -> tuple[str | None, bool]:
    """The letter of :func:`extract_letter` without the first-line rule, and whether it was
    written as a letter (whole output, leading letter, cue or parentheses) rather than
    read from an option's text."""
    candidates: set[str] = set()
    m = _WHOLE.match(text)
    if m:
        candidates = {m.group(1).upper()}
    else:
        lead = _leading_letter(text)
        if lead:
            letter, rest = lead
            whole, other = _WHOLE.match(rest), _leading_letter(rest)
            second = whole.group(1).upper() if whole else other[0] if other else letter
            if second != letter and second in valid_set:
                return None, True  # "A - B", "A. B. C": two letters
            candidates = {letter}
            if options and letter in options and "\n" not in rest and \
                    _fold(rest) == _fold_cached(options[letter]):
                return letter, True  # "B: <text of option B>"
    mentions = _option_mentions(text, options) if options else set()
    cues = _cue_letters(text)
    parens = set(_PAREN.findall(text))
    explicit = bool(candidates or cues or parens)
    if not candidates:
        candidates = {c for c in cues if c in valid_set} or cues or parens or mentions
    if len(candidates) != 1:
        return None, explicit
    (letter,) = candidates
    if letter not in valid_set:
        return None, explicit
    # Any other letter or option text named anywhere ("B: <text of option A>",
    # "Answer: A. Answer: B.") makes the output ambiguous.
    if ((parens | cues) & valid_set | mentions) - {letter}:
        return None, explicit
    # An answer read from an option's text alone is no answer when that text is only said
    # negated ("The review is not negative" picks neither "negative" nor any other option).
    if not explicit and _negated_mention(text, options[letter]):
        return None, explicit
    return letter, explicit


_YES = re.compile(r"\byes\b", re.IGNORECASE)
_NO = re.compile(r"\bno\b", re.IGNORECASE)
#: "Yes"/"No" opening a sentence or line as an answer of its own ("Yes.", "No,", "Yes" at the end).
#: Was ``(?:^|(?<=[.!?\n]))\s*(yes|no)...`` with ``^`` per line: quadratic on a run of
#: newlines (tried after each one).  Now tried once per whitespace run, at its
#: beginning: at the start, after ``.!?``, or when the run holds a newline.
_YES_NO_ANSWER = re.compile(r"(?:\A|(?<=[.!?])|(?<!\s)(?=[^\S\n]*+\n))\s*+(yes|no)\b(?=\s*(?:[.,!:;]|$))",
                            re.IGNORECASE | re.MULTILINE)


#: "Answer: yes", "The answer is no.", "Output: yes (...)": an answer cue and a link ("is", ":") before
#: the word, punctuation or the end after it; not "to answer yes or no", "the answer is no doubt yes".
_YES_NO_CUE = re.compile(r"\b(?:answer|output|prediction|response|label)\s*+(?:(?:is|would be)\b|[:=-])"
                         r"(?:\s*+[:=-])?\s*+(yes|no)\b(?=[^\S\n]*+(?:[.,!:;(\n]|$))", re.IGNORECASE)
#: "not yes", "cannot say yes", "can't answer no": the word is negated, not said.
_YES_NO_NEGATED = re.compile(r"\b(?:not|never|cannot|\w*n['\u2019]t)\s++(?:(?:say|answer)\s++)?(?:yes|no)\b",
                             re.IGNORECASE)


def extract_yes_no(text: str) -> str | None:
    """``"yes"`` or ``"no"`` from a normalised output, or ``None``.

    An output that opens with "Yes" or "No" as an answer of its own is that
    answer, whatever its explanation says in passing, unless another
    sentence or line also opens with the other answer.  Next, an answer cue
    ("Answer: yes", "The answer is no") names it, unless a cue or a sentence
    names the other.  Otherwise it must say exactly one of the two words (as
    a word, any case) and not negate it ("I cannot say yes"); saying both,
    neither, or refusing is failed.

    >>> extract_yes_no("Yes, they are the same product.")
    'yes'
    >>> extract_yes_no("Yes.\\nExplanation: no differences found.")
    'yes'
    >>> extract_yes_no("no.")
    'no'
    >>> extract_yes_no("yes or no") is None
    True
    >>> extract_yes_no("No. Yes.") is None
    True
    >>> extract_yes_no("The answer is yes. There is no difference in brand.")
    'yes'
    >>> extract_yes_no("Based on the information, I cannot say yes.") is None
    True
    """
    if not text or is_refusal(text):
        return None
    answers = {m.group(1).lower() for m in _YES_NO_ANSWER.finditer(text)}
    lead = _YES_NO_ANSWER.match(text)
    if lead and len(answers) == 1:
        return lead.group(1).lower()
    cued = {m.group(1).lower() for m in _YES_NO_CUE.finditer(text)}
    if len(cued) == 1 and answers <= cued:
        return cued.pop()
    yes, no = bool(_YES.search(text)), bool(_NO.search(text))
    if yes == no or _YES_NO_NEGATED.search(text):
        return None
    return "yes" if yes else "no"


_RANK_PREFIX = re.compile(
    r"^(?:(?:the\s+)?(?:final\s+)?(?:answer|ranking|ranked list|order|output|response)"
    r"(?:\s+is)?\s*[:=-]?\s*)",
    re.IGNORECASE,
)
#: Was ``\s*(?:,|>|;|\n|->|→|\band\b|\bthen\b)\s*``: quadratic on a long whitespace run;
#: now tried at the beginning of a run only (not between two spaces), same pieces.
_RANK_SPLIT = re.compile(r"(?:(?<!\s)|(?!\s))(?:\s*+(?:,|>|;|->|→|\band\b|\bthen\b)|[^\S\n]*+\n)\s*+")
_RANK_TOKEN = re.compile(
    r"^(?:\d+[.)]\s*)?(?:(?i:product|item|option)\s+)?[\(\[]?([A-Z])[\)\]]?(?:\s*[:.)-].*)?\.?$", re.DOTALL
)
#: Letters alone, joined by dashes, dots, colons or spaces ("B - A - C", "B. A. C", "C-A-B", "B A C").
_LETTER_CHAIN = re.compile(r"^\(?[A-Z]\)?(?:(?:\s*[-\u2013\u2014.:]\s*|\s+)\(?[A-Z]\)?)+\.?$")


def extract_ranking(text: str, valid: Sequence[str]) -> list[str] | None:
    """Ranked option letters from a normalised output, or ``None``.

    Accepts ``"A, C, B"``, ``"A > C > B"``, ``"[A, C, B]"``, one letter per
    line (optionally ``"1. A: text"``).  Every piece must be one valid letter
    and no letter may repeat; a partial ranking is returned as is (missing
    products get no gain in NDCG).

    >>> extract_ranking("A > C > B", "ABC")
    ['A', 'C', 'B']
    >>> extract_ranking("B - A - C", "ABC")
    ['B', 'A', 'C']
    >>> extract_ranking("A, A, B", "ABC") is None
    True
    """
    if not text or is_refusal(text):
        return None
    text = _RANK_PREFIX.sub("", text).strip()
    text = text.strip("[]{}").strip().rstrip(".")
    if not text:
        return None
    valid_set = set(valid)
    if _LETTER_CHAIN.match(text):
        letters = re.findall(r"[A-Z]", text)
        if len(set(letters)) != len(letters) or not set(letters) <= valid_set:
            return None
        return letters
    letters = []
    for piece in _RANK_SPLIT.split(text):
        piece = piece.strip().strip("'\"")
        if not piece:
            continue
        m = _RANK_TOKEN.match(piece)
        if not m or m.group(1) not in valid_set:
            return None
        letters.append(m.group(1))
    if not letters or len(set(letters)) != len(letters):
        return None
    return letters


_NONE_WORDS = {"", "none", "null", "n/a", "na", "nan", "not available", "not applicable", "-", "not found",
               "not mentioned", "not specified", "not provided", "not given", "not stated", "not present",
               "unknown", "no value", "none found"}
_TRIPLE_TEXT = re.compile(
    r"attribute\s*:\s*(?P<a>.*?)\s*[;,\n]\s*value\s*:\s*(?P<v>.*?)\s*[;,\n]\s*source\s*:\s*"
    r"(?P<s>.*?)\s*(?:[.;]\s*)?(?=(?:[-*•]\s*)?attribute\s*:|$)",
    re.IGNORECASE | re.DOTALL,
)
# ``_TRIPLE_TEXT.finditer`` alone is cubic: from every "attribute:" with no
# "value:" and "source:" after it, the lazy fields scan to the end, once per later
# "value:" (``"attribute: " * 4000``: 5.9 s).  :func:`_text_triples` runs it only
# where it matches on its first try, found from these linear scans (on text whose
# whitespace runs are one character long, so every ``\s*`` here takes at most one).
_ATTR_HEAD = re.compile(r"attribute\s*:", re.IGNORECASE)
_VALUE_SEP = re.compile(r"(?=[;,\n]\s*value\s*:)", re.IGNORECASE)
_VALUE_HEAD = re.compile(r"[;,\n]\s*value\s*:", re.IGNORECASE)
_SOURCE_SEP = re.compile(r"(?=[;,\n]\s*source\s*:)", re.IGNORECASE)
_WS_RUN = re.compile(r"\s+")
#: Was ``(?m)^\s*[-*•]\s*``, quadratic on a run of newlines; see :func:`_drop_bullets`.
_BULLET = re.compile(r"(?m)^\s*+[-*•]\s*+")
_MULTI_NEWLINE_RUN = re.compile(r"\n[^\S\n]*+\n")
_SPACE_TO = re.compile(r"\s*+")


def _drop_bullets(text: str) -> str:
    """``re.sub(r"(?m)^\\s*[-*•]\\s*", "", text)`` in linear time.

    >>> _drop_bullets("- a\\n * b")
    'a\\nb'
    """
    if _MULTI_NEWLINE_RUN.search(text) is None:  # each line start scans its own whitespace once
        return _BULLET.sub("", text)
    out, pos, q, n = [], 0, 0, len(text)
    while q <= n:
        y = _SPACE_TO.match(text, q).end()
        if y < n and text[y] in "-*•":
            end = _SPACE_TO.match(text, y + 1).end()
            out.append(text[pos:q])
            pos = end
            if end and text[end - 1] == "\n":
                q = end
                continue
            y = end
        # Every line start up to y ends its whitespace at y too: it fails the same way.
        nl = text.find("\n", y)
        if nl == -1:
            break
        q = nl + 1
    out.append(text[pos:])
    return "".join(out)


def _collapse_space(text: str) -> str:
    """Each whitespace run as one character: a newline if it holds one, else a space.

    Fields are cleaned with ``" ".join(field.split())``, so this changes no triple.
    """
    return _WS_RUN.sub(lambda m: "\n" if "\n" in m.group() else " ", text)


def _text_triples(body: str):
    """``_TRIPLE_TEXT.finditer(body)`` in linear time; ``None`` when it would yield a
    match with an empty attribute (``"Attribute:\\nValue: ..."``)."""
    body = _collapse_space(body)
    value_seps = [m.start() for m in _VALUE_SEP.finditer(body)]
    last_source = -1
    for m in _SOURCE_SEP.finditer(body):
        last_source = m.start()
    matches = []
    pos = 0
    for head in _ATTR_HEAD.finditer(body):
        p = head.start()
        if p < pos:
            continue
        c = head.end()
        ws = c < len(body) and body[c].isspace()
        # First path of the regex: the first "[;,\n] value:" after the spaces.
        i = bisect.bisect_left(value_seps, c + ws)
        if i < len(value_seps):
            after_value = _VALUE_HEAD.match(body, value_seps[i]).end()
            if last_source >= after_value:
                m = _TRIPLE_TEXT.match(body, p)
                matches.append(m)
                pos = m.end()
                continue
        # Its last path: "attribute:\nvalue:", an empty attribute.
        if ws and body[c] == "\n" and i and value_seps[i - 1] == c:
            if last_source >= _VALUE_HEAD.match(body, c).end():
                return None
    return matches


def _clean_field(value) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split()).strip().strip("\"'").rstrip(".;,").strip()
    return None if text.casefold() in _NONE_WORDS else text


def _triples_from_json(obj) -> list[Triple] | None:
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        return None
    out: list[Triple] = []
    for item in obj:
        if not isinstance(item, dict):
            return None
        keys = {str(k).casefold(): v for k, v in item.items()}
        if "attribute" not in keys or "value" not in keys:
            return None
        attr = _clean_field(keys["attribute"])
        if attr is None:
            return None
        out.append((attr.casefold(), _clean_field(keys["value"]), _clean_field(keys.get("source"))))
    return out


def _triples_from_json_text(text: str) -> list[Triple] | None:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return _triples_from_json(obj)


def extract_triples(text: str) -> list[Triple] | None:
    """AVE ``(attribute, value, source)`` triples, or ``None``.

    Reads a JSON list (or object) of ``{"attribute", "value", "source"}`` and
    the free-text form of the paper's case study, ``Attribute: material;
    Value: nylon; Source: product description.`` (fields separated by ``;``
    or ``,``, one triple per line or in a row).  ``"None"`` values and
    sources become ``None``; attribute names are case-folded.  ``[]`` is a
    valid answer (nothing extracted).

    >>> extract_triples('[{"attribute": "Color", "value": "red", "source": "title"}]')
    [('color', 'red', 'title')]
    >>> extract_triples("Attribute: specialty style; Value: None, Source: None.")
    [('specialty style', None, None)]
    """
    if not text or is_refusal(text):
        return None
    start = min((i for i in (text.find("["), text.find("{")) if i != -1), default=-1)
    if start != -1:
        for end in (text.rfind("]"), text.rfind("}")):
            if end > start:
                try:
                    obj = json.loads(text[start : end + 1])
                except (json.JSONDecodeError, RecursionError):
                    continue
                triples = _triples_from_json(obj)
                if triples is not None:
                    return triples
    matches = _text_triples(_drop_bullets(text))
    if matches is None:
        return None
    triples = []
    for m in matches:
        attr = _clean_field(m.group("a"))
        if attr is None:
            return None
        triples.append((attr.casefold(), _clean_field(m.group("v")), _clean_field(m.group("s"))))
    return triples or None


# --------------------------------------------------------------------------- entry point


def _valid_letters(spec: TaskSpec, options: dict[str, str]) -> str:
    if options:
        return "".join(options)
    if spec.labels and spec.kind != "binary":
        return "".join(spec.labels)
    return LETTERS[:20]


_MISS = object()
_SIMPLE_RANKING = re.compile(r"[A-Z](?:[ \t]*,[ \t]*[A-Z])*")
_MARKUP = frozenset("<>#[]*`_\n\t\r\f\v")


@functools.cache
def _fixed_option_letters(code: str) -> dict[str, str]:
    """Lettered fixed option text (``"B: positive"``) -> its letter."""
    return {opt: opt[0] for opt in get_task(code).lettered_options()}


def _fast_path(output: str, spec: TaskSpec, options: Sequence[str] | None):
    """The answer for outputs already in the exact gold shape, else ``_MISS``.

    Fine-tuned models mostly answer ``"B"``, ``"A: very positive"``,
    ``"yes"`` or ``"B,A,C"``; these skip the full chain.  The result is always what the full chain
    returns (a property test checks it).
    """
    text = output.strip()
    if not text:
        return None
    kind = spec.kind
    if kind in ("multiclass", "pick"):
        if len(text) == 1 and "A" <= text <= "Z":
            n = len(options) if options else (len(spec.labels) if spec.labels else 20)
            return text if ord(text) - 65 < n else None
        if spec.options:  # a fixed option written out whole, as the release's SA/MPC outputs
            letter = _fixed_option_letters(spec.code).get(text)
            if letter is not None and (not options or list(options) == spec.lettered_options()):
                return letter
        return _MISS
    if kind == "binary":
        low = text.lower().rstrip(".")
        return low if low in ("yes", "no") else _MISS
    if kind == "ranking":
        if _SIMPLE_RANKING.fullmatch(text):
            letters = [c for c in text if c.isupper()]
            n = len(options) if options else 20
            if len(set(letters)) == len(letters) and all(ord(c) - 65 < n for c in letters):
                return letters
            return None
        return _MISS
    if kind == "extraction":
        if text[0] in "[{" and "#" not in text and "<" not in text and "INST" not in text \
                and "esponse" not in text:
            triples = _triples_from_json_text(text)
            if triples is not None:
                return triples
        return _MISS
    if kind == "generation":
        if text.isascii() and "  " not in text and "esponse" not in text and \
                "INST" not in text and _MARKUP.isdisjoint(text):
            return None if is_ag_refusal(text) else text
        return _MISS
    return _MISS


def parse(output: str | None, task: str | TaskSpec, options: Sequence[str] | None = None):
    """Parse one model output for ``task``; ``None`` when no answer can be read.

    Parameters
    ----------
    output : str or None
        The raw model output (a prompt echo is fine).
    task : str or TaskSpec
        Task code, case-insensitive.
    options : sequence of str, optional
        The record's options as the prompt showed them (``"A: very positive"``)
        or plain texts.  Defaults to the task's fixed options.

    Returns
    -------
    str, list or None
        Option letter (PRP, SA, SR, MPC), ``"yes"``/``"no"`` (PM, PSI, AP),
        a list of letters (QPR), a list of ``(attribute, value, source)``
        tuples (AVE), the stripped answer text (AG), or ``None`` (failed:
        no readable answer, two different answers, or a refusal; for AG an
        empty answer or one declining to answer, :func:`is_ag_refusal`).

    Examples
    --------
    >>> parse("**B**", "SA")
    'B'
    >>> parse("### Response: very negative", "SA")
    'E'
    >>> parse("", "PM") is None
    True
    """
    spec = task if isinstance(task, TaskSpec) else get_task(task)
    if not isinstance(output, str):
        return None
    fast = _fast_path(output, spec, options)
    if fast is not _MISS:
        return fast
    if spec.kind == "generation":  # free answers rarely repeat: nothing to cache
        return _parse_chain(output, spec, None)
    key = tuple(options) if options and spec.kind in ("multiclass", "pick", "ranking") else None
    result = _parse_cached(output, spec.code, key)
    return list(result) if isinstance(result, tuple) else result


@functools.lru_cache(maxsize=1 << 14)
def _parse_cached(output: str, code: str, options: tuple[str, ...] | None):
    # Model outputs repeat a lot ("The answer is (B)."); results are immutable here.
    result = _parse_chain(output, get_task(code), options)
    return tuple(result) if isinstance(result, list) else result


def _parse_chain(output: str, spec: TaskSpec, options: Sequence[str] | None):
    """The full chain of :func:`parse` (no fast path, no cache)."""
    text = normalize(strip_echo(output))
    if not text:
        return None
    kind = spec.kind
    if kind == "generation":
        return None if is_ag_refusal(text) else text
    if kind == "binary":
        return extract_yes_no(text)
    if kind == "extraction":
        # JSON values are read before Markdown clean-up ("*" or "__" may be in a value).
        raw = strip_echo(output).strip()
        if raw[:1] in ("[", "{"):
            triples = _triples_from_json_text(raw)
            if triples is not None:
                return triples
        return extract_triples(text)
    opts = split_options(options) if options else split_options(spec.lettered_options())
    valid = _valid_letters(spec, opts)
    if kind == "ranking":
        return extract_ranking(text, valid)
    return extract_letter(text, opts, valid)
