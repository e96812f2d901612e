"""ECInstruct leaderboard: submissions, validation, results files, tables and comparisons.

>>> from ecinstruct_leaderboard import paper_table, improvement
>>> round(improvement(paper_table("IND"))[1], 1)
10.7
"""

from ecinstruct_leaderboard.reference import PaperTable, improvement, paper_table
from ecinstruct_leaderboard.submission import (
    Limits,
    Problem,
    SubmissionError,
    ValidationReport,
    meta_path_for,
    validate_submission,
    write_submission,
)

__all__ = [
    "Limits",
    "PaperTable",
    "Problem",
    "SubmissionError",
    "ValidationReport",
    "improvement",
    "meta_path_for",
    "paper_table",
    "score_submission",
    "validate_submission",
    "write_submission",
]


def __getattr__(name):  # numpy-backed scoring is imported on first use
    if name == "score_submission":
        from ecinstruct_leaderboard.results import score_submission

        return score_submission
    raise AttributeError(f"module 'ecinstruct_leaderboard' has no attribute {name!r}")
