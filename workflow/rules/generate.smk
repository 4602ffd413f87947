# Stage 5c, generated text (seed 003's protocol): independent samples from each character model,
# each from a zero state after the primer, split by sample into probe-train and probe-test; each
# sample is extracted and labelled on its own, and the same probes are fitted on them.


rule generate:
    input:
        checkpoint="results/train/{model}/model.pt",
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        code=code("generate"),
    output:
        train="results/generated/{model}/train.txt",
        test="results/generated/{model}/test.txt",
        summary="results/generated/{model}/summary.json",
    params:
        # hypothesis_sets picks the models (generation_models); it is not a sampling setting
        settings={key: value for key, value in config["generate"].items() if key != "hypothesis_sets"},
    log:
        "logs/generate/{model}.log",
    benchmark:
        "benchmarks/generate/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../../scripts/generate.py"


rule extract_generated:
    input:
        checkpoint="results/train/{model}/model.pt",
        text="results/generated/{model}/{split}.txt",
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        code=code("extract"),
    output:
        states="results/generated/{model}/states_{split}.parquet",
    wildcard_constraints:
        split="|".join(PROBE_SPLITS),
    params:
        kinds=lambda w: PLAN.extracted_kinds(w.model),
        max_tokens=0,
        rows={},  # every row: max_tokens 0
        streams={},
        chunk_len=config["extract"]["chunk_len"],
        device=config["extract"]["device"],
        # each sample (primer + length characters) is read from a zero state, as it was sampled
        segment_len=len(config["generate"]["primer"]) + config["generate"]["length"],
    log:
        "logs/extract_generated/{model}_{split}.log",
    benchmark:
        "benchmarks/extract_generated/{model}_{split}.tsv"
    threads: 1
    resources:
        mem_mb=extract_mem_mb,
        runtime=30,
    script:
        "../../scripts/extract.py"


rule label_generated:
    input:
        text="results/generated/{model}/{split}.txt",
        tagger=lambda w: tagger_files() if PLAN.tags_pos(PLAN.dataset_of(w.model)) else [],
        code=code("generate"),
    output:
        labels="results/generated/{model}/labels_{split}.parquet",
    wildcard_constraints:
        split="|".join(PROBE_SPLITS),
    params:
        primer=config["generate"]["primer"],
        length=config["generate"]["length"],
        hypothesis_set=lambda w: config["datasets"][PLAN.dataset_of(w.model)]["hypotheses"],
        tagger_data=lambda w: TAGGER_DIR if PLAN.tags_pos(PLAN.dataset_of(w.model)) else None,
    log:
        "logs/label_generated/{model}_{split}.log",
    benchmark:
        "benchmarks/label_generated/{model}_{split}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/label_generated.py"


rule probe_generated:
    input:
        **{f"{split}_states": f"results/generated/{{model}}/states_{split}.parquet" for split in PROBE_SPLITS},
        **{f"{split}_labels": f"results/generated/{{model}}/labels_{split}.parquet" for split in PROBE_SPLITS},
        code=code("generated_probes"),
    output:
        metrics="results/probes/{model}/generated_metrics.csv",
        weights="results/probes/{model}/generated_weights.npz",
    params:
        settings=config["probe"],  # but warmup_tokens: generated samples get none (rnnscope.generated_probes)
    log:
        "logs/probe_generated/{model}.log",
    benchmark:
        "benchmarks/probe_generated/{model}.tsv"
    threads: config["probe"]["n_jobs"]
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../../scripts/probe_generated.py"


rule generated_probe_table:
    input:
        real=lambda w: [f"results/probes/{m}/metrics.csv" for m in PLAN.generation_models()],
        generated=lambda w: [f"results/probes/{m}/generated_metrics.csv" for m in PLAN.generation_models()],
        code=code("generated_probes"),
    output:
        table=report(
            "results/tables/probes_generated.csv",
            caption="../report/probes_generated.rst",
            category="Diagnostic classifiers",
        ),
    params:
        settings=config["generate"],
    log:
        "logs/generated_probe_table.log",
    benchmark:
        "benchmarks/generated_probe_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/generated_probe_table.py"
