"""The ten ECInstruct tasks as data (paper, Table A1 and Appendix A).

Every other module asks this registry for facts about a task (its options,
labels, primary metric, which test sets exist) instead of branching on task
codes.  Unknown codes raise a ``KeyError`` that suggests the closest code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: Split names used everywhere (dataset configs, build output, submissions).
IND_SPLITS = ("train", "validation", "test", "test_unseen")
OOD_SPLITS = ("test_ood", "test_ood_unseen")
TEST_SPLITS = ("test", "test_unseen", "test_ood", "test_ood_unseen")


@dataclass(frozen=True)
class TaskSpec:
    """Facts about one ECInstruct task.

    Attributes
    ----------
    code : str
        The paper's upper-case code, e.g. ``"SR"``.
    name : str
        Human-readable task name.
    kind : str
        One of ``"extraction"``, ``"multiclass"``, ``"binary"``, ``"pick"``
        (choose one of many candidates), ``"ranking"``, ``"generation"``.
    options : tuple of str
        Fixed option texts, without their letters, in letter order (``A`` is
        the first).  Empty for tasks whose options vary per record (SR, QPR)
        or that have none.
    labels : tuple of str
        The full label set used for macro metrics (option letters, or
        ``("yes", "no")`` for binary tasks).  Empty for open-ended tasks.
    primary_metric : str
        Name of the primary metric in :class:`ecinstruct_eval.ScoreResult`.
    paper_metric : str
        How the paper's tables name the primary metric.
    has_ood : bool
        Whether an out-of-domain test set exists.
    ind_source : str
        IND data source(s) as the paper describes them.
    ood_source : str
        The OOD source, or ``""``.
    group : str
        The paper's task family.
    output_form : str
        How the official release writes the gold ``output`` (RELEASED_FORMAT.md
        §0), and so how models tuned on it answer: ``"letter"`` (PRP, SR:
        ``"B"``), ``"option"`` (SA, MPC: the full option text, ``"A: very
        positive"``), ``"yes/no"`` (PM, PSI, AP), ``"letters"`` (QPR: letters
        joined by ``","`` without spaces, ``"B,A,C"``), ``"json"`` (AVE: a
        JSON list of ``{"attribute", "value", "source"}``) or ``"text"`` (AG).
    """

    code: str
    name: str
    kind: str
    options: tuple[str, ...]
    labels: tuple[str, ...]
    primary_metric: str
    paper_metric: str
    has_ood: bool
    ind_source: str
    ood_source: str
    group: str
    output_form: str

    @property
    def splits(self) -> tuple[str, ...]:
        """All split names of this task's dataset config."""
        return IND_SPLITS + (OOD_SPLITS if self.has_ood else ())

    @property
    def test_splits(self) -> tuple[str, ...]:
        """Test split names: IND, unseen instruction and, if any, OOD."""
        return tuple(s for s in self.splits if s.startswith("test"))

    @property
    def option_letters(self) -> tuple[str, ...]:
        return tuple(LETTERS[: len(self.options)])

    def lettered_options(self) -> list[str]:
        """The fixed options as the prompts show them, e.g. ``"A: very positive"``."""
        return [f"{LETTERS[i]}: {text}" for i, text in enumerate(self.options)]

    def format_answer(self, answer: str | Sequence[str]) -> str:
        """An answer (option letter, letters of a ranking, ``"yes"``/``"no"``) in :attr:`output_form`.

        Examples
        --------
        >>> TASKS["SA"].format_answer("B"), TASKS["SR"].format_answer("B")
        ('B: positive', 'B')
        >>> TASKS["QPR"].format_answer(["B", "A", "C"])
        'B,A,C'
        """
        if self.output_form == "letters":
            return ",".join(answer)
        if self.output_form == "option":
            return self.lettered_options()[LETTERS.index(answer)]
        return str(answer)


_BINARY = ("yes", "no")

