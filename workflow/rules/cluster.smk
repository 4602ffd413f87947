# Stage 5b, cluster: RNNVis expected response s(x) = E[dh | x] per token and state column, then
# spectral co-clustering of tokens x units with cluster edge strengths.


rule responses:
    input:
        states="results/states/{model}/train.parquet",
        code=code("responses"),
    output:
        responses_parquet="results/cluster/{model}/{column}/responses.parquet",
        top_csv="results/cluster/{model}/{column}/top_tokens.csv",
        bands_parquet="results/cluster/{model}/{column}/bands.parquet",
    wildcard_constraints:
        column=STATE_COLUMN_PATTERN,
    params:
        settings=lambda w: {
            "column": w.column,
            "min_count": config["cluster"]["min_count"],
            "top_m": config["cluster"]["top_m"],
            "band_tokens": PLAN.view_settings(w.model)["detail_tokens"],
            "band_samples": config["rnnvis"]["band_samples"],
            "seed": config["cluster"]["seed"],
        },
    log:
        "logs/responses/{model}_{column}.log",
    benchmark:
        "benchmarks/responses/{model}_{column}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/responses.py"


rule cocluster:
    input:
        responses="results/cluster/{model}/{column}/responses.parquet",
        code=code("coclustering"),
    output:
        words_csv="results/cluster/{model}/{column}/word_clusters.csv",
        units_csv="results/cluster/{model}/{column}/unit_clusters.csv",
        edges_csv="results/cluster/{model}/{column}/edges.csv",
        plot_png=report(
            "results/cluster/{model}/{column}/cocluster.png",
            caption="../report/cocluster.rst",
            category="RNNVis co-clustering",
            labels={"model": "{model}", "state": "{column}"},
        ),
    wildcard_constraints:
        column=STATE_COLUMN_PATTERN,
    params:
        settings=lambda w: {
            **{k: config["cluster"][k] for k in ("n_clusters", "mode", "seed")},
            "max_tokens": PLAN.view_settings(w.model)["max_tokens"],
            "title": f"{w.model} {w.column}: expected response, {PLAN.view_settings(w.model)['max_tokens']} most frequent tokens "
            f"(train split), {config['cluster']['mode']} mode",
        },
    log:
        "logs/cocluster/{model}_{column}.log",
    benchmark:
        "benchmarks/cocluster/{model}_{column}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/cocluster.py"
