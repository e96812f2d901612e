"""The vLLM backend against a stand-in ``vllm`` package (vLLM needs CUDA; CI has none).

The stand-in implements the slice of vLLM's documented offline API that
``ecellm`` uses (``LLM(model, enable_lora=, max_lora_rank=)``,
``LLM.generate(prompts, SamplingParams, lora_request=)`` with
``{"prompt_token_ids": ...}`` prompts, ``vllm.lora.request.LoRARequest(name,
int_id, path)``) and does greedy decoding with transformers underneath.  It
checks our side of the contract: which model folder and LoRA request vLLM
is given (an LM-head adapter is merged into a full copy, others are served
as LoRA), that prompts arrive as the same token ids, and that predictions
come back in input order equal to the HF backend's.  The real engine was
not run here.
"""

import json
import sys
import textwrap

import pytest

from ecinstruct_eval.cli import main

STANDIN = '''
import torch
from transformers import AutoModelForCausalLM

CALLS = []


class SamplingParams:
    def __init__(self, temperature=1.0, max_tokens=16, skip_special_tokens=True):
        self.temperature, self.max_tokens, self.skip_special_tokens = temperature, max_tokens, skip_special_tokens


class _Completion:
    def __init__(self, text):
        self.text = text


class _Output:
    def __init__(self, text):
        self.outputs = [_Completion(text)]


class LLM:
    def __init__(self, model, enable_lora=False, max_lora_rank=16, **kwargs):
        from transformers import AutoTokenizer

        CALLS.append(("LLM", model, enable_lora, max_lora_rank))
        self.model = AutoModelForCausalLM.from_pretrained(model).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.enable_lora = enable_lora

    def generate(self, prompts, sampling_params, lora_request=None):
        CALLS.append(("generate", len(prompts), sampling_params.temperature, sampling_params.max_tokens,
                      None if lora_request is None else lora_request.lora_path))
        model = self.model
        if lora_request is not None:
            assert self.enable_lora, "LoRA requests need LLM(enable_lora=True)"
            from peft import PeftModel

            model = PeftModel.from_pretrained(self.model, lora_request.lora_path).eval()
        out = []
        for prompt in prompts:
            ids = torch.tensor([prompt["prompt_token_ids"]])
            with torch.no_grad():
                gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                     max_new_tokens=sampling_params.max_tokens,
                                     pad_token_id=self.tokenizer.pad_token_id)
            new = gen[0, ids.shape[1]:]
            out.append(_Output(self.tokenizer.decode(new, skip_special_tokens=True)))
        return out
'''
LORA = '''
class LoRARequest:
    def __init__(self, lora_name, lora_int_id, lora_path):
        self.lora_name, self.lora_int_id, self.lora_path = lora_name, lora_int_id, lora_path
'''


@pytest.fixture
def vllm_standin(tmp_path, monkeypatch):
    root = tmp_path / "standin"
    (root / "vllm" / "lora").mkdir(parents=True)
    (root / "vllm" / "__init__.py").write_text(textwrap.dedent(STANDIN))
    (root / "vllm" / "lora" / "__init__.py").write_text("")
    (root / "vllm" / "lora" / "request.py").write_text(textwrap.dedent(LORA))
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        monkeypatch.delitem(sys.modules, name)
    import vllm

    yield vllm
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def adapter(build_dir, tiny_llama, tmp_path_factory):
    """A short-trained adapter on all projections and the LM head (the paper's targets)."""
    out = tmp_path_factory.mktemp("adapter")
    assert main(["train", "--base", str(tiny_llama), "--data", str(build_dir), "--out", str(out), "--tasks", "SA,SR",
                 "--batch-size", "4", "--micro-batch-size", "2", "--max-steps", "3", "--save-steps", "100",
                 "--learning-rate", "0.05", "--precision", "fp32"]) == 0
    return out


def _without_lm_head(adapter, dest):
    """The same adapter restricted to the projection layers (what vLLM serves as LoRA)."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(adapter, dest, ignore=shutil.ignore_patterns("checkpoint-*", ".staging", "merged"))
    cfg = json.loads((dest / "adapter_config.json").read_text())
    cfg["target_modules"] = sorted(t for t in cfg["target_modules"] if t != "lm_head")
    (dest / "adapter_config.json").write_text(json.dumps(cfg))
    tensors = {k: v for k, v in load_file(str(dest / "adapter_model.safetensors")).items() if "lm_head" not in k}
    save_file(tensors, str(dest / "adapter_model.safetensors"))
    return dest


def _base_predictions(base, build_dir, tmp_path):
    out = tmp_path / "base.jsonl"
    assert main(["predict", "--model", str(base), "--data", str(build_dir), "--config", "SR", "--split",
                 "test_ood", "--out", str(out), "--max-new-tokens", "5", "--no-progress"]) == 0
    return [json.loads(line)["prediction"] for line in out.read_text().splitlines()]


def _predict(adapter, build_dir, out, backend):
    assert main(["predict", "--adapter", str(adapter), "--data", str(build_dir), "--config", "SR", "--split",
                 "test_ood", "--out", str(out), "--max-new-tokens", "5", "--backend", backend, "--no-progress"]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_lm_head_adapter_is_merged_once_and_matches_the_hf_backend(tmp_path, build_dir, adapter, tiny_llama,
                                                                  vllm_standin):
    hf = _predict(adapter, build_dir, tmp_path / "hf.jsonl", "hf")
    served = _predict(adapter, build_dir, tmp_path / "vllm.jsonl", "vllm")
    assert [p["id"] for p in served] == [p["id"] for p in hf] == [f"SR-test_ood-{i:05d}" for i in range(5)]
    assert [p["prediction"] for p in served] == [p["prediction"] for p in hf]
    assert any(p["prediction"] for p in hf)  # the comparison is not between empty strings
    assert _base_predictions(tiny_llama, build_dir, tmp_path) != [p["prediction"] for p in hf]  # nor the base's

    merged = adapter / "merged"
    assert (merged / "config.json").is_file() and not (adapter / ".staging" / "merged").exists()
    assert vllm_standin.CALLS[0] == ("LLM", str(merged), False, 16)
    assert vllm_standin.CALLS[1] == ("generate", 5, 0.0, 5, None)  # greedy, no LoRA request

    stamp = (merged / "config.json").stat().st_mtime_ns
    _predict(adapter, build_dir, tmp_path / "again.jsonl", "vllm")
    assert (merged / "config.json").stat().st_mtime_ns == stamp  # written once, reused


def test_projection_only_adapter_is_served_as_lora(tmp_path, build_dir, adapter, tiny_llama, vllm_standin):
    lora_only = _without_lm_head(adapter, tmp_path / "lora-only")
    hf = _predict(lora_only, build_dir, tmp_path / "hf.jsonl", "hf")
    served = _predict(lora_only, build_dir, tmp_path / "vllm.jsonl", "vllm")
    assert [p["prediction"] for p in served] == [p["prediction"] for p in hf]
    assert _base_predictions(tiny_llama, build_dir, tmp_path) != [p["prediction"] for p in hf]
    assert not (lora_only / "merged").exists()
    assert vllm_standin.CALLS[0] == ("LLM", str(tiny_llama), True, 16)
    assert vllm_standin.CALLS[1] == ("generate", 5, 0.0, 5, str(lora_only))
