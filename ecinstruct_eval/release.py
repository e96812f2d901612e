"""The official release's names, as data: its task names, settings and splits mapped to ours.

The authors' release (the Hub dataset NingLab/ECInstruct) is one table with
columns ``task``, ``setting``, ``split``, ``instruction``, ``input``,
``options``, ``output`` and ``few_shot_example`` (RELEASED_FORMAT.md §11).
Three task names are spelt two ways in public sources; both are accepted.
Each (setting, split) of the table has one destination here: one of our
splits, a named extra (the seed-instruction data of the paper's Table 5),
the one-shot pairing of a test split, or nothing (skipped, with the reason).

Examples
--------
>>> task_code("Product_Substitue_Identification"), task_code("sr")
('PSI', 'SR')
>>> destination("OOD_Diverse_Instruction", "test")
Destination(kind='split', name='test_ood')
>>> destination("IND_Single_Instruction", "train")
Destination(kind='extra', name='single_train')
>>> our_split("val"), our_split("test", setting="OOD_Unseen_Instruction")
('validation', 'test_ood_unseen')
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import MappingProxyType

#: Hub id of the authors' release.
HUB_ID = "NingLab/ECInstruct"

#: Task name in the release -> our code.  The first name of each code is the Hub's spelling;
#: the misspelt ones are the authors' evaluation script's branch names.
TASK_NAMES = MappingProxyType({
    "Attribute_Value_Extraction": "AVE",
    "Product_Relation_Prediction": "PRP",
    "Product_Relation_Predicition": "PRP",
    "Product_Matching": "PM",
    "Sentiment_Analysis": "SA",
    "Sequential_Recommendation": "SR",
    "Multiclass_Product_Classification": "MPC",
    "Product_Substitute_Identification": "PSI",
    "Product_Substitue_Identification": "PSI",
    "Query_Product_Rank": "QPR",
    "Query_Product_Ranking": "QPR",
    "Answerability_Prediction": "AP",
    "Answer_Generation": "AG",
})

#: Our code -> the release's (Hub) task name.
RELEASE_NAME = MappingProxyType({code: name for name, code in reversed(list(TASK_NAMES.items()))})

#: The release's split names -> ours.
SPLITS = MappingProxyType({"train": "train", "val": "validation", "test": "test"})


@dataclass(frozen=True)
class Destination:
    """Where rows of one (setting, split) go: ``kind`` is ``split``, ``extra`` or ``one_shot``."""

    kind: str
    name: str


#: (setting, release split) -> destination.  ECInstruct proper is the two Diverse settings.
DESTINATIONS = MappingProxyType({
    ("IND_Diverse_Instruction", "train"): Destination("split", "train"),
    ("IND_Diverse_Instruction", "val"): Destination("split", "validation"),
    ("IND_Diverse_Instruction", "test"): Destination("split", "test"),
    ("OOD_Diverse_Instruction", "test"): Destination("split", "test_ood"),
    ("IND_Unseen_Instruction", "test"): Destination("split", "test_unseen"),
    ("OOD_Unseen_Instruction", "test"): Destination("split", "test_ood_unseen"),
    ("IND_Single_Instruction", "train"): Destination("extra", "single_train"),
    ("IND_Single_Instruction", "val"): Destination("extra", "single_validation"),
    ("IND_Single_Instruction", "test"): Destination("extra", "single_test"),
    ("OOD_Single_Instruction", "test"): Destination("extra", "single_test_ood"),
    ("IND_Diverse_Instruction_1-shot", "test"): Destination("one_shot", "test"),
    ("OOD_Diverse_Instruction_1-shot", "test"): Destination("one_shot", "test_ood"),
})

#: Every setting the release's table is known to hold.
SETTINGS = tuple(dict.fromkeys(s for s, _ in DESTINATIONS))

#: The release card's sizes of ECInstruct proper (the two Diverse settings), train/val/test/OOD test.
CARD_SIZES = MappingProxyType({"train": 92_022, "validation": 9_253, "test": 9_253, "test_ood": 6_000})


def task_code(name: str) -> str:
    """Our code of a task given by our code or the release's name (either spelling).

    Raises ``KeyError`` with the closest names when it is neither.
    """
    from ecinstruct_eval.tasks import TASKS

    key = name.strip()
    if key.upper() in TASKS:
        return key.upper()
    if key in TASK_NAMES:
        return TASK_NAMES[key]
    known = [*TASKS, *TASK_NAMES]
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; expected one of {', '.join(TASKS)}"
    raise KeyError(f"unknown task {name!r}{hint}")


_BY_LOWER = {(s.lower(), sp): d for (s, sp), d in DESTINATIONS.items()}


def destination(setting: str, split: str) -> Destination | None:
    """Where the release's rows of ``setting`` and ``split`` go, or ``None`` (no counterpart).

    Settings match whatever their case (``IND_Diverse_Instruction_1-Shot``).
    """
    return _BY_LOWER.get((setting.strip().lower(), split.strip().lower()))


def our_split(split: str, *, setting: str | None = None) -> str:
    """Our split name for a release split (``val`` -> ``validation``), given the setting if any.

    A one-shot setting's test rows are our test records (with their one-shot
    examples); a Single setting's rows are the named extra.

    Raises ``ValueError`` naming the known settings when (setting, split) has no split of ours.
    """
    if setting is None:
        if split in SPLITS:
            return SPLITS[split]
        raise ValueError(f"unknown release split {split!r}; expected one of {', '.join(SPLITS)}")
    dest = destination(setting, split)
    if dest is None:
        raise ValueError(f"no split of ours for setting {setting!r} split {split!r}; "
                         f"known settings: {', '.join(SETTINGS)}")
    return dest.name
