"""Data-parallel training under ``torchrun`` with no code change (two CPU processes, gloo).

``torchrun`` is ``python -m torch.distributed.run``; ``--standalone`` starts a
local rendezvous on a free port, so parallel test runs cannot clash.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from ecinstruct_eval.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_torchrun_two_processes_keep_the_effective_batch(tmp_path, build_dir, tiny_llama):
    out = tmp_path / "ddp"
    # CPU processes even on a GPU machine: two ranks cannot share one GPU under NCCL.
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "ecinstruct_eval", "train", "--base", str(tiny_llama), "--data", str(build_dir),
        "--out", str(out), "--tasks", "SA,SR", "--batch-size", "4", "--micro-batch-size", "1",
        "--max-steps", "2", "--save-steps", "1", "--logging-steps", "1",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]

    # 4 = micro-batch 1 x 2 processes x 2 accumulation steps (not 4 steps, as one process would need).
    meta = json.loads((out / "ecellm.json").read_text())
    assert (meta["world_size"], meta["gradient_accumulation_steps"], meta["global_step"]) == (2, 2, 2)
    assert "micro-batch 1 x 2 processes x 2 accumulation = effective batch 4" in proc.stderr
    assert proc.stdout.count("adapter saved to") == 1  # rank 0 only
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2]

    # One finished adapter, written once, checkpoints complete, no staging left over.
    assert [p.relative_to(out).as_posix() for p in out.rglob("ecellm.json")] == ["ecellm.json"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("adapter_model.safetensors")) == [
        "adapter_model.safetensors", "checkpoint-1/adapter_model.safetensors",
        "checkpoint-2/adapter_model.safetensors",
    ]
    assert not (out / ".staging").exists()

    preds = tmp_path / "preds.jsonl"
    assert main(["predict", "--adapter", str(out), "--data", str(build_dir), "--config", "SA", "--split", "test",
                 "--out", str(preds), "--max-new-tokens", "3", "--no-progress"]) == 0
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [p["id"] for p in lines] == [f"SA-test-{i:05d}" for i in range(4)]
