"""Final tables (CSV + Markdown) and summary plots across models."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from rnnscope.artifacts import save_figure, write_table
from rnnscope.models import UNTRAINED_SUFFIX
from rnnscope.seed_values import (
    SEED003_HYPOTHESES,
    SEED003_METRICS,
    SEED003_PERPLEXITY,
    SEED003_PROBES,
    seed_probe_value,
)


def perplexity_table(
    metrics_paths: Sequence[str | Path], models: Mapping[str, dict], datasets: Mapping[str, dict], csv_path: str | Path
) -> pd.DataFrame:
    """results/tables/perplexity.csv: loss in nats, ppl = e^nats and bits per token per split,
    with seed 003's reported test "perplexity" beside the test rows of its (dataset, cell)."""
    rows = []
    for path in metrics_paths:
        metrics = json.loads(Path(path).read_text())
        spec = models[metrics["model"]]
        for split, values in metrics["splits"].items():
            seed_value = SEED003_PERPLEXITY.get((spec["dataset"], spec["model"]["cell"])) if split == "test" else None
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
                    "pow2_nats": 2.0 ** values["loss_nats"],
                    "seed003_reported": seed_value,
                }
            )
    table = pd.DataFrame(rows)
    caption = (
        "Perplexity per model and split: ppl = e^(mean nats per token), bpc = nats / ln 2 "
        "(bits per character for character models); pow2_nats = 2^(nats), the scale seed 003's "
        "numbers appear to be on; seed003_reported = the seed's test perplexity for the same dataset "
        "and cell (Section 4). Source: results/train/<model>/metrics.json, config models.<model> "
        "(seed column); train split evaluated on its first eval_max_tokens tokens.\n\n" + seed_perplexity_note(table)
    )
    write_table(table, csv_path, caption)
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


def seed_perplexity_note(table: pd.DataFrame) -> str:
    """The arithmetic behind reading seed 003's perplexities as 2^(nats), on our measured losses."""
    lines = [
        "Seed 003's scale: a value p read as e^L means a loss of L = ln p nats; read as 2^L it means "
        "L = log2 p nats (so its true perplexity is e^(log2 p))."
    ]
    for (dataset, cell), reported in SEED003_PERPLEXITY.items():
        lines.append(
            f"Seed {dataset} {cell} {reported}: as e^L, L = {math.log(reported):.3f} nats "
            f"({math.log2(reported):.3f} bpc); as 2^L, L = {math.log2(reported):.3f} nats "
            f"({math.log2(reported) / math.log(2):.3f} bpc, true ppl {math.exp(math.log2(reported)):.2f})."
        )
        ours = table[(table["split"] == "test") & (table["dataset"] == dataset) & (table["cell"] == cell)]
        for row in ours.to_dict("records"):
            closer = (
                "2^L" if abs(math.log(row["pow2_nats"] / reported)) < abs(math.log(row["ppl"] / reported)) else "e^L"
            )
            lines.append(
                f"Ours {row['model']} test: L = {row['loss_nats']:.3f} nats, e^L = {row['ppl']:.3f}, "
                f"2^L = {row['pow2_nats']:.3f}; {closer} is nearer the seed's {reported}."
            )
    return "\n".join(f"- {line}" for line in lines)


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
        "resamples, predictions not refitted; empty when probe.bootstrap is 0). Source: "
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


def interval_verdict(ours: tuple[float, float], other: tuple[float, float]) -> str:
    """``"above"``/``"below"`` when our 95 % interval (low, high) lies wholly above/below the
    other's: significant; ``"n.s."`` when they overlap; ``""`` when either is missing. Disjoint
    95 % intervals is a conservative test (overlapping ones can still differ at the 5 % level)."""
    if any(pd.isna(bound) for bound in (*ours, *other)):
        return ""
    if ours[0] > other[1]:
        return "above"
    if ours[1] < other[0]:
        return "below"
    return "n.s."


COMPARISON_KIND = "h"
COMPARISON_WEIGHTINGS = ("plain", "balanced")
# Generated text first: it is the seed's protocol, so it is the column beside the seed's values.
COMPARISON_TEXTS = ("generated", "real")
COMPARISON_KEYS = ["model", "dataset", "cell", "states", "layer", "kind", "hypothesis", "weighting"]


