"""What the paper config costs: measured training throughput and peak memory per model shape.

For every model of ``config/config.yaml`` merged with ``config/paper.yaml`` (or the files given),
a fresh process builds the project's ``RNNModel`` at the paper shape and runs ``--steps`` timed
optimiser steps (after ``--warmup-steps`` untimed ones) of the paper's batch and sequence length on random
tokens of the model's vocabulary (weights and tokens do not change the cost on a CPU). It
reports tokens/s, the process's peak RSS, what ``rnnscope.resources`` would request for the
train job, and the estimated wall time of the full run: train tokens x epochs x restarts over
the measured rate. Train-token counts are those of the real corpora (``CORPUS_TOKENS``).

    .venv/bin/python bench/paper_scale.py [--steps 20] [--warmup-steps 3] [--threads 2] [--configs config/config.yaml config/paper.yaml]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml
from tabulate import tabulate

from harness import RESULTS, ROOT
from rnnscope.resources import train_mem_mb, train_runtime_minutes

# Train-split tokens of the real corpora (characters for char models, words for word models).
CORPUS_TOKENS = {
    "tinyshakespeare": 1_115_394,  # input.txt, characters
    "linux": 474_000_000,  # every .c/.h of linux-6.1, ~474 MB (issue 3; Karpathy's corpus)
    "ptb": 929_589,  # ptb.train.txt words incl. <eos> (mirror README)
}
CHAR_VOCAB = {"tinyshakespeare": 65, "linux": 100}  # distinct characters (Linux: ~100 printable + control)
WORD_VOCAB = 10_000

CHILD = """
import json, resource, sys, time
import torch
from rnnscope.models import ModelConfig, RNNModel
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
torch.manual_seed(0)
model = RNNModel(ModelConfig(**spec["model"]))
optimizer = (torch.optim.SGD if spec["optimizer"] == "sgd" else torch.optim.Adam)(model.parameters(), lr=1e-3)
batch, seq_len, vocab = spec["batch_size"], spec["seq_len"], spec["model"]["vocab_size"]
tokens = torch.randint(vocab, (batch, seq_len + 1))
def step():
    logits, _ = model(tokens[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
for _ in range(spec["warmup_steps"]):
    step()  # warm-up: allocations, oneDNN kernel selection
started = time.perf_counter()
for _ in range(spec["steps"]):
    step()
seconds = time.perf_counter() - started
print(json.dumps({"tokens_per_second": spec["steps"] * batch * seq_len / seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def merged_config(paths: list[str]) -> dict:
    """The config files merged the way Snakemake merges ``--configfile``s (nested dicts, later wins)."""

    def merge(base: dict, extra: dict) -> dict:
        out = dict(base)
        for key, value in extra.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out

    config: dict = {}
    for path in paths:
        config = merge(config, yaml.safe_load((ROOT / path).read_text()))
    return config


def model_spec(name: str, entry: dict, config: dict, args: argparse.Namespace) -> dict | None:
    dataset = entry["dataset"]
    if dataset not in CORPUS_TOKENS:
        return None  # the counting seeds' tiny SRNs: seconds, nothing to plan
    model = dict(entry["model"])
    vocab = WORD_VOCAB if model.get("embedding") else CHAR_VOCAB[dataset]
    fraction = config["datasets"][dataset].get("split", [0.9, 0.05, 0.05])[0]
    return {
        "name": name,
        "dataset": dataset,
        "train_tokens": int(CORPUS_TOKENS[dataset] * fraction),
        "train": entry["train"],
        "threads": args.threads,
        "steps": args.steps,
        "warmup_steps": args.warmup_steps,
        "optimizer": entry["train"].get("optimizer", "adam"),
        "batch_size": entry["train"]["batch_size"],
        "seq_len": entry["train"]["seq_len"],
        "model": {key: model[key] for key in ("cell", "hidden", "layers", "embedding", "dropout") if key in model}
        | {"vocab_size": vocab},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["config/config.yaml", "config/paper.yaml"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS / "paper_scale.json"))
    args = parser.parse_args()
    config = merged_config(args.configs)
    rows, payload = [], []
    for name, entry in config["models"].items():
        spec = model_spec(name, entry, config, args)
        if spec is None:
            continue
        result = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True, check=True
        )
        measured = json.loads(result.stdout)
        train = spec["train"]
        run_tokens = spec["train_tokens"] * train["epochs"] * train.get("restarts", 1)
        hours = run_tokens / measured["tokens_per_second"] / 3600
        model = spec["model"]
        request_mb = train_mem_mb(model, train, spec["train_tokens"])
        request_min = train_runtime_minutes(model, train, spec["train_tokens"])
        payload.append(
            spec | measured | {"train_hours": hours, "request_mem_mb": request_mb, "request_runtime_min": request_min}
        )
        rows.append(
            [
                name,
                f"{model['cell']} {model['layers']}x{model['hidden']}",
                f"{spec['batch_size']}x{spec['seq_len']}",
                f"{measured['tokens_per_second']:,.0f}",
                f"{measured['peak_rss_mb']:,.0f}",
                request_mb,
                f"{spec['train_tokens']:,} x {train['epochs']}",
                f"{hours:,.1f}",
                request_min,
            ]
        )
        print(f"measured {name}", file=sys.stderr, flush=True)
    headers = [
        "model",
        "shape",
        "batch x seq",
        "train tok/s",
        "peak RSS MB",
        "mem_mb request",
        "train tokens x epochs",
        "est. hours",
        "runtime request min",
    ]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    total = sum(item["train_hours"] for item in payload)
    print(f"total estimated training: {total:,.1f} hours on {args.threads} CPU threads")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "paper_scale", "configs": args.configs, "rows": payload}, indent=1))


if __name__ == "__main__":
    main()
