# Stage 5a, probe: diagnostic classifiers per (model, layer, kind, hypothesis), one job per model.


rule probe:
    input:
        train_states="results/states/{model}/train.parquet",
        test_states="results/states/{model}/test.parquet",
        train_labels=lambda w: f"results/labels/{dataset_of(w.model)}/train.parquet",
        test_labels=lambda w: f"results/labels/{dataset_of(w.model)}/test.parquet",
        code=code("probes"),
    output:
        metrics="results/probes/{model}/metrics.csv",
        weights="results/probes/{model}/weights.npz",
    params:
        settings=config["probe"],
    log:
        "logs/probe/{model}.log",
    benchmark:
        "benchmarks/probe/{model}.tsv"
    threads: config["probe"]["n_jobs"]
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../../scripts/probe.py"