def probe_comparison(
    probes_csv: str | Path, models: Mapping[str, dict], generate: Mapping, csv_path: str | Path
) -> pd.DataFrame:
    """Our probes beside seed 003's Figures 3-6: per model group of a (dataset, cell) the seed
    reports on, the last layer's h, every classifier hypothesis, accuracy/precision/recall/F1 of
    plain and balanced logistic regression (mean ± std over seeds when the group has several).

    Per row (one metric of one probe): ``generated_*`` = our probe on the model's generated
    samples (the seed's protocol, ``generate`` = config generate), ``seed003`` = the seed's
    reported value, ``real_*`` = our probe on held-out real text. ``generated_probes`` is False
    where the model has no generated-text probes; its generated columns are then empty (no
    fallback to real text). Baselines: majority class, control task, selectivity per text, and
    the untrained model (real text only)."""
    table = pd.read_csv(probes_csv)
    reported = pd.Series(list(zip(table["dataset"], table["cell"], strict=True)), index=table.index).isin(
        list(SEED003_PROBES)
    )
    by_seed = probe_seed_table(table[reported], models)
    last_layer = by_seed.groupby("model")["layer"].transform("max")
    shown = by_seed[
        (by_seed["layer"] == last_layer)
        & (by_seed["kind"] == COMPARISON_KIND)
        & by_seed["text"].isin(COMPARISON_TEXTS)
        & by_seed["target_kind"].isin(["binary", "categorical"])
        & by_seed["weighting"].isin(COMPARISON_WEIGHTINGS)
    ]
    has_generated = shown.groupby(["model", "states"])["text"].agg(lambda texts: "generated" in set(texts))
    rows = []
    for key, probes in shown.groupby(COMPARISON_KEYS, sort=False):
        ours: dict[str, Any] = dict(zip(COMPARISON_KEYS, key, strict=True))
        by_text = {record["text"]: record for record in probes.to_dict("records")}
        for metric in (*SEED003_METRICS, "majority_accuracy", "control_accuracy", "selectivity"):
            seed_value = (
                seed_probe_value(ours["dataset"], ours["cell"], ours["hypothesis"], metric)
                if metric in SEED003_METRICS
                else None
            )
            row = ours | {
                "seed_hypothesis": SEED003_HYPOTHESES.get(ours["hypothesis"]) if seed_value else None,
                "metric": metric,
                "seed003": seed_value[COMPARISON_WEIGHTINGS.index(ours["weighting"])] if seed_value else None,
                "generated_probes": bool(has_generated[(ours["model"], ours["states"])]),
            }
            for text in COMPARISON_TEXTS:
                record = by_text.get(text, {})
                row |= {
                    f"{text}_mean": record.get(f"{metric}_mean"),
                    f"{text}_std": record.get(f"{metric}_std"),
                    f"{text}_ci_low": record.get(f"{metric}_ci_low", np.nan),
                    f"{text}_ci_high": record.get(f"{metric}_ci_high", np.nan),
                    f"{text}_n_seeds": record.get("n_seeds"),
                    f"{text}_converged": record.get("converged"),
                }
            rows.append(row)
    columns = [
        *COMPARISON_KEYS,
        "seed_hypothesis",
        "metric",
        "generated_mean",
        "seed003",
        "real_mean",
        *[
            f"{text}_{name}"
            for name in ("std", "ci_low", "ci_high", "n_seeds", "converged")
            for text in COMPARISON_TEXTS
        ],
        "generated_probes",
    ]
    comparison = with_untrained_verdicts(pd.DataFrame(rows, columns=columns))
    primer = json.dumps(generate["primer"])
    caption = (
        "Seed 003's Figures 3-6 (Linux LSTM/GRU, Tiny Shakespeare LSTM/GRU) beside ours: probes on "
        f"the last layer's {COMPARISON_KIND} (the layer's output, which the seed's 'hidden state' most "
        "likely means), one table per model, three columns per metric.\n\n"
        f"- gen. (ours, the seed's protocol): fitted and scored on the model's own text: "
        f"{generate['sequences']} independent samples of {generate['length']} characters at temperature "
        f"{generate['temperature']} (sampler seed {generate['seed']}), each from a zero state after the "
        f"primer {primer} (the seed's dummy start character; its row is not probed), split by sample: "
        f"a fraction {generate['test_fraction']} of the samples for probe-test, the rest for probe-train; "
        "each sample's states read from a zero state, labelled on its own, no warm-up.\n"
        "- seed: the seed's reported value (rnnscope.seed_values): 500-character samples at temperature "
        "0.8, each from a dummy character, split 95/5; '-' where it reports none.\n"
        "- real (ours, not the seed's protocol): fitted on the corpus's train split, scored on its held-out "
        "test split, the first probe.warmup_tokens characters of each split left out.\n\n"
        "Each cell is plain/balanced logistic regression; ours are mean ± std over the models that "
        "differ only in train.seed (n = seeds), then the 95 % interval in brackets (" + INTERVAL_RULE + "). "
        "'vs untrained (real)' = above/below when our real-text interval lies wholly above/below the "
        "untrained model's (significant at the 5 % level, conservatively), n.s. when they overlap (not "
        "significant). Baselines: majority = always the train majority class; "
        "control = accuracy on the control task; selectivity = accuracy - control accuracy (each on its "
        "text); untrained = the same probe on the untrained model's states (real text only). "
        "* = a probe (or its control fit) stopped at probe.max_iter without converging. A model without "
        "generated-text probes says so (generated_probes = False in the CSV) and leaves its gen. columns "
        "empty. Source: results/tables/probes.csv."
    )
    write_table(comparison, csv_path, caption, markdown=comparison_markdown(comparison))
    return comparison


