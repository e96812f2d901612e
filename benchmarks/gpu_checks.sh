#!/usr/bin/env bash
# Issue 6's GPU checks in one go, for a machine with one or more CUDA GPUs:
#   1. the environment (GPU, driver, library versions);
#   2. bench_train.py on a 7B-shaped Mistral (random weights, no download):
#      training and generation throughput, ours beside the released recipe;
#   3. the training tests on the GPU: bf16 train/resume/predict through the CLI,
#      and FSDP2 through `accelerate launch` with ecellm/configs/fsdp.yaml.
# Usage: bash benchmarks/gpu_checks.sh [OUT_DIR]   (writes env.txt, bench_train.{txt,json}, tests_train.txt)
# Environment: BENCH_CONFIG (mistral-7b), BENCH_ARGS (more bench_train.py options), BENCH_TIMEOUT and
# TEST_TIMEOUT (seconds), TESTS (pytest selection, default tests/train), PYTHON (python3).
set -u
out=${1:-gpu_checks}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$py" - <<'PY'
import importlib.metadata as md, platform
print("python", platform.python_version())
for name in ("torch", "transformers", "peft", "accelerate", "datasets", "pyarrow", "tokenizers", "flash-attn", "vllm"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "not installed")
PY
} 2>&1 | tee "$out/env.txt"

# shellcheck disable=SC2086  # BENCH_ARGS holds several arguments
timeout "${BENCH_TIMEOUT:-330}" "$py" benchmarks/bench_train.py --config "${BENCH_CONFIG:-mistral-7b}" --predict-examples 64 \
  ${BENCH_ARGS:-} --json "$out/bench_train.json" 2>&1 | tee "$out/bench_train.txt"
echo "bench_train exit: ${PIPESTATUS[0]}" | tee -a "$out/bench_train.txt"

timeout "${TEST_TIMEOUT:-240}" "$py" -m pytest -q -p no:cacheprovider -rs --durations=5 ${TESTS:-tests/train} 2>&1 \
  | tee "$out/tests_train.txt"
echo "tests exit: ${PIPESTATUS[0]}" | tee -a "$out/tests_train.txt"
