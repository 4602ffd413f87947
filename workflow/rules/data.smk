# Stage 1, data: fetch corpora and NLTK's tagger files (sha256-verified; word_files datasets one
# file per split) or generate synthetic ones; build a corpus from a source tarball; split; vocabulary.


rule download:
    output:
        "resources/downloads/{dataset}",
    params:
        source=lambda w: {k: config["datasets"][w.dataset][k] for k in ("url", "sha256", "mirror_path", "mirror_sha256")},
        mirror=config["mirror"],
        network=config["download"],
    log:
        "logs/download/{dataset}.log",
    benchmark:
        "benchmarks/download/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=200,
        runtime=15,
    script:
        "../../scripts/download.py"


rule download_split:
    output:
        "resources/downloads/{dataset}/{split}.txt",
    params:
        source=lambda w: {k: config["datasets"][w.dataset]["files"][w.split][k] for k in ("url", "sha256", "mirror_path")},
        mirror=config["mirror"],
        network=config["download"],
    log:
        "logs/download_split/{dataset}_{split}.log",
    benchmark:
        "benchmarks/download_split/{dataset}_{split}.tsv"
    threads: 1
    resources:
        mem_mb=200,
        runtime=15,
    script:
        "../../scripts/download.py"


rule download_tagger_data:
    output:
        tagger_files(),
    params:
        nltk_data=config["nltk_data"],
        mirror=config["mirror"],
        network=config["download"],
    log:
        "logs/download_tagger_data.log",
    benchmark:
        "benchmarks/download_tagger_data.tsv"
    threads: 1
    resources:
        mem_mb=300,
        runtime=15,
    script:
        "../../scripts/download_tagger_data.py"


rule prepare_dataset:
    input:
        corpus=corpus_input,
        code=code("data"),
    output:
        **data_files("{dataset}"),
    params:
        spec=lambda w: {k: v for k, v in config["datasets"][w.dataset].items() if k != "hypotheses"},
        out_dir="results/data/{dataset}",
    log:
        "logs/prepare_dataset/{dataset}.log",
    benchmark:
        "benchmarks/prepare_dataset/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=estimate.PREPARE_MEM_MB,
        runtime=prepare_runtime,
    script:
        "../../scripts/prepare_dataset.py"