_SPECS = (
    TaskSpec(
        code="AVE",
        name="attribute value extraction",
        kind="extraction",
        options=(),
        labels=(),
        primary_metric="f1_star",
        paper_metric="F1*",
        has_ood=True,
        ind_source="MAVE on Amazon Review 2018",
        ood_source="7 held-out attributes",
        group="product understanding",
        output_form="json",
    ),
    TaskSpec(
        code="PRP",
        name="product relation prediction",
        kind="multiclass",
        # Option A's wording differs within the paper: A.1.2's example says "Users who view
        # product 1 may also buy product 2", the case study (J.3) "who buy ... may also buy".
        # The relation is also_buy, so J.3's wording is used; it is also the official release's
        # (RELEASED_FORMAT.md §3).
        options=(
            "Users who buy product 1 may also buy product 2.",
            "Users who view product 1 may also view product 2.",
            "The product 1 is similar with the product 2.",
        ),
        labels=("A", "B", "C"),
        primary_metric="macro_f1",
        paper_metric="macro F1",
        has_ood=True,
        ind_source="Amazon Review 2018 metadata: Electronics, Home and Kitchen, Sports and Outdoors",
        ood_source="Amazon Review 2018 metadata: Tools and Home Improvement",
        group="product understanding",
        output_form="letter",
    ),
    TaskSpec(
        code="PM",
        name="product matching",
        kind="binary",
        options=(),
        labels=_BINARY,
        primary_metric="f1",
        paper_metric="F1",
        has_ood=False,
        ind_source="Amazon-Google Products (Leipzig)",
        ood_source="",
        group="product understanding",
        output_form="yes/no",
    ),
    TaskSpec(
        code="SA",
        name="sentiment analysis",
        kind="multiclass",
        options=("very positive", "positive", "neutral", "negative", "very negative"),
        labels=("A", "B", "C", "D", "E"),
        primary_metric="macro_f1",
        paper_metric="macro F1",
        has_ood=True,
        ind_source="Amazon Review 2018 reviews: Electronics, Home and Kitchen, Sports and Outdoors",
        ood_source="Amazon Review 2018 reviews: Tools and Home Improvement",
        group="user understanding",
        output_form="option",
    ),
    TaskSpec(
        code="SR",
        name="sequential recommendation",
        kind="pick",
        options=(),
        labels=tuple(LETTERS[:20]),
        primary_metric="hr@1",
        paper_metric="HR@1",
        has_ood=True,
        ind_source="Amazon Review 2018 (+2014 metadata): Electronics, Home and Kitchen, Sports and Outdoors",
        ood_source="Amazon Review 2018 (+2014 metadata): Tools and Home Improvement",
        group="user understanding",
        output_form="letter",
    ),
    TaskSpec(
        code="MPC",
        name="multi-class product classification",
        kind="multiclass",
        options=(
            "The product is relevant to the query, and satisfies all the query specifications.",
            "The product is somewhat relevant. It fails to fulfill some aspects of the query but "
            "the product can be used as a functional substitute.",
            "The product does not fulfill the query, but could be used in combination with a "
            "product exactly matching the query.",
            "The product is irrelevant to the query.",
        ),
        labels=("A", "B", "C", "D"),
        primary_metric="accuracy",
        paper_metric="accuracy",
        has_ood=False,
        ind_source="Shopping Queries Dataset (ESCI), US locale",
        ood_source="",
        group="query product matching",
        output_form="option",
    ),
    TaskSpec(
        code="PSI",
        name="product substitute identification",
        kind="binary",
        options=(),
        labels=_BINARY,
        primary_metric="f1",
        paper_metric="F1",
        has_ood=False,
        ind_source="Shopping Queries Dataset (ESCI), US locale",
        ood_source="",
        group="query product matching",
        output_form="yes/no",
    ),
    TaskSpec(
        code="QPR",
        name="query-product ranking",
        kind="ranking",
        options=(),
        labels=(),
        primary_metric="ndcg",
        paper_metric="NDCG",
        has_ood=False,
        ind_source="Shopping Queries Dataset (ESCI), US locale",
        ood_source="",
        group="query product matching",
        output_form="letters",
    ),
    TaskSpec(
        code="AP",
        name="answerability prediction",
        kind="binary",
        options=(),
        labels=_BINARY,
        primary_metric="f1",
        paper_metric="F1",
        has_ood=True,
        ind_source="AmazonQA: Sports and Outdoors, Tools and Home Improvement",
        ood_source="AmazonQA: Cell Phones and Accessories",
        group="product question answering",
        output_form="yes/no",
    ),
    TaskSpec(
        code="AG",
        name="answer generation",
        kind="generation",
        options=(),
        labels=(),
        primary_metric="bertscore_f1",
        paper_metric="BERTScore F1",
        has_ood=True,
        ind_source="AmazonQA: Electronics, Home and Kitchen",
        ood_source="AmazonQA: Cell Phones and Accessories",
        group="product question answering",
        output_form="text",
    ),
)


class UnknownTaskError(KeyError):
    """An unknown task code.  A ``KeyError`` whose ``str()`` is the plain message
    (``KeyError`` itself quotes it), so CLIs can print it as is."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TaskRegistry(Mapping[str, TaskSpec]):
    """Read-only mapping from task code to :class:`TaskSpec`, in the paper's order."""

    def __init__(self, specs: tuple[TaskSpec, ...]):
        self._specs = {s.code: s for s in specs}

    def __getitem__(self, code: str) -> TaskSpec:
        if isinstance(code, TaskSpec):
            return code
        key = str(code).strip().upper()
        try:
            return self._specs[key]
        except KeyError:
            close = difflib.get_close_matches(key, list(self._specs), n=1, cutoff=0.3)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise UnknownTaskError(
                f"unknown ECInstruct task {code!r}{hint} Known tasks: {', '.join(self._specs)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"TaskRegistry({', '.join(self._specs)})"


TASKS = TaskRegistry(_SPECS)


def get_task(code: str | TaskSpec) -> TaskSpec:
    """Return the spec of ``code`` (case-insensitive); raise ``KeyError`` with a suggestion."""
    return TASKS[code]
