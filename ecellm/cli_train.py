"""``ecinstruct train``: LoRA-tune a base model on ECInstruct with the paper's recipe."""

from __future__ import annotations

import argparse
import os
import sys


def configure_parser(parser: argparse.ArgumentParser) -> None:
    from ecellm.presets import ALIASES, PRESETS

    parser.description = (
        "LoRA-tune a base model on ECInstruct (paper, Section 4: r=16, alpha=16, lr 1e-4, effective batch 128, "
        "cosine schedule with 5% warm-up, 3 epochs, loss on the response only). Runs unchanged under "
        "`torchrun` or `accelerate launch`; resumes from the newest checkpoint in --out."
    )
    parser.add_argument(
        "--base", required=True,
        help=f"preset ({', '.join(PRESETS)}; aliases {', '.join(sorted(ALIASES))}), a Hub id or a local folder",
    )
    parser.add_argument("--out", required=True, help="output folder: checkpoints and the final adapter")
    parser.add_argument("--data", default=None, help="build/export folder or Hub id (default: $ECINSTRUCT_DATA)")
    parser.add_argument("--arch", choices=("causal", "seq2seq"), default=None,
                        help="model kind for non-preset models (default: read from its config)")
    parser.add_argument("--prompt-style", dest="style", default=None,
                        choices=("plain", "mistral", "llama2", "claude", "chat", "alpaca"),
                        help="prompt wrapper (default: the preset's; plain for other models)")
    parser.add_argument("--prompt-format", dest="prompt_format", default=None, choices=("appendix-e", "released"),
                        help="prompt template: the paper's Appendix E, or the official release's template "
                        "(prompt + output, as the published eCeLLM models were tuned); default: the preset's "
                        "(released for ecellm-s/m/l, appendix-e otherwise); recorded in ecellm.json")
    parser.add_argument("--tasks", default="all", help="'all' (generalist) or task codes, e.g. SR or SA,SR (Table 6)")
    parser.add_argument("--instructions", choices=("diverse", "single"), default="diverse",
                        help="diverse (5 seen instructions) or single (seed only), Table 5")
    parser.add_argument("--train-size", choices=("1K", "10K", "47K", "92K"), default="92K",
                        help="training subset of Appendix I (per task 0.1K/1K/5K/all)")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=128, help="effective batch, whatever the GPU count")
    parser.add_argument("--micro-batch-size", type=int, default=8, help="examples per GPU per forward pass")
    parser.add_argument("--warmup-ratio", type=float, default=0.05)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--lora-alpha", type=int, default=16)
    parser.add_argument("--lora-dropout", type=float, default=0.1, help="the released recipe's value")
    parser.add_argument("--max-length", type=int, default=2048, help="tokens per example (prompt cut first)")
    parser.add_argument("--batching", choices=("auto", "packed", "grouped", "padded"), default="auto",
                        help="packed (padding-free, causal), grouped by length, or plain padded batches; "
                        "auto = packed with a varlen attention kernel (GPUs), else grouped")
    parser.add_argument("--attention", choices=("auto", "varlen", "flash_attention_2", "sdpa"), default="auto",
                        help="attention kernel: varlen = PyTorch's own variable-length flash kernel over packed "
                        "rows (no flash-attn needed); auto = flash_attention_2 with the flash-attn package, else "
                        "varlen on a bf16 GPU, else sdpa")
    parser.add_argument("--logits", choices=("auto", "labeled", "all"), default="auto",
                        help="labeled = the LM head and the loss only at the positions the loss needs (the same "
                        "loss, far less work with short answers); auto = labeled for causal models")
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                        help="torch.compile each decoder layer (fuses norms, rotary embeddings, SwiGLU and LoRA's "
                        "element-wise work); auto = ecellm.speedups.GPU_DEFAULTS on GPUs, off on CPUs")
    parser.add_argument("--gradient-checkpointing", choices=("auto", "on", "off"), default="auto",
                        help="auto = only for the micro-batches that would not fit without it, measured on "
                        "the GPU (off on CPUs, on under FSDP)")
    parser.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_const",
                        const="off", help="same as --gradient-checkpointing off")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                        help="auto = bf16 where the GPU supports it")
    parser.add_argument("--save-steps", type=int, default=100, help="checkpoint every N optimizer steps")
    parser.add_argument("--save-total-limit", type=int, default=2)
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-resume", dest="resume", action="store_false",
                        help="start over even if --out holds checkpoints")
    parser.add_argument("--allow-download", action="store_true", help="allow fetching the base model from the Hub")


def run(args: argparse.Namespace) -> int:
    from ecellm.data import parse_tasks
    from ecellm.modeling import ModelNotAvailableError
    from ecellm.trainer import TrainConfig, train
    from ecinstruct_eval.data import DataNotFoundError

    try:
        parse_tasks(args.tasks)
    except KeyError as exc:
        print(f"ecinstruct train: {exc.args[0]}", file=sys.stderr)
        return 2

    config = TrainConfig(
        base=args.base, out=args.out, data=args.data, arch=args.arch, style=args.style,
        prompt_format=args.prompt_format, tasks=args.tasks,
        instructions=args.instructions, train_size=args.train_size, epochs=args.epochs, max_steps=args.max_steps,
        learning_rate=args.learning_rate, batch_size=args.batch_size, micro_batch_size=args.micro_batch_size,
        warmup_ratio=args.warmup_ratio, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout, max_length=args.max_length, batching=args.batching,
        attention=args.attention, logits=args.logits, compile=args.compile,
        gradient_checkpointing=args.gradient_checkpointing,
        bf16={"auto": None, "bf16": True, "fp32": False}[args.precision], save_steps=args.save_steps,
        save_total_limit=args.save_total_limit, logging_steps=args.logging_steps, seed=args.seed,
        resume=args.resume, allow_download=args.allow_download,
    )
    try:
        out = train(config)
    except (ModelNotAvailableError, DataNotFoundError, ValueError) as exc:
        print(f"ecinstruct train: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # a record without what its prompt needs
        print(f"ecinstruct train: {exc.args[0]}", file=sys.stderr)
        return 2
    finally:
        _end_process_group()
    if os.environ.get("RANK", "0") == "0":
        print(f"adapter saved to {out}")
    return 0


def _end_process_group() -> None:
    """Destroy the process group the Trainer started under torchrun, before the process exits: left to
    interpreter exit, gloo's threads can abort a rank after training ended ("terminate called without an
    active exception", exit -6), as PyTorch's docs warn."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
