"""Render the dataset card (``README.md`` of the export) from ``dataset_card.md``.

The template is Markdown with a YAML metadata block and ``{{ name }}``
placeholders.  Everything that depends on the build (split sizes, examples,
instructions, the ``configs:`` and ``dataset_info:`` metadata) is generated
here, never typed; the prose lives in the template.

Examples
--------
>>> render_template("{{ a }} and {{b}}", {"a": "x", "b": "y"})
'x and y'
>>> size_category(116_528)
'100K<n<1M'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ecinstruct_dataset.configs import CONFIGS, DEFAULT_CONFIG
from ecinstruct_dataset.licences import NOTE, licence_table
from ecinstruct_eval.tasks import TASKS

if TYPE_CHECKING:
    from ecinstruct_dataset.exporter import ExportResult

TEMPLATE_NAME = "dataset_card.md"
#: What the card's code examples load when no Hub id is given.
PLACEHOLDER_REPO = "path/to/ECInstruct"
#: Order in which the six instructions of a task are listed.
INSTRUCTION_KINDS = ("seed", "generated_1", "generated_2", "generated_3", "generated_4", "unseen")
#: Order of the split columns of the splits table.
SPLIT_ORDER = ("train", "validation", "test", "test_unseen", "test_ood", "test_ood_unseen")
#: Splits that hold distinct samples (the unseen ones are copies under another instruction).
SAMPLE_SPLITS = ("train", "validation", "test", "test_ood")

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_COMMENT = re.compile(r"<!--.*?-->\n*", re.DOTALL)
_SIZE_BINS = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
)


def find_template(template: str | os.PathLike | None = None) -> Path:
    """The card template: ``template`` if given, else the package's ``dataset_card.md``."""
    if template is not None:
        path = Path(template)
        if not path.is_file():
            raise FileNotFoundError(f"card template {str(path)!r} does not exist")
        return path
    # package data (ecinstruct_dataset/dataset_card.md links the repository's template): found the
    # same way from a checkout, an editable install, a wheel or a --user install
    candidates = [Path(__file__).resolve().parent / TEMPLATE_NAME]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"cannot find the card template {TEMPLATE_NAME} (looked in "
        f"{', '.join(str(c) for c in candidates)}); pass card_template= / --card-template"
    )


