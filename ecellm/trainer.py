"""LoRA instruction tuning with the paper's recipe (Section 4).

Built on ``transformers.Trainer`` rather than a hand-written loop: it already
does gradient accumulation, bf16 autocast, gradient checkpointing, DDP/FSDP
under ``torchrun``/``accelerate launch``, length-grouped sampling and exact
resumption (optimizer, scheduler, RNG and sampler state), all of which a
custom loop would have to re-derive.  We add what it lacks: an effective
batch that stays 128 whatever the GPU count, response-only labels with EOS,
padding-free packing, and checkpoints that appear atomically.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["TrainConfig", "train", "grad_accumulation", "latest_checkpoint", "ADAPTER_META"]

log = logging.getLogger(__name__)

#: File written last into a finished adapter folder: what the predictor needs to reload it.
ADAPTER_META = "ecellm.json"
_STAGING = ".staging"


@dataclass
class TrainConfig:
    """Options of ``ecinstruct train``; defaults are the paper's (Section 4)."""

    base: str
    out: str
    data: str | None = None
    arch: str | None = None
    style: str | None = None
    #: "appendix-e" or "released"; None = the preset's (released for ecellm-s/m/l)
    prompt_format: str | None = None
    tasks: str = "all"
    instructions: str = "diverse"
    train_size: str = "92K"
    epochs: float = 3.0
    max_steps: int = -1
    learning_rate: float = 1e-4
    batch_size: int = 128
    micro_batch_size: int = 8
    warmup_ratio: float = 0.05
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    max_length: int = 2048
    #: "auto" (packed on GPUs with a varlen kernel, else grouped), "packed", "grouped", "padded"
    batching: str = "auto"
    #: "auto", "varlen", "flash_attention_2", "sdpa"; see ecellm.speedups.plan
    attention: str = "auto"
    #: "auto"/"labeled" (LM head only where the loss needs it, causal models), "all"
    logits: str = "auto"
    #: "auto" (ecellm.speedups.GPU_DEFAULTS on GPUs, off on CPUs), "on"/True, "off"/False
    compile: bool | str = "auto"
    #: "auto" (only the micro-batches that need it, measured on the GPU), "on"/True, "off"/False
    gradient_checkpointing: bool | str = "auto"
    bf16: bool | None = None
    save_steps: int = 100
    save_total_limit: int = 2
    logging_steps: int = 10
    seed: int = 1
    resume: bool = True
    allow_download: bool = False
    extra: dict = field(default_factory=dict)


def grad_accumulation(batch_size: int, micro_batch_size: int, world_size: int) -> int:
    """Accumulation steps so that ``micro x world x steps`` equals the effective batch.

    When it does not divide exactly the next larger effective batch is used
    (and logged), never a smaller one.

    Examples
    --------
    >>> grad_accumulation(128, 8, 1), grad_accumulation(128, 8, 4), grad_accumulation(128, 16, 8)
    (16, 4, 1)
    """
    per_step = micro_batch_size * world_size
    steps = max(1, math.ceil(batch_size / per_step))
    if steps * per_step != batch_size:
        log.warning(
            "effective batch %d is not a multiple of micro-batch %d x %d processes; using %d",
            batch_size, micro_batch_size, world_size, steps * per_step,
        )
    return steps


def latest_checkpoint(out: str | os.PathLike) -> str | None:
    """The newest complete ``checkpoint-N`` folder in ``out`` (staging folders are ignored)."""
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(out)
    if not out.is_dir():
        return None
    return get_last_checkpoint(str(out))


def _checkpointing_policy(mode: str, trainer, collator, encoded, *, bf16: bool, seq2seq: bool):
    """``on``/``off`` as asked; ``auto``: off on CPUs, on under FSDP, measured on a GPU."""
    import torch

    from ecellm.checkpointing import CheckpointingPolicy, measure_policy

    if mode != "auto":
        return CheckpointingPolicy(mode)
    if trainer.args.device.type != "cuda":
        return CheckpointingPolicy("off")
    if trainer.is_fsdp_enabled:
        return CheckpointingPolicy("on")
    return measure_policy(
        trainer.model, collator, encoded, micro_batch=trainer.args.per_device_train_batch_size,
        device=trainer.args.device, autocast_dtype=torch.bfloat16 if bf16 else None, seq2seq=seq2seq,
    )


