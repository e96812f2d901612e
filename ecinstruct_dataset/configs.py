"""The dataset configs as data: one per task plus ``all``, the generalist training mix.

Both the ``datasets`` builder (``ECInstruct.py``) and the Hub export read
this table, so a config and its splits are declared exactly once.  Split
names come from the task registry (:data:`ecinstruct_eval.tasks.TASKS`).

Examples
--------
>>> from ecinstruct_dataset.configs import CONFIGS
>>> CONFIGS["SR"].splits
('train', 'validation', 'test', 'test_unseen', 'test_ood', 'test_ood_unseen')
>>> CONFIGS["all"].splits
('train', 'validation')
>>> len(CONFIGS["all"].tasks)
10
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecinstruct_eval.tasks import TASKS

#: The config ``load_dataset(folder)`` opens when no config is named.
DEFAULT_CONFIG = "all"

#: Splits of the ``all`` config.  It is the mix the paper trains its
#: generalist eCeLLM models on (train, and validation for model selection);
#: the test sets stay per task, because every metric is per task and the
#: OOD test sets exist for six tasks only.
MIX_SPLITS = ("train", "validation")


@dataclass(frozen=True)
class ConfigSpec:
    """One dataset config: its name, the tasks it concatenates (in this order) and its splits."""

    name: str
    tasks: tuple[str, ...]
    splits: tuple[str, ...]
    description: str

    def tasks_with(self, split: str) -> tuple[str, ...]:
        """The tasks of this config that have ``split``."""
        return tuple(t for t in self.tasks if split in TASKS[t].splits)


def _task_config(code: str) -> ConfigSpec:
    spec = TASKS[code]
    return ConfigSpec(
        name=code,
        tasks=(code,),
        splits=spec.splits,
        description=f"{code}: {spec.name} ({spec.group}); splits {', '.join(spec.splits)}.",
    )


CONFIGS: Mapping[str, ConfigSpec] = {
    **{code: _task_config(code) for code in TASKS},
    "all": ConfigSpec(
        name="all",
        tasks=tuple(TASKS),
        splits=MIX_SPLITS,
        description="all: the generalist training mix, train and validation of the ten tasks "
        "concatenated in the paper's task order; test sets are in the per-task configs.",
    ),
}


def get_config(name: str) -> ConfigSpec:
    """The :class:`ConfigSpec` called ``name`` (task codes are case-insensitive)."""
    key = name if name in CONFIGS else str(name).upper()
    try:
        return CONFIGS[key]
    except KeyError:
        raise KeyError(
            f"unknown ECInstruct config {name!r}; known configs: {', '.join(CONFIGS)}"
        ) from None
