"""The ECInstruct dataset: configs, typed features, Hub export and card.

Importing the package is cheap; ``datasets`` loads on first use of
:func:`export`, :func:`push_to_hub` or :data:`FEATURES`.

Examples
--------
>>> from ecinstruct_dataset import CONFIGS
>>> list(CONFIGS)[:3], CONFIGS["all"].splits
(['AVE', 'PRP', 'PM'], ('train', 'validation'))
"""

from __future__ import annotations

from importlib import import_module

from ecinstruct_dataset.configs import CONFIGS, DEFAULT_CONFIG, ConfigSpec, get_config

_LAZY = {
    "FEATURES": "ecinstruct_dataset.schema",
    "ARROW_SCHEMA": "ecinstruct_dataset.schema",
    "BuildFolder": "ecinstruct_dataset.build_dir",
    "export": "ecinstruct_dataset.exporter",
    "ExportResult": "ecinstruct_dataset.exporter",
    "loaded_split_sizes": "ecinstruct_dataset.exporter",
    "render_card": "ecinstruct_dataset.card",
    "push_to_hub": "ecinstruct_dataset.hub",
    "HubPushError": "ecinstruct_dataset.hub",
}

__all__ = ["CONFIGS", "DEFAULT_CONFIG", "ConfigSpec", "get_config", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ecinstruct_dataset' has no attribute {name!r}")