def _atomic_trainer_class():
    from transformers import Trainer
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

    class AtomicCheckpointTrainer(Trainer):
        """A Trainer whose ``checkpoint-N`` folders appear only when complete.

        Each checkpoint is written under ``OUT/.staging/`` and renamed into
        place (one ``os.replace`` on the same file system), so an interrupted
        save never leaves a half-written checkpoint for resumption to trip on.
        """

        checkpointing = None  # a CheckpointingPolicy, set by train()
        seq2seq = False  # whether decoder tokens count towards the policy's budget

        def training_step(self, model, inputs, *args, **kwargs):
            # The "budget" policy checkpoints only the micro-batches above its token budget.
            if self.checkpointing is not None and self.checkpointing.mode == "budget":
                from ecellm.checkpointing import batch_tokens, set_layer_checkpointing

                set_layer_checkpointing(model, self.checkpointing.needed(batch_tokens(inputs, seq2seq=self.seq2seq)))
            return super().training_step(model, inputs, *args, **kwargs)

        def _save_checkpoint(self, model, trial):
            run_dir = self.args.output_dir
            staging = os.path.join(run_dir, _STAGING)
            name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            if self.args.should_save:
                shutil.rmtree(os.path.join(staging, name), ignore_errors=True)
            self.accelerator.wait_for_everyone()
            os.makedirs(os.path.join(staging, name), exist_ok=True)  # every rank may write into it
            self.args.output_dir = staging
            try:
                super()._save_checkpoint(model, trial)
            finally:
                self.args.output_dir = run_dir
            self.accelerator.wait_for_everyone()
            if self.args.should_save:
                final = os.path.join(run_dir, name)
                if os.path.isdir(final):
                    shutil.rmtree(final)
                os.replace(os.path.join(staging, name), final)
                rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit, use_mtime=False)
            self.accelerator.wait_for_everyone()

    return AtomicCheckpointTrainer


def _save_adapter_atomically(model, tokenizer, out: Path, meta: dict, *, state_dict=None) -> None:
    staging = out / _STAGING / "final"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # LoRA on the LM head must not drag the full embedding matrices into the adapter.
    model.save_pretrained(str(staging), state_dict=state_dict, save_embedding_layers=False)
    tokenizer.save_pretrained(str(staging))
    (staging / ADAPTER_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    # The metadata file goes last: a folder with ecellm.json is a finished adapter.
    names = sorted(p.name for p in staging.iterdir() if p.name != ADAPTER_META) + [ADAPTER_META]
    for name in names:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staging / name, target)
    shutil.rmtree(out / _STAGING, ignore_errors=True)


