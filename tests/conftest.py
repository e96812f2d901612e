"""Test-wide settings: nothing may reach the network; property tests are deterministic."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    # Same examples on every run and machine (no example database, no deadline on
    # a shared CPU); HYPOTHESIS_PROFILE=explore draws fresh examples locally.
    settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                              max_examples=100, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("explore", deadline=None, max_examples=500)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
