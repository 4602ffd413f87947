# Stage 5a, probe: diagnostic classifiers per (model, layer, kind, hypothesis), one job per model.


rule probe:
    input:
        unpack(probe_rows),
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
