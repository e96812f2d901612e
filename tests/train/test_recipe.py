"""Presets, data variants, response-only labels, packing and batched generation."""

import json

import pytest

from ecellm.data import TRAIN_SIZES, encode_example, load_training_records, parse_tasks, subsample
from ecellm.presets import PRESETS, resolve_base
from ecellm.trainer import grad_accumulation


def test_the_six_presets_of_the_paper():
    assert {p: (v.model_id, v.arch) for p, v in PRESETS.items()} == {
        "flan-t5-xl": ("google/flan-t5-xl", "seq2seq"),
        "flan-t5-xxl": ("google/flan-t5-xxl", "seq2seq"),
        "llama-2-7b-chat": ("meta-llama/Llama-2-7b-chat-hf", "causal"),
        "llama-2-13b-chat": ("meta-llama/Llama-2-13b-chat-hf", "causal"),
        "mistral-7b-instruct-v0.2": ("mistralai/Mistral-7B-Instruct-v0.2", "causal"),
        "phi-2": ("microsoft/phi-2", "causal"),
        "ecellm-s": ("NingLab/eCeLLM-S", "causal"),
        "ecellm-m": ("NingLab/eCeLLM-M", "causal"),
        "ecellm-l": ("NingLab/eCeLLM-L", "causal"),
    }
    for preset in PRESETS.values():
        assert "lm_head" in preset.target_modules
    assert resolve_base("mistral-7b").style == "mistral"
    assert resolve_base("meta-llama/Llama-2-13b-chat-hf").name == "llama-2-13b-chat"
    assert resolve_base("/x/my-model", arch="seq2seq").arch == "seq2seq"


def test_ecellm_presets_default_to_the_released_format():
    # The published models were tuned on the release's template: alpaca, Mistral's for eCeLLM-M.
    for name, model_id, style in [("ecellm-s", "NingLab/eCeLLM-S", "alpaca"),
                                  ("ecellm-m", "NingLab/eCeLLM-M", "mistral"),
                                  ("ecellm-l", "NingLab/eCeLLM-L", "alpaca")]:
        for key in (name, name.upper(), model_id, model_id.lower()):
            preset = resolve_base(key)
            assert (preset.name, preset.model_id, preset.arch, preset.style, preset.prompt_format) == \
                (name, model_id, "causal", style, "released")
    assert resolve_base("ecellm-m", prompt_format="appendix-e").prompt_format == "appendix-e"
    # Base models keep Appendix E unless asked.
    assert {p.prompt_format for k, p in PRESETS.items() if not k.startswith("ecellm")} == {"appendix-e"}
    assert resolve_base("phi-2", prompt_format="released").prompt_format == "released"
    with pytest.raises(ValueError, match="prompt format"):
        resolve_base("phi-2", prompt_format="alpaca")


def test_ecellm_presets_download_nothing_without_permission(monkeypatch, tmp_path):
    from ecellm.modeling import ModelNotAvailableError, check_available

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelNotAvailableError):
        check_available(resolve_base("ecellm-m").model_id, allow_download=False)


def test_effective_batch_is_128_whatever_the_gpu_count():
    for micro, world in [(1, 1), (8, 1), (4, 2), (8, 4), (16, 8)]:
        assert micro * world * grad_accumulation(128, micro, world) == 128
    assert grad_accumulation(128, 3, 1) * 3 >= 128


def test_data_variants(build_dir):
    assert parse_tasks("sr, sa") == ["SA", "SR"]
    recs = load_training_records("SA,SR", location=build_dir)
    assert [r["task"] for r in recs] == ["SA"] * 8 + ["SR"] * 8
    single = load_training_records("SA", location=build_dir, instructions="single")
    from ecinstruct_builders.instructions import INSTRUCTIONS

    assert {r["instruction"] for r in single} == {INSTRUCTIONS["SA"].seen[0]}
    picked = subsample(list(range(10_000)), TRAIN_SIZES["1K"], seed=1, task="SR")
    assert len(picked) == 100 and picked == sorted(picked)
    assert picked == subsample(list(range(10_000)), 100, seed=1, task="SR")
    assert subsample(list(range(2022)), TRAIN_SIZES["47K"], seed=1, task="PM") == list(range(2022))
    with pytest.raises(ValueError, match="1K, 10K, 47K, 92K"):
        load_training_records("SA", location=build_dir, train_size="5K")


def test_loss_is_on_the_response_and_eos_only(build_dir, tiny_llama, tiny_t5):
    from transformers import AutoTokenizer

    rec = load_training_records("SA", location=build_dir)[1]
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    ex = encode_example(rec, tok, arch="causal", style="plain")
    supervised = [t for t in ex["labels"] if t != -100]
    assert ex["input_ids"][0] == tok.bos_token_id
    assert supervised[-1] == tok.eos_token_id
    assert tok.decode(supervised[:-1]) == rec["output"]
    n_prompt = ex["labels"].index(supervised[0])
    assert tok.decode(ex["input_ids"][:n_prompt], skip_special_tokens=True).endswith("response:")
    # Llama-2 prompts carry their own <s>: no second BOS.
    ex2 = encode_example(rec, tok, arch="causal", style="llama2")
    assert ex2["input_ids"][:2].count(tok.bos_token_id) == 1
    # Over-long prompts lose prompt tokens, never the response.
    short = encode_example(rec, tok, arch="causal", style="plain", max_length=24)
    assert len(short["input_ids"]) == 24 and short["input_ids"][0] == tok.bos_token_id
    assert [t for t in short["labels"] if t != -100] == supervised

    t5 = AutoTokenizer.from_pretrained(tiny_t5)
    ex = encode_example(rec, t5, arch="seq2seq", style="plain")
    assert ex["labels"][-1] == t5.eos_token_id and t5.decode(ex["labels"][:-1]) == rec["output"]
    assert -100 not in ex["labels"]


