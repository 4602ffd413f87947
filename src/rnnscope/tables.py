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


def benchmark_summary(benchmark_dir: str | Path, csv_path: str | Path) -> pd.DataFrame:
    """results/tables/benchmarks.csv: Snakemake's per-job benchmark files summed per rule.

    A rule's jobs write ``benchmarks/<rule>.tsv`` or ``benchmarks/<rule>/<job>.tsv``; each file
    holds the latest run of that job, so the table describes the jobs behind the current results.
    """
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        relative = path.relative_to(benchmark_dir)
        measured = pd.read_csv(path, sep="\t", na_values=["-", "NA"]).iloc[-1]
        rows.append({
            "rule": relative.parts[0].removesuffix(".tsv"),
            "wall_s": measured["s"],
            "cpu_s": measured.get("cpu_time"),
            "max_rss_mb": measured.get("max_rss"),
        })
    if not rows:
        raise FileNotFoundError(f"no benchmark files under {benchmark_dir}: run the pipeline first")
    jobs = pd.DataFrame(rows)
    table = jobs.groupby("rule").agg(
        jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max")
    ).reset_index().sort_values("wall_s", ascending=False)
    total = pd.DataFrame([{
        "rule": "total", "jobs": int(table["jobs"].sum()), "wall_s": table["wall_s"].sum(),
        "cpu_s": table["cpu_s"].sum(), "max_rss_mb": table["max_rss_mb"].max(),
    }])
    table = pd.concat([table, total], ignore_index=True)
    caption = (
        f"Per-rule totals of Snakemake's job benchmarks ({benchmark_dir}/): wall and CPU seconds summed over "
        "a rule's jobs (jobs may have run in parallel, so the wall total exceeds the pipeline's elapsed time), "
        "peak RSS the largest of any job. Each job counts with its latest run."
    )
    write_table(table, csv_path, caption)
    return table
