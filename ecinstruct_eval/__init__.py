"""ecinstruct_eval: parse and score model outputs on the ten ECInstruct tasks."""

from ecinstruct_eval.tasks import TASKS, TaskSpec, get_task

__version__ = "0.1.0"

__all__ = ["TASKS", "TaskSpec", "get_task", "__version__"]