def test_packed_batches_give_the_padded_loss(build_dir, tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecellm.data import Collator

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32, attn_implementation="sdpa").eval()
    feats = [encode_example(r, tok, arch="causal") for r in load_training_records("SA,SR", location=build_dir)[5:10]]
    padded = Collator(tok, arch="causal", packed=False)(feats)
    packed = Collator(tok, arch="causal", packed=True)(feats)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    assert packed["input_ids"].shape[1] == sum(len(f["input_ids"]) for f in feats)
    with torch.no_grad():
        loss_padded = model(**padded, use_cache=False).loss
        loss_packed = model(**packed, use_cache=False).loss
    assert torch.allclose(loss_padded, loss_packed, atol=1e-5)


def test_batched_sorted_generation_matches_one_by_one(build_dir, tiny_llama, tiny_t5):
    from ecellm.predictor import build_prompts, generate, load_for_inference
    from ecinstruct_eval.data import load_split

    records = load_split("SR", "test_ood", build_dir) + load_split("AG", "test", build_dir)
    for path in (tiny_llama, tiny_t5):
        model, tok, preset = load_for_inference(str(path))
        prompts = build_prompts(records, style="plain")
        stats = {}
        batched = generate(model, tok, prompts, arch=preset.arch, batch_size=4, max_new_tokens=6,
                           progress=False, stats=stats)
        single = generate(model, tok, prompts, arch=preset.arch, batch_size=1, max_new_tokens=6,
                          sort_by_length=False, progress=False)
        assert batched == single
        assert len(batched) == len(records) and 0 < stats["new_tokens"] <= 6 * len(records)
        assert not any("response:" in out for out in batched)  # the prompt echo is gone


def test_train_and_predict_commands_import_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys; from ecinstruct_eval.cli import build_parser; build_parser(); "
        "import ecinstruct_eval.prompts, ecellm.cli_train, ecellm.cli_predict; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_generation_uses_the_kv_cache_even_when_the_checkpoint_disables_it(tmp_path, tiny_llama):
    import shutil

    from ecellm.predictor import generate_token_ids, load_for_inference

    # A checkpoint saved from training: use_cache=false and no generation_config.json.
    path = tmp_path / "no-cache"
    shutil.copytree(tiny_llama, path)
    (path / "generation_config.json").unlink(missing_ok=True)
    cfg = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**cfg, "use_cache": False}))
    model, tok, _ = load_for_inference(str(path))
    assert model.generation_config.use_cache is False  # what generate() would otherwise follow

    widths = []
    hook = model.model.register_forward_pre_hook(
        lambda module, args, kwargs: widths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    prompts = [[tok.bos_token_id, 5, 6, 7, 8], [tok.bos_token_id, 9, 10]]
    run = dict(arch="causal", pad_token_id=tok.pad_token_id, eos_token_id=None, max_new_tokens=4, progress=False)
    batched = generate_token_ids(model, prompts, batch_size=2, **run)
    hook.remove()
    assert widths == [5, 1, 1, 1]  # the prompt once, then one new token per step
    assert batched == generate_token_ids(model, prompts, batch_size=1, **run)
    assert [len(row) for row in batched] == [4, 4]


def test_long_prompts_are_cut_in_the_middle_of_the_input(tiny_llama, tiny_t5, build_dir):
    """Instruction, both ends of the input, options and the response marker survive a cut."""
    from ecellm.data import encode_example
    from ecellm.modeling import load_tokenizer

    words = [f"w{i}" for i in range(400)]
    rec = {"id": "SR-train-00001", "task": "SR", "split": "train", "instruction": "Predict the next item.",
           "input": "FIRSTITEM " + " ".join(words) + " LASTITEM", "options": ["A: kayak", "B: paddle"],
           "output": "B", "few_shot_id": ""}
    for path, arch in ((tiny_llama, "causal"), (tiny_t5, "seq2seq")):
        tok = load_tokenizer(str(path), arch=arch)
        enc = encode_example(rec, tok, arch=arch, max_length=160)
        prompt = [t for t, lab in zip(enc["input_ids"], enc["labels"]) if lab == -100] if arch == "causal" \
            else enc["input_ids"]
        text = tok.decode(prompt, skip_special_tokens=True)
        assert enc["prompt_shortened"] and not enc["response_cut"]
        assert len(enc["input_ids"]) <= 160
        for kept in ("Predict the next item.", "FIRSTITEM", "LASTITEM", "A: kayak", "B: paddle", " ... "):
            assert kept in text, (arch, kept, text)
        assert text.rstrip().endswith("response:"), (arch, text[-40:])
        assert tok.decode([t for t in enc["labels"] if t != -100], skip_special_tokens=True).strip() == "B"
    short = encode_example({**rec, "input": "one two"}, tok, arch="seq2seq", max_length=160)
    assert not short["prompt_shortened"]
