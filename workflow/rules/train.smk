# Stage 2, train: one language model per entry of config `models`.


rule train:
    input:
        unpack(lambda w: data_files(PLAN.dataset_of(w.model))),
        code=code("train"),
    output:
        checkpoint="results/train/{model}/model.pt",
        metrics="results/train/{model}/metrics.json",
        history="results/train/{model}/history.csv",
    params:
        data_dir=lambda w: f"results/data/{PLAN.dataset_of(w.model)}",
        model=lambda w: config["models"][w.model]["model"],
        train=lambda w: config["models"][w.model]["train"],
    log:
        "logs/train/{model}.log",
    benchmark:
        "benchmarks/train/{model}.tsv"
    threads: train_threads
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=lambda w: int(config["models"][w.model]["train"].get("device", "auto") == "cuda"),
    script:
        "../../scripts/train.py"


rule untrained:
    input:
        vocab=lambda w: data_files(PLAN.dataset_of(w.model))["vocab"],
        code=code("train"),
    output:
        checkpoint="results/untrained/{model}/model.pt",
    params:
        data_dir=lambda w: f"results/data/{PLAN.dataset_of(w.model)}",
        model=lambda w: config["models"][w.model]["model"],
        train=lambda w: config["models"][w.model]["train"],
    log:
        "logs/untrained/{model}.log",
    benchmark:
        "benchmarks/untrained/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/untrained.py"
