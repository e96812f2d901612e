"""Fixtures: tiny ECInstruct data (synthetic, and the bundled sample build) and a tiny LM."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ecinstruct_eval.tasks import TASKS

REPO = Path(__file__).resolve().parents[2]

SENTIMENT_WORDS = "great good fine okay poor bad awful love hate works broke cheap sturdy".split()
PRODUCT_WORDS = "usb cable charger phone case black red steel water bottle lamp desk".split()


def _record(task, split, i, **fields):
    rec = {
        "id": f"{task}-{split}-{i:05d}",
        "task": task,
        "split": split,
        "instruction": "Answer the question about the item.",
        "instruction_kind": "seed",
        "input": "",
        "options": [],
        "output": "",
        "category": "Electronics",
        "source_ids": [f"src{i}"],
        "few_shot_id": f"{task}-train-{i:05d}" if split != "train" else "",
        "relevance": [],
        "attributes": [],
    }
    rec.update(fields)
    return rec


def sa_records(split, n, rng):
    options = TASKS["SA"].lettered_options()
    return [
        _record(
            "SA", split, i,
            instruction="Identify the sentiment of the review.",
            input=" ".join(rng.choice(SENTIMENT_WORDS) for _ in range(12)),
            options=options,
            output=rng.choice("ABCDE"),
        )
        for i in range(n)
    ]


def qpr_records(split, n, rng):
    out = []
    for i in range(n):
        k = rng.randint(2, 4)
        grades = rng.sample(["E", "S", "C", "I"], k)
        letters = "ABCD"[:k]
        order = sorted(range(k), key=lambda j: "ESCI".index(grades[j]))
        out.append(_record(
            "QPR", split, i,
            instruction="Rank the products by their relevance to the query.",
            input="query: " + " ".join(rng.sample(PRODUCT_WORDS, 2)),
            options=[f"{letters[j]}: " + " ".join(rng.sample(PRODUCT_WORDS, 3)) for j in range(k)],
            output=", ".join(letters[j] for j in order),
            relevance=grades,
        ))
    return out


def write_hub_folder(root: Path, tables: dict[str, dict[str, list[dict]]]) -> Path:
    """A Hub-style folder: <CONFIG>/<split>.parquet plus a README.md ``configs:`` block."""
    import datasets

    lines = ["---", "configs:"]
    for config, splits in tables.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, records in splits.items():
            path = root / config / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(records).to_parquet(str(path))
            lines += [f"  - split: {split}", f"    path: {config}/{split}.parquet"]
    lines += ["---", "", "Tiny ECInstruct-shaped test data."]
    (root / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(name="write_hub_folder")
def write_hub_folder_fixture():
    return write_hub_folder


@pytest.fixture(scope="session")
def tiny_tables():
    rng = random.Random(0)
    return {
        "SA": {"train": sa_records("train", 8, rng), "test": sa_records("test", 8, rng)},
        "QPR": {"train": qpr_records("train", 6, rng), "test": qpr_records("test", 6, rng)},
    }


@pytest.fixture(scope="session")
def hub_dir(tmp_path_factory, tiny_tables):
    return write_hub_folder(tmp_path_factory.mktemp("hub"), tiny_tables)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory, tiny_tables):
    """The same records laid out as ``ecinstruct build`` writes them."""
    root = tmp_path_factory.mktemp("build")
    for config, splits in tiny_tables.items():
        (root / config).mkdir()
        for split, records in splits.items():
            text = "".join(json.dumps(r) + "\n" for r in records)
            (root / config / f"{split}.jsonl").write_text(text, encoding="utf-8")
    return root


#: Whole answers followed by the tasks' "\n\n" stop sequence, as single tokens:
#: whatever a random model emits first, generation stops there, so greedy decoding
#: yields a mix of parseable answers and failures instead of endless noise.
ANSWER_TOKENS = [f"{a}\n\n" for a in (
    "A", "B", "C", "D", "E", "B: positive", "maybe", "A, B", "B, A", "C, A, B", "A, C, B",
    "B, C, A", "D, C, B, A", "A, B, C, D", "B, D", "C, B, A, D", "yes", "no",
)]


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory):
    """The bundled sample sources built as a user would (``ecinstruct build``)."""
    from ecinstruct_eval.cli import main

    out = tmp_path_factory.mktemp("sample") / "build"
    argv = ["build", "--sources", str(REPO / "samples" / "sources"), "--out", str(out),
            "--config", str(REPO / "samples" / "sample_build.json")]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="session")
def sample_hub(sample_build):
    """The sample build exported to a Hub-ready folder (``ecinstruct export``)."""
    from ecinstruct_eval.cli import main

    out = sample_build.parent / "hub"
    assert main(["export", "--from", str(sample_build), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A 2-layer random Llama with a word-level vocabulary (no download).

    Its output layer can only pick an ``ANSWER_TOKENS`` entry, so every
    generation is one of them, chosen by the random network from the prompt.
    """
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<unk>", "<s>", "</s>"] + SENTIMENT_WORDS + PRODUCT_WORDS + list("ABCDE")
    words += ANSWER_TOKENS
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="</s>"
    )
    torch.manual_seed(4)  # a seed whose answers mix right, wrong and unparseable ones
    config = transformers.LlamaConfig(
        vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=1, eos_token_id=2, pad_token_id=2, initializer_range=1.0,
    )
    model = transformers.LlamaForCausalLM(config)
    with torch.no_grad():  # only answer tokens can win the argmax; the words vary the context
        model.lm_head.weight[: len(words) - len(ANSWER_TOKENS)] = 0.0
    out = tmp_path_factory.mktemp("tiny_llama")
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out
