"""FSDP2 through ``accelerate launch`` and the shipped config, with no code change.

accelerate runs FSDP only on accelerators (on a CPU it silently falls back to
data parallel), so the training test needs a CUDA GPU and is skipped
elsewhere; one GPU is enough to run the sharded code paths (wrapping, mixed
precision, sharded checkpoints, resume, gathering the adapter).  Data
parallel on CPUs is tested in ``test_distributed.py``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecinstruct_eval.cli import main

REPO = Path(__file__).resolve().parents[2]


def _launch(config: Path, num_processes: int, base: Path, build: Path, out: Path, *extra: str):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
        "--num_processes", str(num_processes), "--main_process_port", "0",
        "-m", "ecinstruct_eval", "train", "--base", str(base), "--data", str(build), "--out", str(out),
        "--tasks", "SA,SR", "--batch-size", "4", "--micro-batch-size", "1", "--save-steps", "1",
        "--logging-steps", "1", *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return proc


def _adapter_tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_shipped_fsdp_config_is_fsdp2_without_double_checkpointing():
    from accelerate.commands.config.config_args import load_config_from_file

    from ecellm.configs import FSDP

    cfg = load_config_from_file(str(FSDP))
    assert str(cfg.distributed_type).endswith("FSDP") and not cfg.use_cpu
    assert cfg.fsdp_config["fsdp_version"] == 2
    # The Trainer's gradient checkpointing and FSDP's activation checkpointing must not both be on.
    assert cfg.fsdp_config["fsdp_activation_checkpointing"] is False


def _cuda_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.skipif(_cuda_count() == 0, reason="FSDP needs CUDA GPUs (accelerate falls back to data parallel on CPUs)")
def test_fsdp2_train_resume_and_predict_on_gpus(tmp_path, build_dir, tiny_llama):
    from ecellm.configs import FSDP

    n = _cuda_count()
    out = tmp_path / "fsdp"
    _launch(FSDP, n, tiny_llama, build_dir, out, "--max-steps", "2")
    meta = json.loads((out / "ecellm.json").read_text())
    assert meta["distributed"] == "FSDP" and meta["world_size"] == n and meta["global_step"] == 2
    assert (out / "checkpoint-2").is_dir() and not (out / ".staging").exists()

    # The finished adapter is whole (gathered from the shards), not one process's slice.
    tensors = _adapter_tensors(out)
    hidden = json.loads((tiny_llama / "config.json").read_text())["hidden_size"]
    a = next(v for k, v in tensors.items() if k.endswith("layers.0.self_attn.q_proj.lora_A.weight"))
    assert tuple(a.shape) == (16, hidden)
    assert any(k.endswith("lm_head.lora_B.weight") and v.abs().sum() > 0 for k, v in tensors.items())

    # Resume from the sharded checkpoint after an interruption.
    (out / "ecellm.json").unlink()
    proc = _launch(FSDP, n, tiny_llama, build_dir, out, "--max-steps", "3")
    assert "resuming from" in proc.stderr and proc.stderr.count("resuming from") >= 1
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2, 3]
    assert json.loads((out / "ecellm.json").read_text())["global_step"] == 3

    preds = tmp_path / "preds.jsonl"
    assert main(["predict", "--adapter", str(out), "--data", str(build_dir), "--config", "SA", "--split", "test",
                 "--out", str(preds), "--max-new-tokens", "3", "--no-progress"]) == 0
    assert [json.loads(line)["id"] for line in preds.read_text().splitlines()] == [
        f"SA-test-{i:05d}" for i in range(4)]
