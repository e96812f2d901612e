"""Fixtures of the training tests: a tiny build folder and tiny random models.

Nothing is downloaded: the records are written here in the canonical schema,
the tokenizers are trained on their text with the ``tokenizers`` library and
the models are built from configs with random weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import RECORD_FIELDS

SA_OPTIONS = ["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"]
SR_OPTIONS = [f"{chr(65 + i)}: item {i} kayak paddle {i % 3}" for i in range(20)]
WORDS = "great bad fine cable phone light tent kayak paddle lamp battery charger works broke love hate okay".split()


def _record(task, split, i, *, instruction, input_, options, output, few_shot_id=""):
    rec = {
        "id": f"{task}-{split}-{i:05d}",
        "task": task,
        "split": split,
        "instruction": instruction,
        "instruction_kind": "seed" if i % 2 == 0 else "generated_1",
        "input": input_,
        "options": options,
        "output": output,
        "category": "Sports and Outdoors",
        "source_ids": [f"src{i}"],
        "few_shot_id": few_shot_id,
        "relevance": [],
        "attributes": [],
    }
    return {k: rec[k] for k in RECORD_FIELDS}


def _task_records(task: str, split: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        words = " ".join(WORDS[(i * 3 + j) % len(WORDS)] for j in range(6 + i % 4))
        shot = f"{task}-train-{i:05d}" if split != "train" else ""
        if task == "SA":
            out.append(_record(task, split, i, instruction="Given the user's review, identify the sentiment.",
                               input_=f"The {words}.", options=SA_OPTIONS, output="AB"[i % 2], few_shot_id=shot))
        elif task == "SR":
            history = "\n".join(f"{k + 1}st: item {k} {WORDS[k]}" for k in range(1 + i % 3))
            out.append(_record(task, split, i, instruction="Predict the next item from the options.",
                               input_=history, options=SR_OPTIONS, output="ABC"[i % 3], few_shot_id=shot))
        else:  # AG
            out.append(_record(task, split, i, instruction="Answer the given question using the document.",
                               input_=f"question: does the {WORDS[i]} work? document: the {words}",
                               options=[], output=f"yes the {WORDS[i]} works", few_shot_id=shot))
    return out


SPLIT_SIZES = {"train": 8, "validation": 2, "test": 4, "test_unseen": 4, "test_ood": 5, "test_ood_unseen": 5}


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("build")
    for task in ("SA", "SR", "AG"):
        (root / task).mkdir()
        for split, n in SPLIT_SIZES.items():
            with open(root / task / f"{split}.jsonl", "w") as fh:
                for rec in _task_records(task, split, n):
                    fh.write(json.dumps(rec) + "\n")
    return root


def _corpus(build: Path) -> list[str]:
    from ecinstruct_eval.prompts import build_prompt

    texts = []
    for path in sorted(build.glob("*/*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            texts += [build_prompt(rec, style=s) for s in ("plain", "mistral", "llama2")] + [rec["output"]]
    return texts


def _tokenizer(build: Path, *, template: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_corpus(build), trainer=trainer)
    ids = {t: tok.token_to_id(t) for t in specials}
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, ids[t]) for t in ("<s>", "</s>") if t in template]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", bos_token="<s>"
    )


@pytest.fixture(scope="session")
def tiny_llama(build_dir, tmp_path_factory) -> Path:
    """A 2-layer random Llama with a locally trained byte-level BPE tokenizer (adds BOS)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _tokenizer(build_dir, template="<s> $A")
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=1024, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False,
    )
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_t5(build_dir, tmp_path_factory) -> Path:
    """A 2-layer random T5 (gated-GELU, like Flan-T5) whose tokenizer appends EOS."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tok = _tokenizer(build_dir, template="$A </s>")
    torch.manual_seed(0)
    cfg = T5Config(
        vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
        feed_forward_proj="gated-gelu", decoder_start_token_id=tok.pad_token_id, pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id, tie_word_embeddings=False,
    )
    path = tmp_path_factory.mktemp("tiny-t5")
    T5ForConditionalGeneration(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path
