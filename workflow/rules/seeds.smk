# Seed reproductions outside the generic stages: seed 004 (1-1-1 RNN learning online) and the
# seed 000 counting analysis of SRNs trained on a^n b^n and a^n b^n c^n.


rule tiny_rnn:
    input:
        code=code("tiny_rnn"),
    output:
        weights=report("results/tables/tiny_rnn_weights.csv", caption="../report/tiny_rnn_weights.rst", category="Seed 004: tiny RNN"),
        trajectories="results/tables/tiny_rnn_trajectories.csv",
        alternating=report("results/tables/tiny_rnn_alternating.csv", caption="../report/tiny_rnn_alternating.rst", category="Seed 004: tiny RNN"),
        plot=report("results/plots/tiny_rnn_trajectories.png", caption="../report/tiny_rnn_trajectories.rst", category="Seed 004: tiny RNN"),
    params:
        sequences=config["tiny_rnn"]["sequences"],
        eta=config["tiny_rnn"]["eta"],
        alternating=config["tiny_rnn"]["alternating"],
    log:
        "logs/tiny_rnn.log",
    benchmark:
        "benchmarks/tiny_rnn.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/tiny_rnn.py"


rule counting_analysis:
    input:
        unpack(counting_inputs),
        code=code("counting"),
    output:
        summary="results/counting/{model}/summary.json",
        per_n=report("results/counting/{model}/per_n.csv", caption="../report/counting_per_n.rst", category="Seed 000: counting", labels={"model": "{model}", "table": "per n"}),
        plot=report("results/plots/activation_space_{model}.png", caption="../report/activation_space.rst", category="Seed 000: counting", labels={"model": "{model}", "figure": "activation space"}),
    params:
        task=lambda w: config["datasets"][PLAN.dataset_of(w.model)]["task"],
        n_train_max=lambda w: config["datasets"][PLAN.dataset_of(w.model)]["counting"]["n_max"],
        det_threshold=config["counting"]["det_threshold"],
    log:
        "logs/counting_analysis/{model}.log",
    benchmark:
        "benchmarks/counting_analysis/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/counting_analysis.py"


rule counting_table:
    input:
        summaries=lambda w: [f"results/counting/{m}/summary.json" for m in PLAN.counting_models()],
        code=code("counting"),
    output:
        table=report("results/tables/srn_counting.csv", caption="../report/srn_counting.rst", category="Seed 000: counting"),
    log:
        "logs/counting_table.log",
    benchmark:
        "benchmarks/counting_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/counting_table.py"
