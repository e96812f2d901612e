"""ecinstruct_eval: parse and score model outputs on the ten ECInstruct tasks.

>>> from ecinstruct_eval import score
>>> score(["B", "A"], "SA", references=["B", "C"])["accuracy"]
0.5
"""

from ecinstruct_eval.data import load_split
from ecinstruct_eval.parsing import parse
from ecinstruct_eval.scoring import ItemResult, ScoreResult, gold_answer, score
from ecinstruct_eval.tasks import TASKS, TaskSpec, get_task

__version__ = "0.1.0"

__all__ = [
    "TASKS",
    "ItemResult",
    "ScoreResult",
    "TaskSpec",
    "get_task",
    "gold_answer",
    "load_split",
    "parse",
    "score",
    "__version__",
]