def with_untrained_verdicts(comparison: pd.DataFrame) -> pd.DataFrame:
    """``vs_untrained`` on each trained row: :func:`interval_verdict` of its real-text interval
    against the untrained model's for the same probe and metric ("" where either has none; the
    untrained model has no generated text)."""
    if comparison.empty:
        return comparison.assign(vs_untrained=pd.Series(dtype=object))
    keys = ["model", "layer", "kind", "hypothesis", "weighting", "metric"]
    untrained = comparison.loc[comparison["states"] == "untrained", [*keys, "real_ci_low", "real_ci_high"]]
    paired = comparison.merge(untrained, on=keys, how="left", suffixes=("", "_untrained"))
    verdicts = [
        interval_verdict(
            (row["real_ci_low"], row["real_ci_high"]), (row["real_ci_low_untrained"], row["real_ci_high_untrained"])
        )
        if row["states"] == "trained"
        else ""
        for row in paired.to_dict("records")
    ]
    return comparison.assign(vs_untrained=verdicts)


def _cell(values: pd.DataFrame, text: str | None, metric: str) -> str:
    """ "plain/balanced" for one metric, each "mean", "mean±std" then " [low, high]" where it has
    an interval (our ``text``), or the seed's value (``text`` None); "-" where missing."""
    parts = []
    for weighting in COMPARISON_WEIGHTINGS:
        rows = values[(values["metric"] == metric) & (values["weighting"] == weighting)]
        column = "seed003" if text is None else f"{text}_mean"
        if rows.empty or pd.isna(rows[column].iloc[0]):
            parts.append("-")
            continue
        row = rows.iloc[0]
        cell = f"{row[column]:.2f}"
        if text is not None and row[f"{text}_n_seeds"] > 1 and pd.notna(row[f"{text}_std"]):
            cell += f"±{row[f'{text}_std']:.2f}"
        if text is not None and pd.notna(row[f"{text}_ci_low"]):
            cell += f" [{row[f'{text}_ci_low']:.2f}, {row[f'{text}_ci_high']:.2f}]"
        if text is not None and not row[f"{text}_converged"]:
            cell += "*"
        parts.append(cell)
    return "/".join(parts)


def comparison_markdown(comparison: pd.DataFrame) -> str:
    """One Markdown table per model in the layout of seed 003's Figures 3-6: per metric ours on
    generated text (the seed's protocol), the seed's value, ours on real text."""
    if comparison.empty:
        return "(no model of a dataset and cell that seed 003 reports on: linux or tinyshakespeare, lstm or gru)"
    sections = []
    trained = comparison[comparison["states"] == "trained"]
    for model, ours in trained.groupby("model", sort=False):
        untrained = comparison[(comparison["model"] == model) & (comparison["states"] == "untrained")]
        first = ours.iloc[0]
        lines = []
        for hypothesis, values in ours.groupby("hypothesis", sort=False):
            seed_name = values["seed_hypothesis"].dropna()
            row = {"Hypothesis": str(hypothesis) + (f" ({seed_name.iloc[0]})" if len(seed_name) else "")}
            for metric in SEED003_METRICS:
                label = metric.capitalize() if metric != "f1" else "F1"
                row[f"{label} (gen.)"] = _cell(values, "generated", metric)
                row[f"{label} (seed)"] = _cell(values, None, metric)
                row[f"{label} (real)"] = _cell(values, "real", metric)
            untrained_values = untrained[untrained["hypothesis"] == hypothesis]
            for text, tag in (("generated", "gen."), ("real", "real")):
                row[f"Majority acc. ({tag})"] = _cell(values, text, "majority_accuracy").split("/")[0]
                row[f"Control acc. ({tag})"] = _cell(values, text, "control_accuracy")
                row[f"Selectivity ({tag})"] = _cell(values, text, "selectivity")
            row["Untrained acc. (real)"] = _cell(untrained_values, "real", "accuracy")
            row["Untrained F1 (real)"] = _cell(untrained_values, "real", "f1")
            for metric, label in (("accuracy", "Acc."), ("f1", "F1")):
                verdicts = [
                    values.loc[(values["metric"] == metric) & (values["weighting"] == weighting), "vs_untrained"]
                    for weighting in COMPARISON_WEIGHTINGS
                ]
                row[f"{label} vs untrained (real)"] = "/".join(
                    (verdict.iloc[0] or "-") if len(verdict) else "-" for verdict in verdicts
                )
            lines.append(row)
        n_seeds = int(ours[[f"{text}_n_seeds" for text in COMPARISON_TEXTS]].max().max())
        title = f"### {model} ({first['dataset']}, {first['cell']}), layer {first['layer']} {first['kind']}, n = {n_seeds} seed(s)"
        note = (
            ""
            if ours["generated_probes"].all()
            else "\n\nNo generated-text probes for this model (config generate.hypothesis_sets leaves out its "
            "dataset's hypothesis set), so nothing here is under the seed's protocol: the gen. columns are "
            "empty and the real-text columns are no stand-in for them."
        )
        sections.append(f"{title}{note}\n\n{pd.DataFrame(lines).to_markdown(index=False, disable_numparse=True)}")
    return "\n\n".join(sections)


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
    save_figure(grid.figure, png_path, dpi=110, bbox_inches="tight")  # FacetGrid.savefig's default


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
    save_figure(figure, png_path, dpi=110)


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