def train(config: TrainConfig) -> Path:
    """Tune a LoRA adapter on ECInstruct; return the folder holding it (``config.out``).

    Resumes from the newest checkpoint in ``config.out`` unless
    ``config.resume`` is false.  Runs unchanged under ``torchrun`` or
    ``accelerate launch`` (data parallel, or FSDP through an accelerate
    config); the effective batch stays ``config.batch_size``.
    """
    import torch
    from datasets import Dataset
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import TrainingArguments, set_seed

    from ecellm import speedups, varlen
    from ecellm.data import Collator, encode_example, load_training_records, parse_tasks
    from ecellm.modeling import (
        best_dtype,
        check_available,
        load_base_model,
        load_tokenizer,
        lora_target_modules,
        resolve_arch,
    )
    from ecellm.presets import resolve_base

    checkpointing = {True: "on", False: "off"}.get(config.gradient_checkpointing, config.gradient_checkpointing)
    if checkpointing not in ("auto", "on", "off"):
        raise ValueError(f"gradient_checkpointing must be auto, on or off, not {config.gradient_checkpointing!r}")
    preset = resolve_base(config.base, arch=config.arch, style=config.style, prompt_format=config.prompt_format)
    check_available(preset.model_id, allow_download=config.allow_download)
    arch = resolve_arch(preset, allow_download=config.allow_download)
    dtype = best_dtype() if config.bf16 is None else (torch.bfloat16 if config.bf16 else torch.float32)
    on_gpu = torch.cuda.is_available()
    flash_attn = importlib.util.find_spec("flash_attn") is not None
    # labeled_ok is checked on the loaded model below; assume it here and settle it there.
    plan = speedups.plan(
        attention=config.attention, batching=config.batching, logits=config.logits, compile=config.compile,
        arch=arch, cuda=on_gpu, bf16=dtype == torch.bfloat16, flash_attn=flash_attn,
        varlen_kernel=varlen.available(), labeled_ok=True,
    )
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    records = load_training_records(
        config.tasks, location=config.data, instructions=config.instructions,
        train_size=config.train_size, seed=config.seed,
    )
    if not records:
        raise ValueError("no training records found for tasks " + config.tasks)
    tokenizer = load_tokenizer(preset.model_id, arch=arch, allow_download=config.allow_download)
    encoded = [
        encode_example(r, tokenizer, arch=arch, style=preset.style, max_length=config.max_length,
                       prompt_format=preset.prompt_format)
        for r in records
    ]
    dataset = Dataset.from_list(encoded)
    shortened, cut = sum(e["prompt_shortened"] for e in encoded), sum(e["response_cut"] for e in encoded)
    if shortened or cut:
        log.warning("max_length %d: %d prompts shortened in the middle of their input, %d responses cut to "
                    "half of it", config.max_length, shortened, cut)

    attn = varlen.register() if plan.attention == "varlen" else plan.attention
    model = load_base_model(
        preset.model_id, arch=arch, dtype=dtype, allow_download=config.allow_download, attn_implementation=attn
    )
    loaded = getattr(model.config, "_attn_implementation", attn)
    if loaded != attn:  # an architecture without that kernel: load_base_model fell back to its default
        log.warning("attention %s is not available for %s; using %s", attn, preset.model_id, loaded)
        plan = dataclasses.replace(plan, attention="sdpa" if plan.attention == "varlen" else loaded)
        if config.batching == "auto" and plan.batching == "packed":  # packing pays off only with a varlen kernel
            plan = dataclasses.replace(plan, batching="grouped")
    if plan.logits == "labeled" and not speedups.supports_labeled_logits(model):
        if config.logits == "labeled":
            raise ValueError("logits labeled: this model's forward takes no logits_to_keep positions or its loss no "
                             "shift_labels (a recent transformers has both); choose logits all")
        plan = dataclasses.replace(plan, logits="all")
    targets = lora_target_modules(model, preset)
    # No KV cache in training: it is useless there, and with a cache transformers
    # would not derive the per-example attention masks that packed rows need.
    model.config.use_cache = False
    lora = LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=targets, bias="none",
        task_type=TaskType.SEQ_2_SEQ_LM if arch == "seq2seq" else TaskType.CAUSAL_LM,
    )
    set_seed(config.seed)  # LoRA's A matrices are drawn here, before Trainer seeds anything
    model = get_peft_model(model, lora)
    # Trainer's checkpoints call save_pretrained without arguments; with LoRA on the LM head,
    # peft would then store the head's full base weight in every checkpoint (~260 MB for a 7B).
    model.save_pretrained = functools.partial(model.save_pretrained, save_embedding_layers=False)
    if not plan.cast_lora_input:
        speedups.set_lora_input_cast(model, False)
    if plan.compile:
        speedups.compile_layers(model)
    batching = plan.batching

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    accum = grad_accumulation(config.batch_size, config.micro_batch_size, world_size)
    arg_names = {f.name for f in dataclasses.fields(TrainingArguments)}
    # transformers >= 5 renamed these
    ckpt_key = "activation_checkpointing" if "activation_checkpointing" in arg_names else "gradient_checkpointing"
    # Non-reentrant checkpointing: needed to switch it per micro-batch, and for DDP with frozen weights.
    ckpt = {ckpt_key: checkpointing != "off", f"{ckpt_key}_kwargs": {"use_reentrant": False}}
    if "train_sampling_strategy" in arg_names:
        sampling = {"train_sampling_strategy": "random" if batching == "padded" else "group_by_length"}
    else:
        sampling = {"group_by_length": batching != "padded"}
    warmup = (
        {"warmup_steps": config.warmup_ratio} if "warmup_ratio" not in arg_names else {"warmup_ratio": config.warmup_ratio}
    )
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        bf16=dtype == torch.bfloat16 and on_gpu,
        length_column_name="length",
        remove_unused_columns=False,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        ddp_find_unused_parameters=False,
        dataloader_pin_memory=on_gpu,
        # Without this, CPU processes started by torchrun would each train alone.
        use_cpu=not on_gpu and world_size > 1,
        **ckpt,
        **sampling,
        **warmup,
        **config.extra,
    )
    if args.world_size != world_size:
        raise RuntimeError(
            f"WORLD_SIZE is {world_size} but transformers set up {args.world_size} process(es); "
            "launch with `torchrun` or `accelerate launch` so that the processes form one group"
        )
    if args.process_index == 0:
        log.warning(
            "training %s (%s, %s %s prompts) on %d records of %s: micro-batch %d x %d processes x %d accumulation "
            "= effective batch %d, %s, %s",
            preset.model_id, arch, preset.prompt_format, preset.style, len(records), ",".join(parse_tasks(config.tasks)),
            config.micro_batch_size, world_size, accum, config.micro_batch_size * world_size * accum, plan.describe(),
            "bf16" if args.bf16 else "fp32",
        )
    collator = Collator(
        tokenizer, arch=arch, packed=batching == "packed", pad_to_multiple_of=8 if on_gpu else None,
        varlen_kwargs=speedups.uses_varlen_kwargs(plan.attention), labeled_logits=plan.logits == "labeled",
    )
    trainer = _atomic_trainer_class()(
        model=model, args=args, train_dataset=dataset, data_collator=collator, processing_class=tokenizer
    )
    trainer.seq2seq = arch == "seq2seq"
    trainer.checkpointing = _checkpointing_policy(
        checkpointing, trainer, collator, encoded, bf16=args.bf16, seq2seq=trainer.seq2seq
    )
    setattr(trainer.args, ckpt_key, trainer.checkpointing.enabled)
    if args.process_index == 0:
        log.warning("gradient checkpointing: %s", trainer.checkpointing.describe())
    checkpoint = latest_checkpoint(out) if config.resume else None
    if checkpoint:
        log.warning("resuming from %s", checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)

    # Under FSDP each process holds a shard of every parameter: gathering the
    # full weights is a collective, so every process takes part, and rank 0 writes.
    accelerator = trainer.accelerator
    full_state = accelerator.get_state_dict(trainer.model) if trainer.is_fsdp_enabled else None
    if trainer.args.should_save:
        meta = {
            "base_model": preset.model_id,
            "preset": preset.name,
            "arch": arch,
            "style": preset.style,
            "prompt_format": preset.prompt_format,
            "target_modules": targets,
            "tasks": parse_tasks(config.tasks),
            "train_records": len(records),
            "global_step": trainer.state.global_step,
            "world_size": world_size,
            "distributed": str(accelerator.distributed_type).rsplit(".", 1)[-1],
            "batching": batching,
            "attention": plan.attention,
            "logits": plan.logits,
            "compile": plan.compile,
            "cast_lora_input": plan.cast_lora_input,
            "gradient_checkpointing": trainer.checkpointing.describe(),
            "gradient_accumulation_steps": accum,
            "config": {k: v for k, v in asdict(config).items() if k not in ("extra",)},
        }
        _save_adapter_atomically(accelerator.unwrap_model(trainer.model), tokenizer, out, meta, state_dict=full_state)
    accelerator.wait_for_everyone()
    return out
