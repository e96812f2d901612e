"""``accelerate`` configs for multi-GPU training with ``ecinstruct train``.

``FSDP`` shards the base model's weights (FSDP2, one transformer block per
unit) over the processes; pass it to ``accelerate launch --config_file`` and
set ``--num_processes`` to the number of GPUs.  Gradient checkpointing stays
``ecinstruct train``'s own (``--no-gradient-checkpointing`` turns it off), so
the config leaves FSDP's activation checkpointing off: the two must not both be on.

Examples
--------
>>> from ecellm.configs import FSDP
>>> FSDP.name
'fsdp.yaml'
"""

from pathlib import Path

FSDP = Path(__file__).with_name("fsdp.yaml")

__all__ = ["FSDP"]
