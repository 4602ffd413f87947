"""The report tables that set our numbers beside seed 003's (rnnscope.seed_values): perplexity
(with the arithmetic of the seed's scale) and the diagnostic classifiers' comparison."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnscope.artifacts import write_table
from rnnscope.seed_values import (
    SEED003_HYPOTHESES,
    SEED003_METRICS,
    SEED003_PERPLEXITY,
    SEED003_PROBES,
    seed_probe_value,
)
from rnnscope.tables import INTERVAL_RULE, probe_seed_table


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
