"""Peak memory and time of hidden-state extraction as the corpus grows (1x, 4x, 16x).

Each size runs in a fresh process (peak RSS is per process); the model is a randomly
initialised 2x128 character LSTM (weights do not change the cost), all kinds extracted.

    .venv/bin/python bench/extract_memory.py [--tokens 50000] [--sizes 1 4 16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from rnnscope.extract import extract_states
start = time.perf_counter()
rows = extract_states(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], "bench", kinds="all", chunk_len=4096)
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_inputs(folder: Path, tokens: int) -> tuple[Path, Path, Path]:
    import torch

    from rnnscope.data import write_splits
    from rnnscope.models import ModelConfig, RNNModel
    from rnnscope.train import TrainSettings, save_checkpoint

    corpus = Path(__file__).resolve().parents[1] / "README.md"
    text = corpus.read_text()
    text = (text * (tokens // len(text) + 1))[:tokens]
    vocab = sorted(set(text))
    write_splits({"test": text}, vocab, folder)
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell="lstm", vocab_size=len(vocab), hidden=128, layers=2))
    checkpoint = folder / "model.pt"
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=1, lr=1.0), step=0, epoch=0)
    return checkpoint, folder / "test.txt", folder / "vocab.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=50_000, help="tokens at size 1x")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--out", default="results/bench/extract_memory.json")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint, text, vocab = make_inputs(Path(tmp), args.tokens * size)
            result = subprocess.run(
                [sys.executable, "-c", CHILD, str(checkpoint), str(text), str(vocab), str(Path(tmp) / "states.parquet")],
                capture_output=True, text=True, check=True,
            )
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            figures["parquet_mb"] = (Path(tmp) / "states.parquet").stat().st_size / 1e6
        figures["size"] = size
        figures["tokens_per_second"] = figures["rows"] / figures["seconds"]
        rows.append(figures)
    base = rows[0]
    print(f"{'size':>5} {'tokens':>9} {'seconds':>8} {'tok/s':>8} {'peak RSS MB':>12} {'vs 1x':>6} {'parquet MB':>11}")
    for row in rows:
        print(
            f"{row['size']:>4}x {row['rows']:>9} {row['seconds']:>8.2f} {row['tokens_per_second']:>8.0f} "
            f"{row['peak_rss_mb']:>12.0f} {row['peak_rss_mb'] / base['peak_rss_mb']:>6.2f} {row['parquet_mb']:>11.1f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
