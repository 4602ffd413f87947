# Stage 5c, RNNVis views (seeds 001/002) of text models, from the cluster stage's responses and
# co-clusters: main view (memory chips, word lists, edges), sequence glyphs of config sentences,
# detail view (response bands, POS) and side-by-side model comparison.


rule main_view:
    input:
        unpack(lambda w: clustered(w.model, w.column)),
        code=code("rnnvis"),
    output:
        plot_png=report(
            "results/rnnvis/{model}/{column}/main_view.png",
            caption="../report/main_view.rst",
            category="RNNVis",
            subcategory="main view",
            labels={"model": "{model}", "state": "{column}"},
        ),
    wildcard_constraints:
        column=STATE_COLUMN_PATTERN,
    params:
        settings=lambda w: {
            "words_per_cluster": config["rnnvis"]["words_per_cluster"],
            "link_filter": config["rnnvis"]["link_filter"],
            "title": f"RNNVis main view: {PLAN.cluster_title(w.model, w.column)}; edges |e| >= "
            f"{config['rnnvis']['link_filter']} x max",
        },
    log:
        "logs/main_view/{model}_{column}.log",
    benchmark:
        "benchmarks/main_view/{model}_{column}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/main_view.py"


rule glyphs:
    input:
        checkpoint=lambda w: PLAN.checkpoint_of(w.model),
        vocab=lambda w: PLAN.vocab_of(w.model),
        units="results/cluster/{model}/{column}/unit_clusters.csv",
        code=code("glyphs"),
    output:
        glyphs_csv=report(
            "results/rnnvis/{model}/{column}/glyphs.csv",
            caption="../report/glyphs_table.rst",
            category="RNNVis",
            subcategory="sequence glyphs",
            labels={"model": "{model}", "state": "{column}", "kind": "table"},
        ),
        glyphs_png=report(
            "results/rnnvis/{model}/{column}/glyphs.png",
            caption="../report/glyphs.rst",
            category="RNNVis",
            subcategory="sequence glyphs",
            labels={"model": "{model}", "state": "{column}", "kind": "figure"},
        ),
    wildcard_constraints:
        column=STATE_COLUMN_PATTERN,
    params:
        settings=lambda w: {
            "column": w.column,
            "sentences": PLAN.view_settings(w.model)["sentences"],
            "title": f"Sequence glyphs: {PLAN.cluster_title(w.model, w.column)}",
        },
    log:
        "logs/glyphs/{model}_{column}.log",
    benchmark:
        "benchmarks/glyphs/{model}_{column}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../../scripts/glyphs.py"


rule detail_view:
    input:
        unpack(lambda w: clustered(w.model, w.column)),
        bands="results/cluster/{model}/{column}/bands.parquet",
        tagger=tagger_files() if config["rnnvis"]["pos_tags"] else [],
        code=code("rnnvis"),
    output:
        pos_csv="results/rnnvis/{model}/{column}/pos.csv",
        plot_png=report(
            "results/rnnvis/{model}/{column}/detail.png",
            caption="../report/detail_view.rst",
            category="RNNVis",
            subcategory="detail view",
            labels={"model": "{model}", "state": "{column}"},
        ),
    wildcard_constraints:
        column=STATE_COLUMN_PATTERN,
    params:
        settings=lambda w: {
            "tokens": PLAN.view_settings(w.model)["detail_tokens"],
            "tagger_data": TAGGER_DIR if config["rnnvis"]["pos_tags"] else None,
            "tag_pos": config["rnnvis"]["pos_tags"],
            "title": f"Detail view: {PLAN.cluster_title(w.model, w.column)}; bands from at most "
            f"{config['rnnvis']['band_samples']} occurrences per token",
        },
    log:
        "logs/detail_view/{model}_{column}.log",
    benchmark:
        "benchmarks/detail_view/{model}_{column}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/detail_view.py"


rule compare_models:
    input:
        unpack(comparison_inputs),
        code=code("rnnvis"),  # here, not in the input function, so --filegraph shows it (docs/reruns.md)
    output:
        overlap_csv="results/rnnvis/compare/{a}__{b}/{column}/word_cluster_overlap.csv",
        summary_csv=report(
            "results/rnnvis/compare/{a}__{b}/{column}/summary.csv",
            caption="../report/compare_summary.rst",
            category="RNNVis",
            subcategory="model comparison",
            labels={"models": "{a} vs {b}", "state": "{column}", "kind": "table"},
        ),
        plot_png=report(
            "results/rnnvis/compare/{a}__{b}/{column}/compare.png",
            caption="../report/compare_models.rst",
            category="RNNVis",
            subcategory="model comparison",
            labels={"models": "{a} vs {b}", "state": "{column}", "kind": "figure"},
        ),
    wildcard_constraints:
        a="|".join(PLAN.models),
        b="|".join(PLAN.models),
        column=STATE_COLUMN_PATTERN,
    params:
        settings=lambda w: {
            "models": [w.a, w.b],
            "column": w.column,
            "words_per_cluster": config["rnnvis"]["words_per_cluster"],
            "link_filter": config["rnnvis"]["link_filter"],
            "title": f"{w.a} vs {w.b}, {w.column}: {PLAN.cluster_title(w.a, w.column)} | {PLAN.cluster_title(w.b, w.column)}",
        },
    log:
        "logs/compare_models/{a}__{b}_{column}.log",
    benchmark:
        "benchmarks/compare_models/{a}__{b}_{column}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../../scripts/compare_models.py"
