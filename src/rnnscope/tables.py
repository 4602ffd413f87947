"""Final tables (CSV + Markdown) and summary plots across models."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402


def write_table(table: pd.DataFrame, csv_path: str | Path, caption: str) -> None:
    """CSV for machines, Markdown beside it for people, both saying where the numbers come from."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_path, index=False)
    markdown = f"{caption}\n\n{table.to_markdown(index=False, floatfmt='.4g')}\n"
    csv_path.with_suffix(".md").write_text(markdown)


def perplexity_table(metrics_paths: Sequence[str | Path], models: Mapping[str, dict], datasets: Mapping[str, dict], csv_path: str | Path) -> pd.DataFrame:
    """results/tables/perplexity.csv: loss in nats, ppl = e^nats and bits per token per split."""
    rows = []
    for path in metrics_paths:
        metrics = json.loads(Path(path).read_text())
        spec = models[metrics["model"]]
        for split, values in metrics["splits"].items():
            rows.append(
                {
                    "model": metrics["model"],
                    "dataset": spec["dataset"],
                    "cell": spec["model"]["cell"],
                    "layers": spec["model"]["layers"],
                    "hidden": spec["model"]["hidden"],
                    "split": split,
                    "loss_nats": values["loss_nats"],
                    "ppl": values["ppl"],
                    "bpc": values["bpc"],
                    "tokens": values["tokens"],
                    "epochs": metrics["epochs"],
                    "seed": spec["train"]["seed"],
                }
            )
    table = pd.DataFrame(rows)
    write_table(
        table,
        csv_path,
        "Perplexity per model and split: ppl = e^(mean nats per token), bpc = nats / ln 2 "
        "(bits per character for character models). Source: results/train/<model>/metrics.json, "
        "config models.<model> (seed column); train split evaluated on its first eval_max_tokens tokens.",
    )
    return table


# Published PTB perplexities (valid, test). RNNVis: Ming et al. 2017, Table 1. Zaremba et al.
# 2014, Table 1: small is their non-regularised 2x200 LSTM, medium 2x650 and large 2x1500.
RNNVIS_PTB = {
    "lstm_small": ("LSTM-Small 2x200", 118.6, 115.7),
    "lstm_medium": ("LSTM-Medium 2x600", 96.2, 93.5),
    "lstm_large": ("LSTM-Large 2x1500", 91.3, 88.0),
    "rnn": ("RNN 2x600", 123.3, 119.9),
    "gru": ("GRU 2x600", 119.1, 116.4),
}
ZAREMBA_PTB = {
    "lstm_small": ("small 2x200", 120.7, 114.5),
    "lstm_medium": ("medium 2x650", 86.2, 82.7),
    "lstm_large": ("large 2x1500", 82.2, 78.4),
}


def run_description(spec: dict, metrics: dict) -> str:
    """What our run was, so a CPU-sized row is not read as the paper's model."""
    model, train = spec["model"], spec["train"]
    tokens = metrics.get("train_tokens_used")
    return (
        f"{model['layers']}x{model['hidden']} {model['cell']}, emb {model.get('embedding', 0)}, "
        f"{metrics['epochs']} epochs, {tokens if tokens is not None else 'all'} train tokens"
    )


def ptb_perplexity_table(metrics_paths: Sequence[str | Path], models: Mapping[str, dict], csv_path: str | Path) -> pd.DataFrame:
    """results/tables/ptb_perplexity.csv: our valid/test perplexity per model beside RNNVis's and
    Zaremba et al.'s for the model named by its ``reference``."""
    rows = []
    for path in metrics_paths:
        metrics = json.loads(Path(path).read_text())
        spec = models[metrics["model"]]
        reference = spec.get("reference")
        if reference not in RNNVIS_PTB:
            raise ValueError(
                f"model {metrics['model']} has reference {reference!r}; the PTB table knows {sorted(RNNVIS_PTB)}"
            )
        rnnvis_name, rnnvis_valid, rnnvis_test = RNNVIS_PTB[reference]
        zaremba_name, zaremba_valid, zaremba_test = ZAREMBA_PTB.get(reference, (None, None, None))
        rows.append(
            {
                "model": metrics["model"],
                "reference": reference,
                "config": run_description(spec, metrics),
                "parameters": metrics["parameters"],
                "valid_ppl": metrics["splits"]["valid"]["ppl"],
                "test_ppl": metrics["splits"]["test"]["ppl"],
                "rnnvis_model": rnnvis_name,
                "rnnvis_valid_ppl": rnnvis_valid,
                "rnnvis_test_ppl": rnnvis_test,
                "zaremba_model": zaremba_name,
                "zaremba_valid_ppl": zaremba_valid,
                "zaremba_test_ppl": zaremba_test,
                "train_seconds": metrics["train_seconds"],
                "device": metrics["device"],
            }
        )
    table = pd.DataFrame(rows)
    write_table(
        table,
        csv_path,
        "PTB word-level perplexity (e^(mean nats per word), <eos> counted) on the whole valid and test "
        "splits: ours (config column: our run's shape, epochs and training tokens; the default config's "
        "runs are CPU-sized, not the papers' models) beside RNNVis (Ming et al. 2017, Table 1) and "
        "Zaremba et al. 2014 (small = non-regularised 2x200; medium 2x650 and large 2x1500 with dropout). "
        "Source: results/train/<model>/metrics.json and config models.<model>.reference.",
    )
    return table


