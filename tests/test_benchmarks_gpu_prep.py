"""The CPU paths of issue 16's GPU measurements: bench_train's MFU counts and bench_ag.py end to end.

The figures themselves need a GPU (``benchmarks/gpu_checks.sh``); here the
formulas are checked on known configurations, MFU is ``n/a`` on a CPU, and
``bench_ag.py --quick --device cpu`` runs whole, with our AG BERTScore equal
to bert-score's on the same pairs.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]


def _script(name):
    spec = importlib.util.spec_from_file_location(f"_gpu_prep_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bt():
    return _script("bench_train")


# --------------------------------------------------------------------------- bench_train: MFU


def test_mistral_7b_counts(bt):
    c = bt.param_counts(bt.CONFIGS["mistral-7b"])
    assert c["total"] == 7_241_732_096  # the N = 7.24e9 of Mistral-7B
    assert c["embedding"] == 32000 * 4096
    # 32 layers of q, k, v, o (GQA: k and v 4096 -> 1024) and the MLP, plus the LM head.
    per_layer = 4096 * 4096 * 2 + 4096 * 1024 * 2 + 3 * 4096 * 14336
    assert c["frozen_matmul"] == 32 * per_layer + 4096 * 32000
    per_layer_lora = 16 * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + 3 * (4096 + 14336))
    assert c["lora"] == 32 * per_layer_lora + 16 * (4096 + 32000)
    assert (c["layers"], c["attention_width"]) == (32, 4096)


def test_counts_match_the_built_model_and_its_lora(bt):
    pytest.importorskip("peft")
    model = bt.build_model("tiny", torch.float32, "cpu", "sdpa")
    c = bt.param_counts(bt.CONFIGS["tiny"])
    assert c["total"] == sum(p.numel() for p in model.parameters())
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert c["frozen_matmul"] == linear
    lora = bt.with_lora(model)
    assert c["lora"] == sum(p.numel() for p in lora.parameters() if p.requires_grad)


def test_train_flops_both_ways_with_attention(bt):
    c = bt.param_counts(bt.CONFIGS["mistral-7b"])
    f = bt.train_flops([512, 100], c)
    tokens = 612
    attention = 6 * 32 * 4096 * (512 * 513 + 100 * 101)  # causal QK^T and AV, forward + backward
    assert f["attention"] == attention
    assert f["lora_aware"] == (4 * c["frozen_matmul"] + 6 * c["lora"]) * tokens + attention
    assert f["six_n"] == 6 * 7_241_732_096 * tokens
    assert f["tokens"] == tokens
    # About 4N + attention: two thirds of 6N at these lengths.
    assert 0.6 < f["lora_aware"] / f["six_n"] < 0.7


def test_mfu_from_peak_and_na_on_cpu(bt):
    assert bt.peak_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert bt.peak_bf16_tflops("NVIDIA H200") == 989.0
    assert bt.peak_bf16_tflops("CPU (2 threads)") is None
    assert bt.peak_bf16_tflops("NVIDIA GeForce GTX 1080") is None
    c = bt.param_counts(bt.CONFIGS["mistral-7b"])
    record = [{"lengths": [300] * 32, "seconds": 2.0}, {"lengths": [300] * 32, "seconds": 1.0}]
    tf = bt.step_tflops(record, c)
    flops = bt.train_flops([300] * 32, c)
    assert tf["lora_aware"] == [flops["lora_aware"] / 2e12, flops["lora_aware"] / 1e12]
    r = bt.summarize({"ours": [1.0, 2.0]}, {}, None, {"ours": tf}, 989.0)["train"]["ours"]
    median = (flops["lora_aware"] / 2e12 + flops["lora_aware"] / 1e12) / 2
    assert r["mfu_lora_aware"] == pytest.approx(median / 989.0, abs=1e-4)
    assert r["mfu_6n"] == pytest.approx(0.75 * flops["six_n"] / 1e12 / 989.0, abs=1e-4)  # median of /2 s and /1 s
    cpu = bt.summarize({"ours": [1.0, 2.0]}, {}, None, {"ours": tf}, None)["train"]["ours"]
    assert cpu["mfu_lora_aware"] is None and cpu["mfu_6n"] is None and cpu["tflops_6n"] > 0


def test_bench_train_reports_mfu_na_on_cpu(bt, tmp_path, capsys):
    pytest.importorskip("peft")
    if torch.cuda.is_available():
        pytest.skip("checks the CPU report")
    out = tmp_path / "bt.json"
    # Every lever but compilation (tests/train/test_speedups.py compiles; here it would only cost time).
    levers = ["packing", "logits", "lora-input", "micro2x", "lora-bf16", "liger"]
    assert bt.main(["--config", "tiny", "--steps", "1", "--effective-batch", "8", "--micro-batch", "4",
                    "--no-generation", "--no-variants", "--levers", *levers, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "LoRA-aware = " in text and "6*L*d_attn*s*(s+1)" in text and "6N = 6*N_total*tokens" in text
    assert "MFU n/a" in text and "training MFU, ours:" in text
    assert "| setting | tokens/s | vs released | lever's effect | TFLOP/s LoRA-aware | MFU LoRA-aware |" in text
    report = json.loads(out.read_text())
    assert report["settings"]["peak_bf16_tflops"] is None and "partial" not in report
    names = list(report["train"])
    assert names[0].startswith("released") and names[1].startswith("ours = ecinstruct train's default")
    assert report["settings"]["default"] == "attention sdpa, batching grouped, logits labeled, compile off"
    expected = ["before", "+ packing", "+ logits", "+ LoRA input", "+ micro-batch x2", "+ LoRA weights in bf16",
                "+ Liger"]
    timed = [n for n in names[2:]] + list(report["skipped"])
    for start in expected:
        assert sum(n.startswith(start) for n in timed) == 1, (start, timed)
    assert all(why.startswith("liger-kernel cannot be imported here") for why in report["skipped"].values())
    for r in report["train"].values():
        assert r["tflops_lora_aware"] > 0 and r["tflops_6n"] > r["tflops_lora_aware"]
        assert r["mfu_lora_aware"] is None and r["mfu_6n"] is None
    # Each lever's effect: its tokens/s over the row it adds to (the first row, "before", adds nothing).
    rows = {name.split(" (")[0]: r for name, r in report["train"].items()}
    assert "ratio_vs_previous_row" not in rows["before"]
    assert rows["+ logits only where the loss needs them"]["ratio_vs_previous_row"] == pytest.approx(
        rows["+ logits only where the loss needs them"]["median_tokens_per_s"]
        / rows["+ packing, varlen attention"]["median_tokens_per_s"], rel=1e-2)


def test_the_lm_head_counts_only_where_the_loss_needs_it(bt):
    c = bt.param_counts(bt.CONFIGS["mistral-7b"])
    full, labeled = bt.train_flops([300, 300], c), bt.train_flops([300, 300], c, labeled=4)
    head = 4 * 4096 * 32000 + 6 * 16 * (4096 + 32000)
    assert full["lora_aware"] - labeled["lora_aware"] == head * (600 - 4)
    assert full["six_n"] == labeled["six_n"]  # the 6N convention counts every parameter at every token
    assert 0.98 < labeled["lora_aware"] / full["lora_aware"] < 0.99  # the head is under 2% of the work


# --------------------------------------------------------------------------- bench_ag.py


@pytest.fixture(scope="module")
def quick_ag(tmp_path_factory):
    pytest.importorskip("bert_score")
    if importlib.util.find_spec("bleurt_pytorch") is None:
        pytest.skip("bleurt-pytorch is not installed")
    tmp = tmp_path_factory.mktemp("bench_ag")
    out = tmp / "ag.json"
    proc = subprocess.run([sys.executable, "benchmarks/bench_ag.py", "--quick", "--device", "cpu",
                           "--workdir", str(tmp / "models"), "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text()), tmp / "models"


def test_bench_ag_quick_prints_both_timings(quick_ag):
    stdout, report, _ = quick_ag
    assert "ours: score(AG), BERTScore + BLEURT, first call" in stdout
    assert "bert-score: bert_score.score()" in stdout
    assert "CHECKS" in stdout and "F1 max |ours - bert-score|" in stdout
    s = report["seconds"]
    for key in ("ours_full_first", "ours_full_loaded", "ours_bertscore_first", "ours_bertscore_loaded",
                "bert_score_score", "bert_score_scorer_loaded"):
        assert s[key] > 0, key
    assert report["n"] == 24 and report["n_failed"] == 0 and report["quick"]
    assert report["f1_max_abs_diff"] <= 1e-5
    # The real vocabulary sizes, tiny layers.
    assert report["roberta_shape"]["vocab_size"] == 50265 and report["bleurt_shape"]["vocab_size"] == 120300
    assert set(report["metrics"]) == {"bertscore_precision", "bertscore_recall", "bertscore_f1", "bleurt"}


def test_our_ag_bertscore_equals_bert_score_on_the_same_pairs(quick_ag):
    import bert_score
    import numpy as np

    from ecinstruct_eval import score
    from ecinstruct_eval.metrics import generation

    _, report, models = quick_ag
    ag = _script("bench_ag")
    preds, refs = ag.ag_pairs(report["n"])
    roberta = str(models / "roberta-large-random")
    layer = report["layer"]
    generation._bertscorer.cache_clear()
    ours = score(preds, "AG", refs, bertscore_model=roberta, bertscore_layers=layer, bleurt=False, device="cpu")
    _, _, f1 = bert_score.score(preds, refs, model_type=roberta, num_layers=layer, device="cpu")
    assert np.max(np.abs(np.asarray(ours.columns["bertscore_f1"]) - f1.numpy())) <= 1e-5
    assert ours.n_failed == 0
    # Both tokenizers see the vocabulary sizes of the real models.
    from transformers import AutoTokenizer

    from ecinstruct_eval.metrics._bleurt_compat import load_tokenizer

    assert len(AutoTokenizer.from_pretrained(roberta, use_fast=False)) == 50265
    assert len(load_tokenizer(str(models / "BLEURT-20-D12-random"))) == 120300


def test_liger_row_replaces_compilation(bt, monkeypatch):
    """Liger's kernels fuse what compilation fuses: its row runs on eager parts, so that its effect is Liger's
    against compilation (liger-kernel needs Triton: its patching is replaced by a recorder here)."""
    pytest.importorskip("peft")
    from ecellm import speedups

    applied = []
    monkeypatch.setattr(speedups, "apply_liger", applied.append)
    model = bt.with_lora(bt.build_model("tiny", torch.float32, "cpu", "sdpa"))
    ladder = dict(bt.lever_settings(["compile", "liger"], micro=4, attention="sdpa"))
    compiled, liger = (next(st for name, st in ladder.items() if name.startswith(start))
                       for start in ("+ torch.compile", "+ Liger"))
    done: set = set()
    assert bt.apply_setting(model, compiled, done, amp=False) is None
    parts = list(speedups.decoder_layers(model)[0].children())
    assert "compile" in done and all(part._compiled_call_impl is not None for part in parts)
    assert bt.apply_setting(model, liger, done, amp=False) is None
    assert applied == [model] and done == {"liger"}
    assert all(part._compiled_call_impl is None for part in parts)


# --------------------------------------------------------------------------- gpu_checks.sh


def test_gpu_checks_script_runs_its_steps_and_collects_the_table(tmp_path):
    """The script's plumbing on a CPU: steps, limits, the summary with bench_train's table (bench_ag asks for
    cuda and fails fast here; the GPU run is the one that counts)."""
    pytest.importorskip("peft")
    if torch.cuda.is_available():
        pytest.skip("checks the CPU plumbing")
    env = {**__import__("os").environ, "BENCH_CONFIG": "tiny", "TESTS": "none",
           "BENCH_ARGS": "--effective-batch 8 --micro-batch 4 --levers packing logits"}
    proc = subprocess.run(["bash", "benchmarks/gpu_checks.sh", str(tmp_path / "out")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "tests: skipped (TESTS=none)" in summary and "bench_train: exit 0" in summary
    assert "bench_ag: exit" in summary and "total: " in summary
    assert "MISSING" not in summary  # every package the steps import is here (the GPU image lacks some)
    assert summary.count("TABLE (") == 1 and "| + logits only where the loss needs them" in summary
    report = json.loads((tmp_path / "out" / "bench_train.json").read_text())
    assert "partial" not in report and len(report["train"]) == 5  # released, before, packing, logits, default
