# Stage 5e, concept erasure (LEACE inside the forward pass): is the probed information used?


rule erasure:
    input:
        checkpoint="results/train/{model}/model.pt",
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        fit_text=lambda w: data_files(PLAN.dataset_of(w.model))["train"],
        fit_labels=lambda w: f"results/labels/{PLAN.dataset_of(w.model)}/train.parquet",
        test_text=lambda w: data_files(PLAN.dataset_of(w.model))["test"],
        test_labels=lambda w: f"results/labels/{PLAN.dataset_of(w.model)}/test.parquet",
        code=code("erasure"),
    output:
        table="results/erasure/{model}/{hypothesis}/erasure.csv",
        plot=report(
            "results/erasure/{model}/{hypothesis}/erasure.png",
            caption="../report/erasure_plot.rst",
            category="Concept erasure",
            labels={"model": "{model}", "hypothesis": "{hypothesis}"},
        ),
    wildcard_constraints:
        hypothesis=r"[A-Za-z0-9_]+",
    params:
        settings=config["erasure"],
        warmup_tokens=config["probe"]["warmup_tokens"],  # leaves out the transients the probes leave out
    log:
        "logs/erasure/{model}_{hypothesis}.log",
    benchmark:
        "benchmarks/erasure/{model}_{hypothesis}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/erasure.py"


rule erasure_table:
    input:
        tables=lambda w: [f"results/erasure/{m}/{h}/erasure.csv" for m, h in PLAN.erasure_targets()],
        code=code("erasure"),
    output:
        table=report("results/tables/erasure.csv", caption="../report/erasure.rst", category="Concept erasure"),
    params:
        settings=config["erasure"],
        warmup_tokens=config["probe"]["warmup_tokens"],
    log:
        "logs/erasure_table.log",
    benchmark:
        "benchmarks/erasure_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/erasure_table.py"