def probe_table(metrics_paths: Sequence[str | Path], models: Mapping[str, dict], datasets: Mapping[str, dict], csv_path: str | Path) -> pd.DataFrame:
    """results/tables/probes.csv: every probe of every model, with model shape and data source."""
    frames = []
    for path in metrics_paths:
        frame = pd.read_csv(path)
        model = frame["model"].iloc[0] if len(frame) else Path(path).parent.name
        spec = models[model]
        frame.insert(1, "dataset", spec["dataset"])
        frame.insert(2, "cell", spec["model"]["cell"])
        frame.insert(3, "text", "real")
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    write_table(
        table,
        csv_path,
        "Diagnostic classifiers: trained on states of the train split, scored on the held-out test "
        "split (text = real held-out text). Logistic regression (plain and class-balanced) for binary and "
        "categorical hypotheses, linear regression (r2) for continuous ones; top_unit = argmax |w|; "
        "majority_accuracy = always predicting the train majority class. Source: results/probes/<model>/metrics.csv.",
    )
    return table


def plot_training_curves(history_paths: Sequence[str | Path], png_path: str | Path) -> None:
    """Train and valid loss per epoch, one panel per model, one line per restart."""
    frames = []
    for path in history_paths:
        history = pd.read_csv(path)
        history["model"] = Path(path).parent.name
        frames.append(history)
    data = pd.concat(frames).melt(id_vars=["model", "restart", "epoch", "step"], value_vars=["train_loss_nats", "valid_loss_nats"], var_name="split", value_name="loss_nats")
    data["split"] = data["split"].str.replace("_loss_nats", "")
    # One line per restart (no aggregation across restarts, which would also bootstrap a CI).
    grid = sns.relplot(
        data=data, x="epoch", y="loss_nats", hue="split", units="restart", estimator=None, col="model",
        col_wrap=2, kind="line", facet_kws={"sharey": False, "sharex": False}, height=3, aspect=1.4,
    )
    grid.set_titles("{col_name}")
    grid.savefig(png_path, dpi=110)
    grid.savefig(Path(png_path).with_suffix(".svg"))
    plt.close(grid.figure)


def plot_probe_scores(metrics_csv: str | Path, png_path: str | Path) -> None:
    """Heatmaps of held-out F1 (classifiers) and R² (regressions) per hypothesis × state column."""
    frame = pd.read_csv(metrics_csv)
    frame = frame[frame["status"] == "ok"]
    frame["state"] = "l" + frame["layer"].astype(str) + "_" + frame["kind"]
    frame["score"] = frame["f1"].fillna(frame["r2"])
    frame["probe"] = frame["hypothesis"] + " (" + frame["weighting"] + ")"
    pivot = frame.pivot_table(index="probe", columns="state", values="score")
    figure, axes = plt.subplots(figsize=(1.0 + 0.7 * max(len(pivot.columns), 2), 1.0 + 0.35 * max(len(pivot), 2)))
    sns.heatmap(pivot, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="viridis", ax=axes, cbar_kws={"label": "F1 (classifiers) / R² (regressions)"})
    model = frame["model"].iloc[0] if len(frame) else Path(metrics_csv).parent.name
    axes.set_title(f"{model}: held-out probe scores")
    figure.tight_layout()
    figure.savefig(png_path, dpi=110)
    figure.savefig(Path(png_path).with_suffix(".svg"))
    plt.close(figure)


def sentiment_table(metrics_paths: Sequence[str | Path], models: dict, csv_path: str | Path) -> pd.DataFrame:
    """results/tables/sentiment.csv: held-out accuracy of every sentiment model."""
    rows = []
    for path in metrics_paths:
        metrics = json.loads(Path(path).read_text())
        spec = models[metrics["model"]]
        rows.append({
            "model": metrics["model"],
            "config": f"{spec['model']['layers']}x{spec['model']['hidden']} {spec['model']['cell']}, emb {spec['model']['embedding']}, "
                      f"Adam {spec['train']['lr']:g}, {spec['train']['epochs']} epochs (best valid at {metrics['epoch']})",
            "test_accuracy": metrics["splits"]["test"]["accuracy"],
            "valid_accuracy": metrics["splits"]["valid"]["accuracy"],
            "test_majority_accuracy": metrics["splits"]["test"]["majority_accuracy"],
            "test_sentences": metrics["splits"]["test"]["sentences"],
            "train_sentences": metrics["splits"]["train"]["sentences"],
            "train_seconds": metrics["train_seconds"],
        })
    table = pd.DataFrame(rows)
    write_table(
        table, csv_path,
        "Yelp sentence polarity (Shen et al. 2017 dev+test pooled, split 80/10/10 with a fixed seed): "
        "accuracy on the held-out test split of the epoch with the best valid accuracy; "
        "test_majority_accuracy = always predicting the test majority class. "
        "Source: results/sentiment/<model>/metrics.json.",
    )
    return table
