"""Resource requests scale with the model and the corpus."""

from __future__ import annotations

from rnnscope import resources

LSTM = {"cell": "lstm", "hidden": 128, "layers": 2, "embedding": 0}
TRAIN = {"epochs": 2, "batch_size": 32, "seq_len": 100, "restarts": 1, "max_steps": 0}


def test_flops_per_token_by_hand() -> None:
    # 2 layers of 4 gates: 4*128*(100+128) + 4*128*(128+128) MACs, decoder 128*100; x2 (mul+add) x3 (fwd+bwd)
    macs = 4 * 128 * 228 + 4 * 128 * 256 + 128 * 100
    assert resources.flops_per_token(LSTM) == 6 * macs


def test_requests_grow_with_model_and_corpus() -> None:
    big = {**LSTM, "hidden": 512, "layers": 3}
    assert resources.train_mem_mb(big, TRAIN, 10**6) > resources.train_mem_mb(LSTM, TRAIN, 10**6)
    assert resources.train_mem_mb(LSTM, TRAIN, 10**8) > resources.train_mem_mb(LSTM, TRAIN, 10**6)
    long = {**TRAIN, "epochs": 200}
    assert resources.train_runtime_minutes(big, long, 10**8) > resources.train_runtime_minutes(LSTM, long, 10**8) > 10
    assert resources.train_runtime_minutes(LSTM, TRAIN, 1000) == 10  # the floor
    assert (
        resources.extract_mem_mb(big, 6, 4096)
        > resources.extract_mem_mb(LSTM, 6, 4096)
        > resources.extract_mem_mb(LSTM, 1, 4096)
    )
    # A 10k-word model's logits over a 4096-token chunk: the measured PTB extraction peaked at 829 MB.
    assert resources.extract_mem_mb({"cell": "gru", "hidden": 128, "layers": 2}, 2, 4096, 10_000) >= 829


def test_max_steps_caps_the_runtime_estimate() -> None:
    capped = {**TRAIN, "epochs": 1000, "max_steps": 10}
    assert resources.train_runtime_minutes(LSTM, capped, 10**9) == 10


def test_prepare_runtime_grows_with_the_input_and_its_compression() -> None:
    assert resources.prepare_runtime_minutes(10**6) == 10  # the floor
    big = 10**11
    assert resources.prepare_runtime_minutes(big, compressed=True) > resources.prepare_runtime_minutes(big) > 10


def test_word_vocabulary_and_train_token_cap_enter_the_estimates() -> None:
    word = {"cell": "lstm", "hidden": 1500, "layers": 2, "embedding": 1500}
    ptb = {"epochs": 55, "batch_size": 20, "seq_len": 35, "restarts": 1, "max_steps": 0}
    # The 10k-word softmax and embedding dominate a PTB model: ignoring them would under-request.
    assert (
        resources.train_mem_mb(word, ptb, 6 * 10**6, vocab=10000) > resources.train_mem_mb(word, ptb, 6 * 10**6) + 500
    )
    assert resources.train_runtime_minutes(word, ptb, 929589, vocab=10000) > 1.3 * resources.train_runtime_minutes(
        word, ptb, 929589
    )
    capped = {**ptb, "max_train_tokens": 1000}
    assert (
        resources.train_runtime_minutes(word, capped, 929589, vocab=10000)
        < resources.train_runtime_minutes(word, ptb, 929589, vocab=10000) / 100
    )


def test_spread_labelling_memory_follows_the_split() -> None:
    # The Linux train split (1.35M characters) peaked 139 MB above the interpreter: covered twice.
    assert resources.label_mem_mb(1_350_000) >= 500 + 2 * 139
    assert resources.label_mem_mb(100_000_000) > 10 * resources.label_mem_mb(1_000_000)