def render_template(text: str, context: Mapping[str, str]) -> str:
    """Replace every ``{{ name }}`` by ``context[name]``; an unknown name is an error."""
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(context))
    if unknown:
        raise KeyError(f"card template placeholder(s) with no value: {unknown}")
    return _PLACEHOLDER.sub(lambda m: str(context[m.group(1)]), text)


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bin of ``n`` rows."""
    for bound, name in _SIZE_BINS:
        if n < bound:
            return name
    return "n>1T"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fenced(text: str, info: str = "") -> str:
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def splits_table(result: ExportResult) -> str:
    """Rows per config (tasks, then ``all``) and split, ``–`` where a split does not exist."""
    counts = result.counts()
    columns = [s for s in SPLIT_ORDER if any(s in c for c in counts.values())]
    rows = [[f"`{t}`"] + [f"{counts[t][s]:,}" if s in counts[t] else "–" for s in columns]
            for t in counts]
    mix = result.config_splits(DEFAULT_CONFIG)
    rows.append([f"`{DEFAULT_CONFIG}`"] + [
        f"{sum(sf.num_examples for _, sf in mix[s]):,}" if s in mix else "–" for s in columns
    ])
    return _table(["config"] + [f"`{s}`" for s in columns], rows)


def configs_table(result: ExportResult) -> str:
    rows = []
    for name in result.configs:
        spec = CONFIGS[name]
        tasks = [t for t in spec.tasks if t in result.splits]
        label = f"`{name}` (default)" if name == DEFAULT_CONFIG else f"`{name}`"
        what = TASKS[name].name if name in TASKS else f"generalist mix of {', '.join(tasks)}"
        splits = ", ".join(f"`{s}`" for s in result.config_splits(name))
        rows.append([label, what, splits])
    return _table(["config", "content", "splits"], rows)


#: Splits whose records make a task's IND categories.
IND_SPLITS = ("train", "validation", "test")


def _names(names, limit: int = 6) -> str:
    """``names`` joined, at most ``limit`` of them.

    >>> _names(["a", "b", "c"], limit=2)
    'a, b + 1 more'
    """
    names = list(names)
    more = f" + {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def build_categories(result: ExportResult) -> dict[str, tuple[str, str]]:
    """Per task: the IND categories and the OOD test of this build, as the records say.

    IND: the ``category`` values of ``train``/``validation``/``test``;
    OOD: the categories of ``test_ood`` that no IND split has, else (AVE) the
    attribute names of ``test_ood`` that ``train`` never asks for.  ``"–"``
    where the source has no categories or the build has no OOD test set.
    """
    out = {}
    for task in result.splits:
        cats = result.categories.get(task, {})
        ind = sorted({c for s in IND_SPLITS for c in cats.get(s, {}) if c})
        ood_cats = sorted(c for c in cats.get("test_ood", {}) if c)
        if "test_ood" not in result.splits[task]:
            ood = "–"
        elif new := [c for c in ood_cats if c not in ind]:
            ood = _names(new)
        else:
            attrs = result.attribute_names.get(task, {})
            held_out = sorted(attrs.get("test_ood", set()) - attrs.get("train", set()))
            if held_out:
                n = len(held_out)
                ood = f"{n} held-out attribute{'s' if n != 1 else ''}: {_names(held_out, limit=10)}"
            else:
                ood = _names(ood_cats) or "–"
        out[task] = (_names(ind) or "–", ood)
    return out


def tasks_table(tasks, categories: Mapping[str, tuple[str, str]] | None = None) -> str:
    """The task table: what each task is, the categories this build used and the paper's sources.

    ``categories`` maps a task to its (IND, OOD) text of this build
    (:func:`build_categories`); without it those columns are left out.
    """
    rows = []
    for code in tasks:
        spec = TASKS[code]
        ood = spec.ood_source if spec.has_ood else "–"
        used = list(categories.get(code, ("–", "–"))) if categories is not None else []
        rows.append([f"`{code}`", spec.name, spec.group, spec.kind, spec.paper_metric,
                     *used, spec.ind_source, ood])
    header = ["code", "task", "family", "type", "primary metric"]
    if categories is not None:
        header += ["IND categories (this build)", "OOD test (this build)"]
    return _table(header + ["IND source (paper)", "OOD test (paper)"], rows)


def _paper_categories() -> Mapping[str, Mapping[str, list[str]]]:
    try:
        from ecinstruct_builders.sources import PAPER_CATEGORIES
    except ImportError:
        return {}
    return PAPER_CATEGORIES


def categories_note(result: ExportResult) -> str:
    """A sentence naming the tasks whose categories differ from the paper's (empty when none do)."""
    differ = []
    for task, paper in _paper_categories().items():
        cats = result.categories.get(task)
        if task not in result.splits or not cats:
            continue
        ind = {c for s in IND_SPLITS for c in cats.get(s, {}) if c}
        ood = {c for c in cats.get("test_ood", {}) if c} - ind
        if not ind:  # records without categories: nothing to compare
            continue
        if ind != set(paper["ind"]) or ("test_ood" in cats and ood != set(paper["ood"])):
            differ.append(task)
    if not differ:
        return ""
    return (
        f"This build takes {', '.join(differ)} from other product categories than the paper "
        "(the *this build* columns above), so scores on these tasks are not comparable with "
        "the paper's tables."
    )


def _shorten(value, limit: int = 300, items: int = 6):
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
    if isinstance(value, list):
        head = [_shorten(v, 200, items) for v in value[:items]]
        return head + ([f"… {len(value) - items} more"] if len(value) > items else [])
    if isinstance(value, dict):
        return {k: _shorten(v, limit, items) for k, v in value.items()}
    return value


