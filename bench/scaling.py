"""Time and peak memory of extract, label, probe and cluster as the corpus grows 1x, 4x, 16x.

Each (size, stage, round) runs the project's stage function in a fresh process, so its peak
RSS (``ru_maxrss``, the interpreter and torch included) is that stage's alone; the time is the
stage call's, imports excluded. The corpus is ``--tokens`` x size characters of English-like
text with code (the README, repeated); the model a randomly initialised 2x128 character LSTM
(weights do not change the cost); extraction writes h and c of both layers; labels are the
``code`` set (the Linux corpus's); probes fit every hypothesis on every state column with the
default config's row caps; cluster is the expected response of layer 1's h, its percentile
bands and the co-clustering. The baseline is size 1x: time should grow linearly (time per
token flat; probes subsample to the row caps, so theirs falls) and memory stay flat.

    .venv/bin/python bench/scaling.py [--tokens 50000] [--sizes 1 4 16] [--runs 3]

Writes results/bench/scaling.json and the plot results/bench/scaling.png.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import RESULTS, Figure, char_corpus, median, write_results

STAGES = ("extract", "label", "probe", "cluster")
MEMORY_GROWTH_TARGET = 1.25  # peak RSS at the largest size over the smallest's: "flat"
TIME_PER_TOKEN_TARGET = 1.25  # time per token at the largest size over the smallest's: "linear"


def make_inputs(folder: Path, tokens: int) -> None:
    import torch

    from rnnscope.data import build_vocab, write_splits
    from rnnscope.models import ModelConfig, RNNModel
    from rnnscope.train import TrainSettings, save_checkpoint

    text = char_corpus(tokens)
    vocab = build_vocab(text)
    write_splits({"test": text}, vocab, folder)
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell="lstm", vocab_size=len(vocab), hidden=128, layers=2))
    save_checkpoint(
        folder / "model.pt", model, TrainSettings(epochs=1, batch_size=1, seq_len=1, lr=1.0), step=0, epoch=0
    )


def run_stage(stage: str, folder: Path) -> None:
    """One stage on the inputs in ``folder`` (the child process's work)."""
    if stage == "extract":
        from rnnscope.extract import extract_states

        extract_states(
            folder / "model.pt",
            folder / "test.txt",
            folder / "vocab.json",
            folder / "states.parquet",
            "bench",
            kinds=["h", "c"],
        )
    elif stage == "label":
        from rnnscope.hypotheses import label_split

        label_split(folder / "test.txt", "code", folder / "labels.parquet")
    elif stage == "probe":
        from rnnscope.probes import ProbeSettings, fit_probes

        # The default config's probe settings, one weighting and no control task to keep the bench short.
        settings = ProbeSettings(
            max_train_rows=20000,
            max_test_rows=20000,
            max_iter=300,
            C=1.0,
            seed=0,
            weightings=("balanced",),
            standardize=True,
            n_jobs=1,
            control=False,
        )
        states, labels = folder / "states.parquet", folder / "labels.parquet"
        fit_probes(
            states, states, labels, labels, settings, folder / "probes.csv", folder / "probes.npz", model="bench"
        )
    elif stage == "cluster":
        from rnnscope.coclustering import run_coclustering
        from rnnscope.responses import write_responses

        write_responses(
            folder / "states.parquet",
            column="l1_h",
            min_count=20,
            top_m=10,
            responses_parquet=folder / "responses.parquet",
            top_csv=folder / "top.csv",
            bands_parquet=folder / "bands.parquet",
            band_tokens=["e", " ", "t"],
        )
        run_coclustering(
            folder / "responses.parquet",
            n_clusters=4,
            mode="absolute",
            seed=0,
            max_tokens=60,
            words_csv=folder / "words.csv",
            units_csv=folder / "units.csv",
            edges_csv=folder / "edges.csv",
            plot_png=folder / "cocluster.png",
            title="bench",
        )
    else:
        raise ValueError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")


def measure_stage(stage: str, folder: Path) -> dict[str, float]:
    """Run ``stage`` in a fresh process; its seconds and peak RSS (MB)."""
    result = subprocess.run([sys.executable, __file__, "--child", stage, str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{stage} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import seaborn as sns
    from matplotlib import pyplot as plt

    frame = pd.DataFrame(rows)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    sns.lineplot(
        frame, x="tokens", y="seconds", hue="stage", marker="o", estimator="median", errorbar=("pi", 100), ax=axes[0]
    )
    sns.lineplot(
        frame,
        x="tokens",
        y="peak_rss_mb",
        hue="stage",
        marker="o",
        estimator="max",
        errorbar=None,
        ax=axes[1],
        legend=False,
    )
    sizes = sorted(frame["tokens"].unique())
    for axis in axes:
        axis.set_xscale("log")
        axis.minorticks_off()
        axis.set_xticks(sizes, [f"{tokens / 1000:g}k" for tokens in sizes])
    axes[0].set_yscale("log")
    axes[0].set_title("time (median of rounds, range shaded)")
    axes[0].set_ylabel("seconds")
    axes[1].set_title("peak RSS (max of rounds)")
    axes[1].set_ylabel("MB")
    axes[1].set_ylim(bottom=0)
    figure.suptitle("rnnscope stage scaling with corpus size (2x128 char LSTM, h and c of 2 layers)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=50_000, help="tokens at size 1x")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--runs", type=int, default=3, help="rounds per size and stage (each a fresh process)")
    parser.add_argument(
        "--out", default=None, help="JSON path (default results/bench/scaling.json; the plot beside it)"
    )
    parser.add_argument("--child", nargs=2, metavar=("STAGE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, folder = args.child
        started = time.perf_counter()
        run_stage(stage, Path(folder))
        seconds = time.perf_counter() - started
        print(
            json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
        )
        return

    rows = []
    for size in sorted(args.sizes):
        tokens = args.tokens * size
        with tempfile.TemporaryDirectory(prefix="scaling_") as tmp:
            folder = Path(tmp)
            make_inputs(folder, tokens)
            for round_index in range(args.runs):
                for stage in STAGES:  # in DAG order: each stage reads the previous stages' files
                    figures = measure_stage(stage, folder)
                    rows.append({"stage": stage, "size": size, "tokens": tokens, "round": round_index, **figures})
                    print(
                        f"{size:>3}x {stage:<8} round {round_index}: {figures['seconds']:.2f} s, {figures['peak_rss_mb']:.0f} MB",
                        flush=True,
                    )
            states_mb = (folder / "states.parquet").stat().st_size / 1e6
            rows[-1]["states_parquet_mb"] = states_mb

    smallest, largest = min(args.sizes), max(args.sizes)
    figures = []
    for stage in STAGES:

        def at(size: int, key: str, pick=median, stage: str = stage) -> float:
            return pick([row[key] for row in rows if row["stage"] == stage and row["size"] == size])

        seconds = {size: at(size, "seconds") for size in (smallest, largest)}
        memory = {size: at(size, "peak_rss_mb", max) for size in (smallest, largest)}
        per_token_growth = (seconds[largest] / (args.tokens * largest)) / (seconds[smallest] / (args.tokens * smallest))
        memory_growth = memory[largest] / memory[smallest]
        base = f"{smallest}x ({args.tokens * smallest} tokens)"
        figures += [
            Figure(
                f"{stage}: seconds at {largest}x ({args.tokens * largest} tokens)",
                seconds[largest],
                "s",
                base,
                seconds[smallest],
            ),
            Figure(
                f"{stage}: time per token, {largest}x over {smallest}x",
                per_token_growth,
                "x",
                target=f"<= {TIME_PER_TOKEN_TARGET:g}",
                met=per_token_growth <= TIME_PER_TOKEN_TARGET,
            ),
            Figure(f"{stage}: peak RSS at {largest}x", memory[largest], "MB", base, memory[smallest]),
            Figure(
                f"{stage}: peak RSS, {largest}x over {smallest}x",
                memory_growth,
                "x",
                target=f"<= {MEMORY_GROWTH_TARGET:g}",
                met=memory_growth <= MEMORY_GROWTH_TARGET,
            ),
        ]
    out = Path(args.out) if args.out else RESULTS / "scaling.json"
    write_results("scaling", vars(args) | {"rows": rows}, figures, out)
    plot(rows, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
