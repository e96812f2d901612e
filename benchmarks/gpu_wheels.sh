#!/usr/bin/env bash
# Fetch, here, the pure-Python wheels that benchmarks/gpu_checks.sh needs on a GPU machine without network:
# datasets with the two needs the image lacks, dill and multiprocess (ecinstruct train, which the speed-up
# tests run, reads its records with it), bert-score and bleurt-pytorch (bench_ag.py), liger-kernel
# (bench_train.py's Liger lever).  They land in .whl/ (ignored by git); name .whl in the device run's `carry`.
# Everything else they need (torch, transformers, peft, pyarrow, fsspec, xxhash, triton, pandas, ...) is on
# the machine's image (/work/.library/device/KINDS.md lists it).  About 2 MB in all.
# Usage: bash benchmarks/gpu_wheels.sh [PYTHON_VERSION]   (default 3.12, the GPU image's)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${1:-3.12}" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
  datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 bert-score==0.3.13 bleurt-pytorch==0.0.1 liger-kernel==0.8.5
ls -l .whl
