#!/usr/bin/env bash
# Issues 6 and 16's GPU checks in one go, for a machine with a CUDA GPU; under 8 minutes with the defaults:
#   1. the environment (GPU, driver, library versions);
#   2. the speed-up tests on the GPU (tests/train/test_speedups.py but the compiled run: PyTorch's varlen
#      kernel against the per-example reference, packed bf16 losses against padded ones);
#   3. bench_train.py on a 7B-shaped Mistral (random weights, no download): the released recipe, ecinstruct
#      train's default, the default before issue 16 and each lever added in turn (packing with varlen attention,
#      logits where the loss needs them, torch.compile, larger micro-batches, bf16 LoRA, Liger), with
#      tokens/s, TFLOP/s, MFU (LoRA-aware and 6N) and peak memory; a Markdown table at the end;
#   4. bench_ag.py on cuda: 1,000 AG pairs scored by our score() (BERTScore + BLEURT) beside
#      bert_score.score(), with roberta-large- and BLEURT-20-D12-shaped models (random weights, no download).
# Packages the GPU machine lacks travel as wheels in .whl/ (benchmarks/gpu_wheels.sh fetches them here):
# they are installed into a temporary folder first, and our two renamed packages are linked beside them.
# Usage: bash benchmarks/gpu_checks.sh [OUT_DIR]   (default gpu_checks)
#   writes env.txt, tests.txt, bench_train.{txt,json}, bench_ag.{txt,json} and summary.txt
#   (each step's exit status and seconds, the benches' SUMMARY/CHECKS lines and the training table).
# Environment:
#   BENCH_CONFIG     bench_train.py --config (mistral-7b)
#   BENCH_BASE_ARGS  bench_train.py options before BENCH_ARGS ("--no-generation --no-variants --steps 2
#                    --warmup 1"); BENCH_BASE_ARGS= (empty) runs the full bench, which needs more time
#   BENCH_ARGS       more bench_train.py options (the last of two contrary options wins: --generation)
#   BENCH_TIMEOUT    seconds for bench_train.py (250: it starts no setting that would end after 210 s, and on
#                    its limit it stops timing and prints what it measured)
#   AG_ARGS          more bench_ag.py options (e.g. --pairs 2000); AG_TIMEOUT seconds (130)
#   TESTS            pytest selection (default: tests/train/test_speedups.py but the compiled run);
#                    TESTS=none skips the tests; TEST_TIMEOUT seconds (50)
# Worst case: 50 + 250 + 130 s of steps, about 15 s of environment and wheels, and 10 s of grace per step
# stopped at its limit: 475 s.
#   PYTHON           the interpreter (python3)
set -u
out=${1:-gpu_checks}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."  # the repository root: PYTHONPATH and the package links below are made from it
py=${PYTHON:-python3}
SECONDS=0
: >"$out/summary.txt"
site=$(mktemp -d)
if compgen -G ".whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl \
    || echo "wheels: install failed" >>"$out/summary.txt"
fi
ln -s "$PWD/builders" "$site/ecinstruct_builders"
ln -s "$PWD/leaderboard" "$site/ecinstruct_leaderboard"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}"

step() {  # step NAME SECONDS LOGFILE COMMAND...: run under a time limit, log, note status and time
  local name=$1 limit=$2 log=$3 start=$SECONDS rc
  shift 3
  echo "== $name (limit ${limit} s) ==" | tee "$log"
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && echo "$name: stopped at its ${limit} s limit" | tee -a "$log"
  echo "$name exit: $rc" | tee -a "$log"
  echo "$name: exit $rc, $((SECONDS - start)) s" >>"$out/summary.txt"
}

