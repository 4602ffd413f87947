# Seed 001/002's second case study (RNNVis): a GRU sentence-sentiment classifier on Yelp.
# Shen et al.'s polarity files are fetched (sha256-verified), pooled, split with a fixed seed.


rule download_polarity:
    output:
        "resources/downloads/sentiment/{file}",
    wildcard_constraints:
        file="|".join(re.escape(name) for name in PLAN.sentiment_files) or "no-files",
    params:
        source=lambda w: {k: config["sentiment"]["files"][w.file][k] for k in ("url", "sha256", "mirror_path")},
        mirror=config["mirror"],
        network=config["download"],
    log:
        "logs/download_polarity/{file}.log",
    benchmark:
        "benchmarks/download_polarity/{file}.tsv"
    threads: 1
    resources:
        mem_mb=200,
        runtime=15,
    script:
        "../../scripts/download.py"


rule prepare_sentiment:
    input:
        files=[f"resources/downloads/sentiment/{name}" for name in PLAN.sentiment_files],
        code=code("sentiment"),
    output:
        **{split: f"results/sentiment/data/{split}.tsv" for split in SPLITS},
        vocab="results/sentiment/data/vocab.json",
    params:
        settings={k: config["sentiment"][k] for k in ("split", "seed", "vocab_size")},
    log:
        "logs/prepare_sentiment.log",
    benchmark:
        "benchmarks/prepare_sentiment.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/prepare_sentiment.py"


rule train_sentiment:
    input:
        **{split: f"results/sentiment/data/{split}.tsv" for split in SPLITS},
        vocab="results/sentiment/data/vocab.json",
        code=code("sentiment_training"),
    output:
        checkpoint="results/sentiment/{sentiment_model}/model.pt",
        metrics="results/sentiment/{sentiment_model}/metrics.json",
        history="results/sentiment/{sentiment_model}/history.csv",
    wildcard_constraints:
        sentiment_model="|".join(PLAN.sentiment_models) or "no-models",
    params:
        model=lambda w: config["sentiment"]["models"][w.sentiment_model]["model"],
        train=lambda w: config["sentiment"]["models"][w.sentiment_model]["train"],
    log:
        "logs/train_sentiment/{sentiment_model}.log",
    benchmark:
        "benchmarks/train_sentiment/{sentiment_model}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../../scripts/train_sentiment.py"


rule sentiment_table:
    input:
        metrics=[f"results/sentiment/{m}/metrics.json" for m in PLAN.sentiment_models],
        code=code("tables"),
    output:
        table=report("results/tables/sentiment.csv", caption="../report/sentiment.rst", category="Sentiment (RNNVis Yelp)"),
    params:
        models=config["sentiment"]["models"],
    log:
        "logs/sentiment_table.log",
    benchmark:
        "benchmarks/sentiment_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/sentiment_table.py"


# RNNVis views of the sentiment models (seed 002's Yelp case study): states here, then the
# cluster and rnnvis rules read them like a language model's (rnnscope.plan: Plan.clustered_models).
rule sentiment_states:
    input:
        checkpoint="results/sentiment/{sentiment_model}/model.pt",
        train="results/sentiment/data/train.tsv",
        vocab="results/sentiment/data/vocab.json",
        code=code("sentence_states"),
    output:
        states="results/states/{sentiment_model}/train.parquet",
    wildcard_constraints:
        sentiment_model="|".join(PLAN.sentiment_models) or "no-models",
    params:
        kinds=lambda w: PLAN.extracted_kinds(w.sentiment_model),
        max_tokens=config["sentiment"]["views"]["max_states_tokens"],
    log:
        "logs/sentiment_states/{sentiment_model}.log",
    benchmark:
        "benchmarks/sentiment_states/{sentiment_model}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/sentiment_states.py"


rule sentiment_views:
    input:
        train="results/sentiment/data/train.tsv",
        vocab="results/sentiment/data/vocab.json",
        **{
            key: [clustered(m, PLAN.top_hidden_column(m))[key] for m in PLAN.sentiment_models]
            for key in ("responses", "words", "units", "edges")
        },
        glyphs=[f"results/rnnvis/{m}/{PLAN.top_hidden_column(m)}/glyphs.csv" for m in PLAN.sentiment_models],
        checkpoints=[f"results/sentiment/{m}/model.pt" for m in PLAN.sentiment_models],
        code=code("sentiment_views"),
    output:
        table=report(
            "results/tables/sentiment_views.csv",
            caption="../report/sentiment_views.rst",
            category="Sentiment (RNNVis Yelp)",
        ),
    params:
        models=PLAN.sentiment_models,
        threshold=config["sentiment"]["views"]["lexicon_log_odds"],
    log:
        "logs/sentiment_views.log",
    benchmark:
        "benchmarks/sentiment_views.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/sentiment_views.py"
