#!/usr/bin/env bash
# Issues 6 and 16's GPU checks in one go, for a machine with a CUDA GPU; under 8 minutes with the defaults:
#   1. the environment (GPU, driver, library versions);
#   2. bench_train.py on a 7B-shaped Mistral (random weights, no download): training tokens/s, achieved
#      TFLOP/s and MFU (LoRA-aware and 6N), the released recipe beside ours (today's defaults); short by
#      default (BENCH_BASE_ARGS: no generation, no variants, 2 timed steps);
#   3. bench_ag.py on cuda: 1,000 AG pairs scored by our score() (BERTScore + BLEURT) beside
#      bert_score.score(), with roberta-large- and BLEURT-20-D12-shaped models (random weights, no download);
#   4. the training tests on the GPU (bf16 train/resume/predict through the CLI, FSDP2 through
#      `accelerate launch`), in the time left of TOTAL_BUDGET; skipped when under 60 s are left.
# Usage: bash benchmarks/gpu_checks.sh [OUT_DIR]   (default gpu_checks)
#   writes env.txt, bench_train.{txt,json}, bench_ag.{txt,json}, tests_train.txt and summary.txt
#   (each step's exit status and seconds, and the benches' SUMMARY/CHECKS lines).
# Environment:
#   BENCH_CONFIG     bench_train.py --config (mistral-7b)
#   BENCH_BASE_ARGS  bench_train.py options before BENCH_ARGS ("--no-generation --no-variants --steps 2
#                    --warmup 1"); BENCH_BASE_ARGS= (empty) runs the full bench, which needs more time
#   BENCH_ARGS       more bench_train.py options (the last of two contrary options wins: --generation)
#   BENCH_TIMEOUT    seconds for bench_train.py (240)
#   AG_ARGS          more bench_ag.py options (e.g. --pairs 2000); AG_TIMEOUT seconds (150)
#   TOTAL_BUDGET     seconds for the whole script (450); the tests get what is left, at most TEST_TIMEOUT (240)
#   TESTS            pytest selection (tests/train); TESTS=none skips the tests
#   PYTHON           the interpreter (python3)
set -u
out=${1:-gpu_checks}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
budget=${TOTAL_BUDGET:-450}
SECONDS=0
: >"$out/summary.txt"

step() {  # step NAME SECONDS LOGFILE COMMAND...: run under a time limit, log, note status and time
  local name=$1 limit=$2 log=$3 start=$SECONDS rc
  shift 3
  echo "== $name (limit ${limit} s) ==" | tee "$log"
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 124 ] && echo "$name: stopped at its ${limit} s limit" | tee -a "$log"
  echo "$name exit: $rc" | tee -a "$log"
  echo "$name: exit $rc, $((SECONDS - start)) s" >>"$out/summary.txt"
}

{
  nvidia-smi
  nvidia-smi --query-gpu=name,memory.total,driver_version,power.limit,clocks.max.sm --format=csv
  "$py" - <<'PY'
import importlib.metadata as md, platform
print("python", platform.python_version())
for name in ("torch", "transformers", "peft", "accelerate", "datasets", "pyarrow", "tokenizers", "flash-attn", "vllm",
             "bert-score", "bleurt-pytorch"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "not installed")
import torch
print("torch cuda", torch.version.cuda, "| available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "| bf16", torch.cuda.is_bf16_supported(),
          "| memory GiB", round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
PY
} 2>&1 | tee "$out/env.txt"
echo "env: $SECONDS s" >>"$out/summary.txt"

base_args=${BENCH_BASE_ARGS-"--no-generation --no-variants --steps 2 --warmup 1"}  # unset: these; empty: none
# shellcheck disable=SC2086  # base_args and BENCH_ARGS hold several arguments
step bench_train "${BENCH_TIMEOUT:-240}" "$out/bench_train.txt" \
  "$py" benchmarks/bench_train.py --config "${BENCH_CONFIG:-mistral-7b}" --predict-examples 64 \
  $base_args ${BENCH_ARGS:-} --json "$out/bench_train.json"

# shellcheck disable=SC2086  # AG_ARGS holds several arguments
step bench_ag "${AG_TIMEOUT:-150}" "$out/bench_ag.txt" \
  "$py" benchmarks/bench_ag.py --device cuda --pairs 1000 ${AG_ARGS:-} --json "$out/bench_ag.json"

left=$((budget - SECONDS - 15))
limit=${TEST_TIMEOUT:-240}
[ "$left" -lt "$limit" ] && limit=$left
if [ "${TESTS:-tests/train}" = none ]; then
  echo "tests: skipped (TESTS=none)" | tee "$out/tests_train.txt" >>"$out/summary.txt"
elif [ "$limit" -lt 60 ]; then
  echo "tests: skipped, ${left} s left of the ${budget} s budget" | tee "$out/tests_train.txt" >>"$out/summary.txt"
else
  # shellcheck disable=SC2086  # TESTS may name several paths
  step tests "$limit" "$out/tests_train.txt" "$py" -m pytest -q -p no:cacheprovider -rs --durations=5 \
    ${TESTS:-tests/train}
fi

{
  echo "total: $SECONDS s (budget $budget s)"
  echo
  sed -n '/^SUMMARY/,$p' "$out/bench_train.txt"
  grep -h "^  timed: " "$out/bench_train.txt"
  echo
  sed -n '/^CHECKS/,$p' "$out/bench_ag.txt"
} >>"$out/summary.txt" 2>/dev/null
cat "$out/summary.txt"