{
  nvidia-smi
  nvidia-smi --query-gpu=name,memory.total,driver_version,power.limit,clocks.max.sm --format=csv
  "$py" - <<'PY'
import importlib.metadata as md, platform
print("python", platform.python_version())
for name in ("torch", "transformers", "peft", "accelerate", "datasets", "pyarrow", "fsspec", "dill", "multiprocess",
             "tokenizers", "triton", "flash-attn", "vllm", "liger-kernel", "bert-score", "bleurt-pytorch"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "not installed")
import torch
print("torch cuda", torch.version.cuda, "| available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "| bf16", torch.cuda.is_bf16_supported(),
          "| memory GiB", round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
from ecellm import varlen
print("varlen kernel", varlen.available(), "| signature", sorted(varlen._kernel()[1]) if varlen._kernel() else None)
import importlib.util
# What the steps import that the image may lack: one line each, in summary.txt too.
for module in ("datasets", "dill", "multiprocess", "peft", "bert_score", "bleurt_pytorch"):
    if importlib.util.find_spec(module) is None:
        print(f"MISSING {module}: carry its wheel in .whl (benchmarks/gpu_wheels.sh fetches all but peft's)")
try:  # the carried datasets on the image's pyarrow, as ecinstruct train uses it
    import datasets
    datasets.Dataset.from_list([{"input_ids": [1, 2]}])
except Exception as exc:  # noqa: BLE001
    print(f"MISSING datasets that works here: {type(exc).__name__}: {exc}"[:300])
PY
} 2>&1 | tee "$out/env.txt"
grep "^MISSING " "$out/env.txt" >>"$out/summary.txt"
echo "env: $SECONDS s" >>"$out/summary.txt"

# -v: each test's name and result as it ends, so that a run stopped at its limit still tells which did what;
# a per-test limit too where pytest-timeout is installed (the GPU image has it).
pytest_opts=(-v --tb=short -p no:cacheprovider -rs)
test_limit=${TEST_TIMEOUT:-50}
if [[ $test_limit =~ ^[0-9]+$ ]] && ((test_limit > 20)) && "$py" -c "import pytest_timeout" 2>/dev/null; then
  pytest_opts+=(--timeout=$((test_limit - 10)))
fi
if [ "${TESTS:-}" = none ]; then
  echo "tests: skipped (TESTS=none)" | tee "$out/tests.txt" >>"$out/summary.txt"
elif [ -n "${TESTS:-}" ]; then
  # shellcheck disable=SC2086  # TESTS may name several paths
  step tests "${TEST_TIMEOUT:-50}" "$out/tests.txt" "$py" -m pytest "${pytest_opts[@]}" $TESTS
else  # the compiled training run is left to the bench, which compiles the 7B shape anyway
  step tests "${TEST_TIMEOUT:-50}" "$out/tests.txt" "$py" -m pytest "${pytest_opts[@]}" -k "not compiled" \
    tests/train/test_speedups.py
fi

bench_limit=${BENCH_TIMEOUT:-250}
base_args=${BENCH_BASE_ARGS-"--no-generation --no-variants --steps 2 --warmup 1"}  # unset: these; empty: none
# shellcheck disable=SC2086  # base_args and BENCH_ARGS hold several arguments
step bench_train "$bench_limit" "$out/bench_train.txt" \
  "$py" benchmarks/bench_train.py --config "${BENCH_CONFIG:-mistral-7b}" --predict-examples 64 \
  --time-limit $((bench_limit - 40)) $base_args ${BENCH_ARGS:-} --json "$out/bench_train.json"

# shellcheck disable=SC2086  # AG_ARGS holds several arguments
step bench_ag "${AG_TIMEOUT:-130}" "$out/bench_ag.txt" \
  "$py" benchmarks/bench_ag.py --device cuda --pairs 1000 ${AG_ARGS:-} --json "$out/bench_ag.json"

{
  echo "total: $SECONDS s"
  echo
  sed -n '/^SUMMARY/,/^TABLE/{/^TABLE/!p}' "$out/bench_train.txt"
  grep -h -e "^  timed: " -e "^  skipped: " "$out/bench_train.txt"
  sed -n '/^TABLE/,$p' "$out/bench_train.txt"
  echo
  sed -n '/^CHECKS/,$p' "$out/bench_ag.txt"
} >>"$out/summary.txt" 2>/dev/null
cat "$out/summary.txt"
