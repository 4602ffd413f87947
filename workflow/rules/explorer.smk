# Stage 7, the interactive explorer (issue 14): every RNNVis view, comparison, the probe table and
# the most responsible neurons as one static site (results/explorer/index.html, opens from file://).
# `python -m rnnscope.explorer serve results` adds live glyphs of typed sentences.


rule explorer:
    input:
        unpack(explorer_inputs),
        code=code("explorer"),
    output:
        # The site is index.html and its siblings (data/, d3.min.js ...), which the job rewrites
        # whole. Snakemake's pure-HTML report refuses a report(directory(...), htmlindex=...),
        # so the report lists the views table and its caption links to index.html.
        index="results/explorer/index.html",
        views=report(
            "results/explorer/views.csv",
            caption="../report/explorer.rst",
            category="Interactive explorer",
        ),
    params:
        settings=lambda w: {
            "mode": config["cluster"]["mode"],
            "n_clusters": config["cluster"]["n_clusters"],
            "min_count": config["cluster"]["min_count"],
            "link_filter": config["rnnvis"]["link_filter"],
            "words_per_cluster": config["rnnvis"]["words_per_cluster"],
            "models": {m: {"checkpoint": PLAN.checkpoint_of(m), "vocab": PLAN.vocab_of(m)} for m in PLAN.clustered_models()},
            "views": [[m, column] for m in PLAN.clustered_models() for column in PLAN.cluster_columns(m)],
            "comparisons": [list(pair) for pair in PLAN.compare_pairs()],
            "neurons": [list(pair) for pair in PLAN.neuron_targets()],
        },
    log:
        "logs/explorer.log",
    benchmark:
        "benchmarks/explorer.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../../scripts/explorer.py"
