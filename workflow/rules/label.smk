# Stage 4, label: per-token hypothesis targets, aligned row by row with the states files.


rule label:
    input:
        text=lambda w: data_files(w.dataset)[w.split],
        tagger=lambda w: tagger_files() if PLAN.tags_pos(w.dataset) else [],
        code=code("hypotheses"),
    output:
        labels="results/labels/{dataset}/{split}.parquet",
    params:
        hypothesis_set=lambda w: config["datasets"][w.dataset]["hypotheses"],
        max_tokens=lambda w: PLAN.split_tokens(w.dataset, w.split),
        rows={"sampling": "prefix"},  # consecutive rows: the neuron heatmaps and counting read these files
        tagger_data=lambda w: TAGGER_DIR if PLAN.tags_pos(w.dataset) else None,
    log:
        "logs/label/{dataset}_{split}.log",
    benchmark:
        "benchmarks/label/{dataset}_{split}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../../scripts/label.py"


# Labels at the positions extract_spread keeps (the same sampled_positions call).
use rule label as label_spread with:
    output:
        labels="results/labels/{dataset}/{split}_spread.parquet",
    params:
        rows=PLAN.spread_sampling(),
    log:
        "logs/label_spread/{dataset}_{split}.log",
    benchmark:
        "benchmarks/label_spread/{dataset}_{split}.tsv"
    resources:
        mem_mb=label_spread_mem_mb,
        runtime=20,