def task_examples(examples: Mapping[str, dict]) -> str:
    """One fenced JSON record per task (the fields a user reads), long texts shortened."""
    parts = []
    for code, record in examples.items():
        shown = {k: record[k] for k in ("id", "instruction", "input", "options", "output")}
        for extra in ("relevance", "attributes"):
            if record.get(extra):
                shown[extra] = record[extra]
        body = json.dumps(_shorten(shown), ensure_ascii=False, indent=2)
        parts.append(f"**{code}** ({TASKS[code].name})\n\n{_fenced(body, 'json')}")
    return "\n\n".join(parts)


def _paper_instructions(task: str) -> dict[str, str]:
    """The six instructions from ``ecinstruct_builders.instructions`` when it exists (fills gaps of small builds)."""
    try:
        from ecinstruct_builders.instructions import INSTRUCTIONS
    except ImportError:
        return {}
    entry = INSTRUCTIONS.get(task) if hasattr(INSTRUCTIONS, "get") else None
    if entry is None:
        return {}
    kinds = dict(zip(INSTRUCTION_KINDS[:5], entry.seen))
    kinds["unseen"] = entry.unseen
    return kinds


def instructions_section(instructions: Mapping[str, Mapping[str, str]]) -> str:
    """The six instructions of every task, seed first and unseen last."""
    parts = []
    for code, found in instructions.items():
        known = {**_paper_instructions(code), **found}
        lines = [f"**{code}** ({TASKS[code].name})", ""]
        for i, kind in enumerate(INSTRUCTION_KINDS, 1):
            text = known.get(kind, "*(not used by any record of this build)*")
            lines.append(f"{i}. `{kind}`: {text}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _snippet_task(result: ExportResult) -> tuple[str, str]:
    """A task config and split for the code examples: SR/test_ood when the build has it."""
    for code in ("SR", *result.splits):
        splits = result.splits.get(code, {})
        for split in ("test_ood", "test"):
            if split in splits:
                return code, split
    code = next(iter(result.splits))
    return code, next(iter(result.splits[code]))


def load_snippet(result: ExportResult, repo: str) -> str:
    code, split = _snippet_task(result)
    lines = [
        f'ds = load_dataset("{repo}", "{code}")  # every split of one task (a DatasetDict)',
        f'{split} = load_dataset("{repo}", "{code}", split="{split}")',
    ]
    if result.config_splits(DEFAULT_CONFIG):
        lines.append(
            f'mix = load_dataset("{repo}", "{DEFAULT_CONFIG}", split="train")  # generalist training mix'
        )
    return "\n".join(lines)


def eval_snippet(result: ExportResult, repo: str) -> str:
    code, split = _snippet_task(result)
    return "\n".join([
        f'refs = load_dataset("{repo}", "{code}", split="{split}")',
        "predictions = [generate(r) for r in refs]  # your model's free-text outputs, in order",
        f'result = ecinstruct_eval.score(predictions, "{code}", references=refs)',
        "print(result.primary, result[result.primary], result.n_failed)",
    ])


def build_summary(result: ExportResult) -> str:
    counts = result.counts()
    samples = sum(n for c in counts.values() for s, n in c.items() if s in SAMPLE_SPLITS)
    rows = sum(n for c in counts.values() for n in c.values())
    text = (
        f"It holds {samples:,} samples of {len(counts)} task{'s' if len(counts) != 1 else ''} "
        f"({rows:,} rows with the unseen-instruction copies of the test sets)."
    )
    if result.settings:
        sizes = result.settings.get("sizes")
        described = {"paper": "the paper's size caps (Table A3)", "all": "every sample the sources allow"}
        parts = [f"seed {result.settings['seed']}"] if "seed" in result.settings else []
        if sizes in described:
            parts.append(described[sizes])
        elif sizes is not None:
            parts.append(f"at most {10 * int(sizes):,} training and {int(sizes):,} validation and "
                         "test samples per task")
        text += f" Built with {' and '.join(parts)}."
    if result.notes:
        text += " Not in this build: " + "; ".join(result.notes) + "."
    return text


def release_section(result: ExportResult) -> str:
    """Where this copy came from and, per task, every step that differs from the official release."""
    from ecinstruct_eval.testsets import describe, is_official

    if is_official(result.origin):
        return (f"This copy was imported from {describe(result.origin)} with `ecinstruct import`: its "
                "records and test sets are the release's own.")
    lines = [
        "The builders follow the official release's processing (the Hub dataset NingLab/ECInstruct, on "
        "which every number of the paper was measured) step by step, its text quirks included. "
        "Where a step of the release cannot be replayed, or the build was asked to differ, it is "
        "listed here; test sets of a rebuild are not the official ones, so scores on them are not "
        "comparable with the paper's."
    ]
    fixed = sorted(t for t, r in result.release.items() if r.get("defects", {}).get("fixed"))
    repeats = {t: sum(r.get("defects", {}).get("eval_repeats_train", {}).values())
               for t, r in result.release.items()}
    lines.append("")
    if fixed:
        lines.append(f"Built with `--fix-defects` for {', '.join(fixed)}: evaluation records repeating a "
                     "training record were removed (the release keeps them).")
    else:
        lines.append("Built as the release is (no `--fix-defects`): evaluation records that repeat a "
                     "training record are kept.")
    rows = [[t, n] for t, n in repeats.items() if n]
    if rows:
        lines += ["", _table(["task", "evaluation records repeating a training record"], rows)]
    diffs = [[t, d] for t, r in result.release.items() for d in r.get("differences", [])]
    if diffs:
        lines += ["", _table(["task", "differs from the release"], diffs)]
    return "\n".join(lines)


def card_metadata(result: ExportResult) -> dict:
    """The generated YAML keys: ``size_categories``, ``configs`` and ``dataset_info``."""
    from datasets import DatasetInfo, SplitDict, SplitInfo

    from ecinstruct_dataset.schema import FEATURES

    rows = sum(n for c in result.counts().values() for n in c.values())
    configs, infos = [], []
    for name in result.configs:
        entry = {"config_name": name}
        if name == DEFAULT_CONFIG:
            entry["default"] = True
        entry["data_files"] = [
            {"split": split, "path": files} for split, files in result.config_files(name).items()
        ]
        configs.append(entry)

        splits = SplitDict()
        download = 0
        for split, parts in result.config_splits(name).items():
            splits.add(SplitInfo(
                name=split,
                num_bytes=sum(sf.num_bytes for _, sf in parts),
                num_examples=sum(sf.num_examples for _, sf in parts),
            ))
            download += sum(sf.download_size for _, sf in parts)
        info = DatasetInfo(
            features=FEATURES, splits=splits, download_size=download,
            dataset_size=sum(s.num_bytes for s in splits.values()),
        )
        infos.append({"config_name": name, **info._to_yaml_dict()})
    return {"size_categories": [size_category(rows)], "configs": configs, "dataset_info": infos}


def render_card(
    result: ExportResult,
    *,
    repo_id: str | None = None,
    template: str | os.PathLike | None = None,
) -> str:
    """The card of an export: template metadata + generated metadata, placeholders filled.

    Parameters
    ----------
    result : ExportResult
        What the export wrote (files, counts, examples and instructions per task).
    repo_id : str, optional
        The Hub id (or folder) the code examples load; a placeholder when omitted.
    template : path, optional
        The card template (default :func:`find_template`).
    """
    from huggingface_hub import DatasetCard

    card = DatasetCard(find_template(template).read_text(encoding="utf-8"))
    for key, value in card_metadata(result).items():
        card.data[key] = value
    repo = repo_id or PLACEHOLDER_REPO
    context = {
        "build_summary": build_summary(result),
        "load_snippet": load_snippet(result, repo),
        "eval_snippet": eval_snippet(result, repo),
        "configs_table": configs_table(result),
        "splits_table": splits_table(result),
        "tasks_table": tasks_table(result.splits, build_categories(result)),
        "categories_note": categories_note(result),
        "task_examples": task_examples(result.examples),
        "instructions": instructions_section(result.instructions),
        "release_section": release_section(result),
        "licences_table": licence_table(),
        "licences_note": NOTE,
        "repo_id": repo,
    }
    card.text = "\n" + render_template(_COMMENT.sub("", card.text), context).lstrip("\n")
    text = str(card)
    return text if text.endswith("\n") else text + "\n"
