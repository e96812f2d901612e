"""ECInstruct as a ``datasets`` builder: one config per task plus ``all``.

Current ``datasets`` (>= 4) no longer runs loading scripts through
``load_dataset``, so this module is used as a class: build the Arrow shards
with ``download_and_prepare()`` and open them with ``as_dataset()``.  For
``load_dataset`` use the exported folder (``ecinstruct export``) or its Hub
copy instead.

Two ways to materialize the records:

* ``data_dir=BUILD``: a folder written by ``ecinstruct build``
  (``BUILD/<TASK>/<split>.jsonl``);
* ``sources=RAW``: the raw source files; the builders pipeline builds the
  tasks of the config into the datasets cache first (``build_options`` are
  passed on to it, e.g. ``{"sizes": 100}`` or
  ``{"config": "samples/sample_build.json"}``).

Configs: the ten task codes (splits ``train``, ``validation``, ``test``,
``test_unseen`` and, for AVE, PRP, SA, SR, AP and AG, ``test_ood`` and
``test_ood_unseen``) and ``all`` (default), the generalist training mix:
``train`` and ``validation`` of every task; its test sets are the per-task
configs, since every metric is per task.

Each config gets its own ``dataset_name`` (``ecinstruct_sr``...), and the
cache key includes a fingerprint of the build's bytes, so configs never
share a cache and a rebuilt folder is never served from a stale one.

Examples
--------
>>> from ECInstruct import ECInstruct
>>> builder = ECInstruct(config_name="SR", data_dir="build")       # doctest: +SKIP
>>> builder.download_and_prepare()                                  # doctest: +SKIP
>>> builder.as_dataset(split="test_ood")                            # doctest: +SKIP
Dataset({features: ['id', 'task', 'split', ...], num_rows: 1000})
>>> [c.name for c in ECInstruct.BUILDER_CONFIGS][:3]
['AVE', 'PRP', 'PM']
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from ecinstruct_dataset.build_dir import BuildFolder, read_records
from ecinstruct_dataset.configs import CONFIGS, DEFAULT_CONFIG
from ecinstruct_dataset.schema import FEATURES, records_to_table

logger = datasets.logging.get_logger(__name__)

_DESCRIPTION = (
    "ECInstruct: an instruction dataset of ten e-commerce tasks (attribute value extraction, "
    "product relation prediction, product matching, sentiment analysis, sequential "
    "recommendation, multi-class product classification, product substitute identification, "
    "query-product ranking, answerability prediction, answer generation), with in-domain, "
    "out-of-domain and unseen-instruction test sets (Peng et al., ICML 2024)."
)
_HOMEPAGE = "https://ninglab.github.io/eCeLLM/"
_LICENSE = "other: per source (Amazon-Google Products CC BY 4.0, ESCI Apache-2.0, Amazon Review 2018 and AmazonQA not specified)"
_CITATION = """\
@inproceedings{peng2024ecellm,
  title     = {{eCeLLM}: Generalizing Large Language Models for E-commerce from Large-scale, High-quality Instruction Data},
  author    = {Peng, Bo and Ling, Xinyi and Chen, Ziru and Sun, Huan and Ning, Xia},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning},
  series    = {Proceedings of Machine Learning Research},
  volume    = {235},
  publisher = {PMLR},
  year      = {2024}
}
"""
#: Rows per Arrow table handed to the writer.
BATCH_ROWS = 1000


@dataclass
class ECInstructConfig(datasets.BuilderConfig):
    """A config: the tasks it concatenates and the splits it offers (from ``TASKS``).

    Attributes
    ----------
    tasks : tuple of str
        Task codes, concatenated in this order.
    splits : tuple of str
        Split names of the config.
    sources : str, optional
        Raw-source folder to build from (instead of ``data_dir``, a finished build).
    build_options : dict
        Options of the raw build: ``config`` (a JSON build config file, as
        ``ecinstruct build --config``) and/or ``BuildConfig`` fields (``seed``,
        ``sizes``, ``categories``, ``options``).
    """

    tasks: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    sources: str | None = None
    build_options: dict = field(default_factory=dict)


def _config(name: str) -> ECInstructConfig:
    spec = CONFIGS[name]
    return ECInstructConfig(
        name=name, version=datasets.Version("1.0.0"), description=spec.description,
        tasks=spec.tasks, splits=spec.splits,
    )


def fingerprint(data_dir: str | os.PathLike | None = None, sources: str | os.PathLike | None = None,
                build_options: dict | None = None) -> str:
    """Cache key of a materialization.

    For a build folder, the hash of its bytes.  For raw sources, the hash of the
    build options (and the build config file's bytes) and of every source file's
    path, size and modification time: reading terabytes of raw data just to name
    a cache folder would be wasteful, and the pipeline itself rebuilds on change.
    """
    if data_dir is not None:
        return BuildFolder(data_dir).fingerprint()[:16]
    root = Path(sources).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"raw sources folder {str(root)!r} does not exist")
    files = sorted(
        (p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*") if p.is_file()
    )
    options = dict(build_options or {})
    if options.get("config"):
        options["config"] = Path(options["config"]).read_text(encoding="utf-8")
    key = json.dumps([str(root), files, options], sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class ECInstruct(datasets.ArrowBasedBuilder):
    """The ECInstruct builder (see the module docstring).

    Parameters
    ----------
    config_name : str
        A task code (``"SR"``) or ``"all"`` (default), the generalist training mix.
    data_dir : str, optional
        A build folder (``ecinstruct build --out``).
    sources : str, optional
        A raw-source folder, built with the builders pipeline.
    **kwargs
        Passed to :class:`datasets.ArrowBasedBuilder` (``cache_dir``...).
    """

    BUILDER_CONFIG_CLASS = ECInstructConfig
    BUILDER_CONFIGS = [_config(name) for name in CONFIGS]
    DEFAULT_CONFIG_NAME = DEFAULT_CONFIG

    def __init__(self, *args, **kwargs):
        name = kwargs.get("config_name") or self.DEFAULT_CONFIG_NAME
        # One cache folder per config, keyed by the content of what it reads.
        kwargs.setdefault("dataset_name", f"ecinstruct_{str(name).lower()}")
        if kwargs.get("hash") is None and (kwargs.get("data_dir") or kwargs.get("sources")):
            kwargs["hash"] = fingerprint(
                kwargs.get("data_dir"), kwargs.get("sources"), kwargs.get("build_options")
            )
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.config.description or _DESCRIPTION,
            features=FEATURES,
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=_CITATION,
        )

    def _build_folder(self, dl_manager) -> BuildFolder:
        cfg = self.config
        if cfg.data_dir:
            return BuildFolder(cfg.data_dir)
        if cfg.sources:
            # one build folder per (sources, options): configs add the tasks they need
            out = Path(self._cache_downloaded_dir) / "ecinstruct_builds" / fingerprint(
                sources=cfg.sources, build_options=cfg.build_options
            )
            build_from_sources(cfg.sources, out, tasks=cfg.tasks, **cfg.build_options)
            return BuildFolder(out)
        raise ValueError(
            "ECInstruct needs data: pass data_dir=BUILD (a folder written by `ecinstruct build`) "
            "or sources=RAW (the raw source files); to use load_dataset, export the build with "
            "`ecinstruct export --from BUILD --out DIR` and load DIR"
        )

    def _split_generators(self, dl_manager):
        build = self._build_folder(dl_manager)
        cfg = self.config
        absent = [t for t in cfg.tasks if t not in build.tasks]
        if len(absent) == len(cfg.tasks):
            raise ValueError(f"{build.path} holds no records of {', '.join(cfg.tasks)}")
        if absent:
            logger.warning(f"{build.path} has no records of {', '.join(absent)}; config "
                           f"{cfg.name!r} mixes the other tasks")
        generators = []
        for split in cfg.splits:
            files = [str(build.split_file(t, split)) for t in cfg.tasks
                     if t in build.tasks and split in build.splits(t) and build.count(t, split)]
            if files:
                generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"files": files}))
            else:
                logger.warning(f"{build.path}: no {split} records for config {cfg.name!r}")
        return generators

    def _generate_shards(self, files):
        yield from files

    def _generate_tables(self, files):
        for file_idx, path in enumerate(files):
            batch: list[dict] = []
            batch_idx = 0
            for record in read_records(path):
                batch.append(record)
                if len(batch) == BATCH_ROWS:
                    yield datasets.builder.Key(file_idx, batch_idx), records_to_table(batch)
                    batch, batch_idx = [], batch_idx + 1
            if batch:
                yield datasets.builder.Key(file_idx, batch_idx), records_to_table(batch)


def build_from_sources(sources, out, *, tasks, config=None, **settings) -> None:
    """Build ``tasks`` from the raw ``sources`` into ``out`` with the builders pipeline.

    ``config`` is a JSON build config file (``ecinstruct build --config``);
    ``settings`` are :class:`ecinstruct_builders.core.BuildConfig` fields (``seed``, ``sizes``,
    ``categories``, ``options``) and win over the file.  The pipeline skips tasks
    already built with the same settings, so a second call is cheap.
    """
    try:
        from ecinstruct_builders.core import BuildConfig
        from ecinstruct_builders.pipeline import build
    except ImportError as e:
        raise NotImplementedError(
            f"building from raw sources needs ecinstruct_builders.pipeline ({e}); run `ecinstruct build "
            "--sources RAW --out BUILD` and pass data_dir=BUILD instead"
        ) from None
    if config is not None:
        cfg = BuildConfig.from_file(Path(config), sources=Path(sources), out=Path(out), **settings)
    else:
        cfg = BuildConfig(sources=Path(sources), out=Path(out), **settings)
    build(cfg, list(tasks), log=logger.info)
