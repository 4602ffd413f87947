# Stage 6, tables and plots across models; `snakemake --report` gathers everything marked report().


rule perplexity_table:
    input:
        metrics=lambda w: [f"results/train/{m}/metrics.json" for m in PLAN.models],
        code=code("seed_tables"),
    output:
        table=report("results/tables/perplexity.csv", caption="../report/perplexity.rst", category="Language models"),
    params:
        models=config["models"],
        datasets=config["datasets"],
    log:
        "logs/perplexity_table.log",
    benchmark:
        "benchmarks/perplexity_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/perplexity_table.py"


rule training_curves:
    input:
        histories=lambda w: [f"results/train/{m}/history.csv" for m in PLAN.models],
        code=code("tables"),
    output:
        plot=report("results/plots/training_curves.png", caption="../report/training_curves.rst", category="Language models"),
    log:
        "logs/training_curves.log",
    benchmark:
        "benchmarks/training_curves.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/training_curves.py"


rule probe_table:
    input:
        metrics=lambda w: [f"results/probes/{m}/metrics.csv" for m in PLAN.probed_models_with_baselines()]
        + [f"results/probes/{m}/generated_metrics.csv" for m in PLAN.generation_models()],
        code=code("tables"),
    output:
        table=report("results/tables/probes.csv", caption="../report/probes.rst", category="Diagnostic classifiers"),
        by_seed=report("results/tables/probes_by_seed.csv", caption="../report/probes_by_seed.rst", category="Diagnostic classifiers"),
    params:
        models=config["models"],
        datasets=config["datasets"],
    log:
        "logs/probe_table.log",
    benchmark:
        "benchmarks/probe_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/probe_table.py"


rule probe_comparison:
    input:
        # real-text and generated-text probes (rule probe_table reads generated_metrics.csv too)
        probes="results/tables/probes.csv",
        code=code("seed_tables"),
    output:
        table=report(
            "results/tables/probe_comparison.csv", caption="../report/probe_comparison.rst", category="Diagnostic classifiers"
        ),
    params:
        models=config["models"],
        # the caption states the generated-text protocol of the main columns
        generate=config["generate"],
    log:
        "logs/probe_comparison.log",
    benchmark:
        "benchmarks/probe_comparison.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/probe_comparison.py"


rule probe_plot:
    input:
        metrics="results/probes/{model}/metrics.csv",
        code=code("tables"),
    output:
        plot=report(
            "results/plots/probes_{model}.png",
            caption="../report/probe_plot.rst",
            category="Diagnostic classifiers",
            labels={"model": "{model}"},
        ),
    log:
        "logs/probe_plot/{model}.log",
    benchmark:
        "benchmarks/probe_plot/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/probe_plot.py"


rule ptb_perplexity_table:
    input:
        metrics=lambda w: [f"results/train/{m}/metrics.json" for m in PLAN.reference_models()],
        code=code("tables"),
    output:
        table=report("results/tables/ptb_perplexity.csv", caption="../report/ptb_perplexity.rst", category="Language models"),
    params:
        models=config["models"],
    log:
        "logs/ptb_perplexity_table.log",
    benchmark:
        "benchmarks/ptb_perplexity_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/ptb_perplexity_table.py"


rule benchmark_summary:
    input:
        # Runs last: after every job whose benchmark it sums.
        results=PLAN.final_outputs(),
        code=code("tables"),
    output:
        table=report("results/tables/benchmarks.csv", caption="../report/benchmarks.rst", category="Pipeline"),
    params:
        benchmark_dir="benchmarks",
    log:
        "logs/benchmark_summary.log",
    benchmark:
        "benchmarks/benchmark_summary.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/benchmark_summary.py"
