# Stage 3, extract: per-token hidden states of every layer to Parquet, one file per (model, split).


rule extract:
    input:
        checkpoint=lambda w: PLAN.checkpoint_of(w.model),
        text=lambda w: data_files(PLAN.dataset_of(w.model))[w.split],
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        code=code("extract"),
    output:
        states="results/states/{model}/{split}.parquet",
    wildcard_constraints:
        model="|".join(PLAN.language_models()) or "no-models",  # a sentiment model's states: rule sentiment_states
    params:
        kinds=lambda w: PLAN.extracted_kinds(w.model),
        max_tokens=lambda w: PLAN.split_tokens(PLAN.dataset_of(w.model), w.split),
        rows={"sampling": "prefix"},  # consecutive rows: expected responses and counting read these files
        streams={"streams": 1, "stream_warmup": 0},  # one uninterrupted stream
        chunk_len=config["extract"]["chunk_len"],
        device=config["extract"]["device"],
        segment_len=0,  # a real split is one stream
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


# The probes' rows under extract.sampling spread: positions spread over the whole split.
use rule extract as extract_spread with:
    output:
        states="results/states/{model}/{split}_spread.parquet",
    params:
        rows=PLAN.spread_sampling(),
        streams={"streams": config["extract"]["spread_streams"], "stream_warmup": config["extract"]["stream_warmup"]},
    log:
        "logs/extract_spread/{model}_{split}.log",
    benchmark:
        "benchmarks/extract_spread/{model}_{split}.tsv"
