"""Final tables (CSV + Markdown) and summary plots across models. The tables that set our numbers
beside the seeds' (rnnscope.seed_values) are in rnnscope.seed_tables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from rnnscope.artifacts import write_table
from rnnscope.figures import save_figure
from rnnscope.states import UNTRAINED_SUFFIX

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
    recipe = [
        train.get("optimizer", ""),
        f"lr {train['lr']:g}" if "lr" in train else "",
        "unigram output bias" if train.get("output_bias") == "unigram" else "",
    ]
    return ", ".join(
        [
            f"{model['layers']}x{model['hidden']} {model['cell']}",
            f"emb {model.get('embedding', 0)}",
            f"{metrics['epochs']} epochs",
            f"{tokens if tokens is not None else 'all'} train tokens",
            *filter(None, recipe),
        ]
    )


def ptb_perplexity_table(
    metrics_paths: Sequence[str | Path], models: Mapping[str, dict], csv_path: str | Path
) -> pd.DataFrame:
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


PROBE_TABLE_KEYS = ["model", "dataset", "cell", "text", "states", "seed"]
AGGREGATED_SCORES = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "r2",
    "majority_accuracy",
    "control_accuracy",
    "control_r2",
    "selectivity",
]
PROBE_GROUP_KEYS = ["dataset", "cell", "text", "states", "layer", "kind", "hypothesis", "target_kind", "weighting"]


def probe_table(
    metrics_paths: Sequence[str | Path], models: Mapping[str, dict], datasets: Mapping[str, dict], csv_path: str | Path
) -> pd.DataFrame:
    """results/tables/probes.csv: every probe of every model, trained and untrained, with model
    shape and data source; probes_by_seed.csv beside it aggregates models differing only in seed."""
    frames = []
    for path in metrics_paths:
        frame = pd.read_csv(path)
        probed = frame["model"].iloc[0] if len(frame) else Path(path).parent.name
        model = probed.removesuffix(UNTRAINED_SUFFIX)
        spec = models[model]
        frame["model"] = model
        # generated_metrics.csv (probes on text sampled from the model) carries its own text column
        text = frame.pop("text").iloc[0] if "text" in frame else "real"
        keys = {
            "dataset": spec["dataset"],
            "cell": spec["model"]["cell"],
            "text": text,
            "states": "untrained" if probed.endswith(UNTRAINED_SUFFIX) else "trained",
            "seed": spec["train"]["seed"],
        }
        for position, (name, value) in enumerate(keys.items(), start=1):
            frame.insert(position, name, value)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    write_table(
        table,
        csv_path,
        "Diagnostic classifiers: trained on states of the train split, scored on the held-out test "
        "split, extract.max_tokens rows of each, spread over the split or its first ones per config "
        "extract.sampling (text = real: the corpus's splits; text = generated: the model's own independent samples "
        "(config generate; seed 003: 500 characters at temperature 0.8, each from a dummy start "
        "character), split by sample, 95/5 by default as in the seed). states = trained: the trained model; untrained: the same "
        "shape at its initial weights (train.seed), a random-network baseline. Logistic regression "
        "(plain and class-balanced) for binary and categorical hypotheses, linear regression (r2) for "
        "continuous ones; top_unit = argmax |w|; majority_accuracy = always predicting the train "
        "majority class; control_* = the same probe on Hewitt & Liang's control task (each character "
        "type gets one random label drawn from the train label distribution); selectivity = accuracy - "
        "control_accuracy (classifiers) or r2 - control_r2 (regressions); <score>_ci_low/_ci_high = "
        "95 % bootstrap percentile interval of the score over the probe's test rows (probe.bootstrap "
        "resamples, predictions not refitted; empty when probe.bootstrap is 0); mcc = Matthews "
        "correlation (classifiers); mdl_* = online codelength of the plain classifiers' train labels "
        "(probe.mdl, Voita & Titov 2020; compression = uniform / online bits; empty when off). Source: "
        "results/probes/<model>[_untrained]/metrics.csv and results/probes/<model>/generated_metrics.csv.",
    )
    seed_table = probe_seed_table(table, models)
    write_table(
        seed_table,
        Path(csv_path).with_name("probes_by_seed.csv"),
        "Probe scores over training seeds: models that differ only in train.seed (same dataset, "
        "model and other train settings) form one group, named after its member with the lowest "
        "seed; <score>_mean and <score>_std (sample std, ddof 1; empty for one seed) over the "
        "group's models, n_seeds of them. " + SEED_INTERVAL_NOTE + " Source: results/tables/probes.csv.",
    )
    return table


def seed_groups(models: Mapping[str, dict]) -> dict[str, str]:
    """Model -> its group: models whose configs are equal but for train.seed share a group,
    named after the member with the lowest seed (ties: the first name in sort order)."""

    def without_seed(spec: Mapping) -> str:
        train = {key: value for key, value in spec["train"].items() if key != "seed"}
        return json.dumps({**spec, "train": train}, sort_keys=True, default=str)

    members: dict[str, list[str]] = {}
    for name, spec in models.items():
        members.setdefault(without_seed(spec), []).append(name)
    groups = {}
    for names in members.values():
        leader = min(names, key=lambda name: (models[name]["train"]["seed"], name))
        groups.update(dict.fromkeys(names, leader))
    return groups


Z = NormalDist().inv_cdf(0.975)  # 1.96: the probes' intervals are 95 % (rnnscope.probes.CONFIDENCE)
INTERVAL_RULE = (
    "for one seed, its 95 % bootstrap percentile interval over the test rows; for n seeds, the "
    "normal interval of the mean, mean ± 1.96 sqrt(std²/n + mean of the seeds' bootstrap "
    "variances), each variance read off its interval as ((high - low) / 3.92)²: every seed is "
    "scored on the same test rows, so their test-row noise does not average out over seeds"
)
SEED_INTERVAL_NOTE = f"<score>_ci_low/_ci_high: {INTERVAL_RULE}."


def probe_seed_table(table: pd.DataFrame, models: Mapping[str, dict]) -> pd.DataFrame:
    """Mean, std, n_seeds and 95 % interval (``SEED_INTERVAL_NOTE``) of every score per probe over
    models differing only in seed."""
    ok = table[table["status"] == "ok"].assign(group=lambda frame: frame["model"].map(seed_groups(models)))
    # The scores the probe CSVs give intervals for (read off the columns: tables does not import the probes).
    interval_scores = [score for score in AGGREGATED_SCORES if f"{score}_ci_low" in ok.columns]
    for score in interval_scores:  # per-seed bootstrap variance, from the width of its percentile interval
        ok[f"{score}_variance"] = ((ok[f"{score}_ci_high"] - ok[f"{score}_ci_low"]) / (2 * Z)) ** 2
    grouped = ok.groupby(["group", *PROBE_GROUP_KEYS], sort=False, dropna=False)
    scores = grouped[AGGREGATED_SCORES].agg(["mean", "std", "count"])
    bounds = grouped[
        [f"{score}_{part}" for score in interval_scores for part in ("ci_low", "ci_high", "variance")]
    ].mean()
    for score in interval_scores:
        n, mean = scores[(score, "count")], scores[(score, "mean")]
        half = Z * np.sqrt(scores[(score, "std")] ** 2 / n + bounds[f"{score}_variance"])
        # One seed: its own (possibly asymmetric) percentile interval; several: the mean's.
        bounds[f"{score}_ci_low"] = bounds[f"{score}_ci_low"].where(n == 1, mean - half)
        bounds[f"{score}_ci_high"] = bounds[f"{score}_ci_high"].where(n == 1, mean + half)
    scores = scores.drop(columns="count", level=1)
    # A MultiIndex: each label is a (score, statistic) tuple, not the str the stubs declare.
    scores.columns = [f"{score}_{statistic}" for score, statistic in scores.columns]  # type: ignore[str-unpack]
    counts = grouped.agg(
        n_seeds=("model", "nunique"),
        models=("model", lambda names: ";".join(sorted(set(names)))),
        converged=("converged", lambda flags: bool(flags.astype(bool).all())),
    )
    intervals = bounds[[f"{score}_ci_{bound}" for score in interval_scores for bound in ("low", "high")]]
    return counts.join(scores).join(intervals).reset_index().rename(columns={"group": "model"})


def plot_training_curves(history_paths: Sequence[str | Path], png_path: str | Path) -> None:
    """Train and valid loss per epoch, one panel per model, one line per restart."""
    frames = []
    for path in history_paths:
        history = pd.read_csv(path)
        history["model"] = Path(path).parent.name
        frames.append(history)
    data = pd.concat(frames).melt(
        id_vars=["model", "restart", "epoch", "step"],
        value_vars=["train_loss_nats", "valid_loss_nats"],
        var_name="split",
        value_name="loss_nats",
    )
    data["split"] = data["split"].str.replace("_loss_nats", "")
    # One line per restart (no aggregation across restarts, which would also bootstrap a CI).
    grid = sns.relplot(
        data=data,
        x="epoch",
        y="loss_nats",
        hue="split",
        units="restart",
        estimator=None,
        col="model",
        col_wrap=2,
        kind="line",
        facet_kws={"sharey": False, "sharex": False},
        height=3,
        aspect=1.4,
    )
    grid.set_titles("{col_name}")
    save_figure(grid.figure, png_path, bbox_inches="tight")  # FacetGrid.savefig's default


def plot_probe_scores(metrics_csv: str | Path, png_path: str | Path) -> None:
    """Heatmaps of held-out F1 (classifiers) and R² (regressions) per hypothesis × state column."""
    frame = pd.read_csv(metrics_csv)
    frame = frame[frame["status"] == "ok"]
    frame["state"] = "l" + frame["layer"].astype(str) + "_" + frame["kind"]
    frame["score"] = frame["f1"].fillna(frame["r2"])
    frame["probe"] = frame["hypothesis"] + " (" + frame["weighting"] + ")"
    pivot = frame.pivot_table(index="probe", columns="state", values="score")
    # A probe that stopped at max_iter is marked with "*" in its cell.
    unconverged = ~frame.assign(ok=frame["converged"].astype(bool)).pivot_table(
        index="probe", columns="state", values="ok", aggfunc="all"
    )
    unconverged = unconverged.reindex_like(pivot).fillna(False).astype(bool)
    annotations = pivot.map(lambda value: "" if pd.isna(value) else f"{value:.2f}") + unconverged.map(
        lambda flag: "*" if flag else ""
    )
    figure, axes = plt.subplots(figsize=(1.0 + 0.7 * max(len(pivot.columns), 2), 1.0 + 0.35 * max(len(pivot), 2)))
    sns.heatmap(
        pivot,
        annot=annotations,
        fmt="",
        vmin=0,
        vmax=1,
        cmap="viridis",
        ax=axes,
        cbar_kws={"label": "F1 (classifiers) / R² (regressions)"},
    )
    model = frame["model"].iloc[0] if len(frame) else Path(metrics_csv).parent.name
    title = f"{model}: held-out probe scores"
    axes.set_title(
        title
        + (f"\n* did not converge ({int(unconverged.to_numpy().sum())} cells)" if unconverged.to_numpy().any() else "")
    )
    figure.tight_layout()
    save_figure(figure, png_path)


def benchmark_summary(benchmark_dir: str | Path, csv_path: str | Path) -> pd.DataFrame:
    """results/tables/benchmarks.csv: Snakemake's per-job benchmark files summed per rule.

    A rule's jobs write ``benchmarks/<rule>.tsv`` or ``benchmarks/<rule>/<job>.tsv``; each file
    holds the latest run of that job, so the table describes the jobs behind the current results.
    """
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        relative = path.relative_to(benchmark_dir)
        measured = pd.read_csv(path, sep="\t", na_values=["-", "NA"]).iloc[-1]
        rows.append(
            {
                "rule": relative.parts[0].removesuffix(".tsv"),
                "wall_s": measured["s"],
                "cpu_s": measured.get("cpu_time"),
                "max_rss_mb": measured.get("max_rss"),
            }
        )
    if not rows:
        raise FileNotFoundError(f"no benchmark files under {benchmark_dir}: run the pipeline first")
    jobs = pd.DataFrame(rows)
    table = (
        jobs.groupby("rule")
        .agg(
            jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max")
        )
        .reset_index()
        .sort_values("wall_s", ascending=False)
    )
    total = pd.DataFrame(
        [
            {
                "rule": "total",
                "jobs": int(table["jobs"].sum()),
                "wall_s": table["wall_s"].sum(),
                "cpu_s": table["cpu_s"].sum(),
                "max_rss_mb": table["max_rss_mb"].max(),
            }
        ]
    )
    table = pd.concat([table, total], ignore_index=True)
    caption = (
        f"Per-rule totals of Snakemake's job benchmarks ({benchmark_dir}/): wall and CPU seconds summed over "
        "a rule's jobs (jobs may have run in parallel, so the wall total exceeds the pipeline's elapsed time), "
        "peak RSS the largest of any job. Each job counts with its latest run."
    )
    write_table(table, csv_path, caption)
    return table


def sentiment_table(metrics_paths: Sequence[str | Path], models: dict, csv_path: str | Path) -> pd.DataFrame:
    """results/tables/sentiment.csv: held-out accuracy of every sentiment model."""
    rows = []
    for path in metrics_paths:
        metrics = json.loads(Path(path).read_text())
        spec = models[metrics["model"]]
        rows.append(
            {
                "model": metrics["model"],
                "config": f"{spec['model']['layers']}x{spec['model']['hidden']} {spec['model']['cell']}, emb {spec['model']['embedding']}, "
                f"Adam {spec['train']['lr']:g}, {spec['train']['epochs']} epochs (best valid at {metrics['epoch']})",
                "test_accuracy": metrics["splits"]["test"]["accuracy"],
                "valid_accuracy": metrics["splits"]["valid"]["accuracy"],
                "test_majority_accuracy": metrics["splits"]["test"]["majority_accuracy"],
                "test_sentences": metrics["splits"]["test"]["sentences"],
                "train_sentences": metrics["splits"]["train"]["sentences"],
                "train_seconds": metrics["train_seconds"],
            }
        )
    table = pd.DataFrame(rows)
    write_table(
        table,
        csv_path,
        "Yelp sentence polarity (Shen et al. 2017 dev+test pooled, split 80/10/10 with a fixed seed): "
        "accuracy on the held-out test split of the epoch with the best valid accuracy; "
        "test_majority_accuracy = always predicting the test majority class. "
        "Source: results/sentiment/<model>/metrics.json.",
    )
    return table
