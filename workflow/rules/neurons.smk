# Stage 5d, most responsible neurons (seed 003 Figures 2 and 7): the top-|w| unit of a fitted
# probe shown over held-out text, and its top-k (and k random) units silenced at every step; then
# unit rankings judged by ablation (probe |w|, elastic net, mean difference), off the probe path.


rule neurons:
    input:
        checkpoint="results/train/{model}/model.pt",
        text=lambda w: data_files(PLAN.dataset_of(w.model))["test"],
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        labels=lambda w: f"results/labels/{PLAN.dataset_of(w.model)}/test.parquet",
        metrics="results/probes/{model}/metrics.csv",
        weights="results/probes/{model}/weights.npz",
        code=code("neurons"),
    output:
        table="results/neurons/{model}/{hypothesis}/ablation.csv",
        data="results/neurons/{model}/{hypothesis}/heatmap.json",  # what the heatmap shows, for the explorer
        heatmap=report(
            "results/neurons/{model}/{hypothesis}/heatmap.png",
            caption="../report/neuron_heatmap.rst",
            category="Most responsible neurons",
            labels={"model": "{model}", "hypothesis": "{hypothesis}", "figure": "heatmap"},
        ),
    wildcard_constraints:
        hypothesis=r"[A-Za-z0-9_]+",
    params:
        settings={key: value for key, value in config["neurons"].items() if key != "hypotheses"},
        warmup_tokens=config["probe"]["warmup_tokens"],  # leaves out the transients the probes leave out
    log:
        "logs/neurons/{model}_{hypothesis}.log",
    benchmark:
        "benchmarks/neurons/{model}_{hypothesis}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/neurons.py"


rule ablation_table:
    input:
        tables=lambda w: [f"results/neurons/{m}/{h}/ablation.csv" for m, h in PLAN.neuron_targets()],
        code=code("neurons"),
    output:
        table=report("results/tables/ablation.csv", caption="../report/ablation.rst", category="Most responsible neurons"),
    params:
        settings=config["neurons"],
    log:
        "logs/ablation_table.log",
    benchmark:
        "benchmarks/ablation_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/ablation_table.py"


rule neuron_rankings:
    input:
        checkpoint="results/train/{model}/model.pt",
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        fit_text=lambda w: data_files(PLAN.dataset_of(w.model))["train"],
        fit_labels=lambda w: f"results/labels/{PLAN.dataset_of(w.model)}/train.parquet",
        test_text=lambda w: data_files(PLAN.dataset_of(w.model))["test"],
        test_labels=lambda w: f"results/labels/{PLAN.dataset_of(w.model)}/test.parquet",
        code=code("rankings"),
    output:
        table="results/neurons/{model}/{hypothesis}/rankings.csv",
        plot=report(
            "results/neurons/{model}/{hypothesis}/rankings.png",
            caption="../report/neuron_rankings_plot.rst",
            category="Most responsible neurons",
            labels={"model": "{model}", "hypothesis": "{hypothesis}", "figure": "rankings"},
        ),
    wildcard_constraints:
        hypothesis=r"[A-Za-z0-9_]+",
    params:
        settings=config["rankings"],
        warmup_tokens=config["probe"]["warmup_tokens"],  # leaves out the transients the probes leave out
    log:
        "logs/neuron_rankings/{model}_{hypothesis}.log",
    benchmark:
        "benchmarks/neuron_rankings/{model}_{hypothesis}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/neuron_rankings.py"


rule neuron_rankings_table:
    input:
        tables=lambda w: [f"results/neurons/{m}/{h}/rankings.csv" for m, h in PLAN.ranking_targets()],
        code=code("rankings"),
    output:
        table=report(
            "results/tables/neuron_rankings.csv",
            caption="../report/neuron_rankings.rst",
            category="Most responsible neurons",
        ),
    params:
        settings=config["rankings"],
    log:
        "logs/neuron_rankings_table.log",
    benchmark:
        "benchmarks/neuron_rankings_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/neuron_rankings_table.py"
