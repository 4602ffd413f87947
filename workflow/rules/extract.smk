# Stage 3, extract: per-token hidden states of every layer to Parquet, one file per (model, split).


rule extract:
    input:
        checkpoint=lambda w: checkpoint_of(w.model),
        text=lambda w: data_files(dataset_of(w.model))[w.split],
        vocab=lambda w: data_files(dataset_of(w.model))["vocab"],
        code=code("extract"),
    output:
        states="results/states/{model}/{split}.parquet",
    wildcard_constraints:
        model="|".join(LANGUAGE_MODELS) or "no-models",  # a sentiment model's states: rule sentiment_states
    params:
        kinds=lambda w: extracted_kinds(w.model),
        max_tokens=lambda w: config["extract"]["max_tokens"].get(w.split, 0),
        chunk_len=config["extract"]["chunk_len"],
        device=config["extract"]["device"],
    log:
        "logs/extract/{model}_{split}.log",
    benchmark:
        "benchmarks/extract/{model}_{split}.tsv"
    threads: 1
    resources:
        mem_mb=extract_mem_mb,
        runtime=60,
        gpu=int(config["extract"]["device"] == "cuda"),
    script:
        "../../scripts/extract.py"
