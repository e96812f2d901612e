"""eCeLLM recipe: presets for the paper's six base models, LoRA training and batched prediction.

Heavy dependencies (torch, transformers, peft) are imported inside the
functions that need them, so importing this package stays cheap.
"""

from ecellm.presets import PRESETS, Preset, resolve_base

__all__ = ["PRESETS", "Preset", "resolve_base"]
