from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import matthews_corrcoef, precision_recall_fscore_support, r2_score

from rnnscope.labels import write_labels
from rnnscope.probes import (
    INTERVAL_COLUMNS,
    INTERVAL_SCORES,
    METRIC_COLUMNS,
    MdlSettings,
    ProbeSettings,
    _classifier_scores,
    bootstrap_intervals,
    control_labels,
    fit_probes,
    mdl_blocks,
    online_codelength,
)
from rnnscope.states import StatesInfo, StatesWriter, parse_state_column

HIDDEN = 6
FLAG_UNIT = 2  # layer 1 unit carrying a noisy copy of "flag"
DEPTH_UNIT = 4  # layer 1 unit linearly encoding "depth"
PHASE_UNIT = 0  # layer 1 unit at -2 / 0 / 2 for the three "phase" classes
TYPES = 7  # token ids cycle through 7 types, unrelated to flag (period 10)
KINDS = {"flag": "binary", "coin": "binary", "phase": "categorical", "depth": "continuous", "rare": "binary"}
SETTINGS = ProbeSettings(
    max_train_rows=10_000,
    max_test_rows=10_000,
    max_iter=500,
    C=1.0,
    seed=0,
    weightings=("plain", "balanced"),
    standardize=True,
    n_jobs=1,
    warmup_tokens=0,  # the fixtures' states have no zero-state transient (one test adds some)
    mdl=MdlSettings(enabled=False),  # on by default; the MDL tests turn it on
)


def write_split(folder: Path, split: str, rows: int, seed: int, transient_rows: int = 0) -> tuple[Path, Path]:
    """States where layer 1 encodes flag/depth/phase and layer 0 is noise, plus their labels.
    The first ``transient_rows`` layer-1 states are far outside the rest (as after a zero state)."""
    rng = np.random.default_rng(seed)
    position = np.arange(rows)
    flag = position % 10 < 3  # exactly 30 % positive: majority accuracy 0.7
    phase = np.array(["a", "b", "c"])[position % 3]
    depth = rng.normal(size=rows)
    layer1 = rng.normal(scale=0.3, size=(rows, HIDDEN))
    layer1[:, FLAG_UNIT] = np.where(flag, 1.0, -1.0) + rng.normal(scale=0.1, size=rows)
    layer1[:, DEPTH_UNIT] = 0.5 * depth + rng.normal(scale=0.01, size=rows)
    layer1[:, PHASE_UNIT] = 2.0 * (position % 3 - 1) + rng.normal(scale=0.1, size=rows)
    layer1[:transient_rows, DEPTH_UNIT] = 200.0
    states_path = folder / f"{split}_states.parquet"
    info = StatesInfo(model="toy", cell="gru", layers=2, hidden=HIDDEN, kinds=("h",))
    with StatesWriter(states_path, info) as writer:
        tokens = {
            "position": position,
            "token_id": (position % TYPES).astype(np.int32),
            "token": np.full(rows, "x"),
            "next_token_id": np.zeros(rows, dtype=np.int32),
            "logprob_next": np.zeros(rows, dtype=np.float32),
            "pred_id": np.zeros(rows, dtype=np.int32),
        }
        writer.write(tokens, {"l0_h": rng.normal(size=(rows, HIDDEN)), "l1_h": layer1})
    rare = pd.array(position % 2 == 0, dtype="boolean")
    rare[5:] = pd.NA  # only 5 labelled rows in each split
    labels = pd.DataFrame(
        {
            "position": position,
            "flag": flag,
            "coin": rng.random(rows) < 0.5,
            "phase": phase,
            "depth": depth,
            "rare": rare,
        }
    )
    labels_path = folder / f"{split}_labels.parquet"
    write_labels(labels, KINDS, labels_path)
    return states_path, labels_path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    folder = tmp_path_factory.mktemp("probes")
    train_states, train_labels = write_split(folder, "train", 600, seed=1)
    test_states, test_labels = write_split(folder, "test", 300, seed=2)
    return train_states, test_states, train_labels, test_labels


@pytest.fixture(scope="module")
def result(files: tuple[Path, Path, Path, Path]) -> tuple[pd.DataFrame, Path, Path]:
    out = files[0].parent / "out"
    table = fit_probes(*files, SETTINGS, out / "metrics.csv", out / "weights.npz", model="toy")
    return table, out / "metrics.csv", out / "weights.npz"


def probe(table: pd.DataFrame, layer: int, hypothesis: str, weighting: str) -> pd.Series:
    rows = table[(table.layer == layer) & (table.hypothesis == hypothesis) & (table.weighting == weighting)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_table_shape_and_csv(result: tuple[pd.DataFrame, Path, Path]) -> None:
    table, metrics_csv, _ = result
    # 2 layers × (4 classifier hypotheses × 2 weightings + 1 continuous × "none")
    assert len(table) == 2 * (4 * 2 + 1)
    assert list(table.columns) == METRIC_COLUMNS
    assert set(table.kind) == {"h"} and set(table.model) == {"toy"}
    assert set(table[table.target_kind == "continuous"].weighting) == {"none"}
    assert set(table[table.target_kind == "binary"].weighting) == {"plain", "balanced"}
    written = pd.read_csv(metrics_csv)
    assert list(written.columns) == METRIC_COLUMNS and len(written) == len(table)
    assert not list(metrics_csv.parent.glob("*.partial"))


def test_encoded_binary_found(result: tuple[pd.DataFrame, Path, Path]) -> None:
    table = result[0]
    for weighting in ("plain", "balanced"):
        row = probe(table, 1, "flag", weighting)
        assert row.status == "ok"
        assert row.top_unit == FLAG_UNIT and row.top_weight > 0
        assert row.accuracy > 0.98 and row.f1 > 0.97 and row.mcc > 0.95
        assert row.majority_accuracy == pytest.approx(0.7)
        assert (row.n_train, row.n_test, row.n_classes) == (600, 300, 2)
    noise_layer = probe(table, 0, "flag", "plain")
    assert noise_layer.accuracy < 0.8 and abs(noise_layer.mcc) < 0.2


def test_control_task_and_selectivity(result: tuple[pd.DataFrame, Path, Path]) -> None:
    table = result[0]
    ok = table[table.status == "ok"]
    classifiers = ok[ok.target_kind != "continuous"]
    assert classifiers["control_accuracy"].between(0, 1).all() and classifiers["control_r2"].isna().all()
    np.testing.assert_allclose(classifiers["selectivity"], classifiers["accuracy"] - classifiers["control_accuracy"])
    regressions = ok[ok.target_kind == "continuous"]
    np.testing.assert_allclose(regressions["selectivity"], regressions["r2"] - regressions["control_r2"])
    # flag is encoded in layer 1 but is no function of the token type: the probe is selective.
    # The control labels depend on the type (position % 7), which no layer encodes linearly.
    flag = probe(table, 1, "flag", "plain")
    assert flag.selectivity > 0.2 and flag.control_accuracy < flag.accuracy


def test_control_labels_one_label_per_type_from_the_train_distribution() -> None:
    rng = np.random.default_rng(0)
    train_types, test_types = rng.integers(0, 4000, size=20_000), rng.integers(0, 4000, size=5_000)
    y_train = rng.random(20_000) < 0.3
    control_train, control_test = control_labels(train_types, test_types, y_train, seed=0, hypothesis="flag")
    types = np.concatenate([train_types, test_types])
    labels = np.concatenate([control_train, control_test])
    per_type = pd.DataFrame({"type": types, "label": labels}).groupby("type")["label"]
    assert (per_type.nunique() == 1).all()  # a type has one label, in train and test alike
    # 4000 types, each True with probability 0.3: the share of True types is 0.3 ± 3 sd (0.007).
    assert abs(per_type.first().mean() - 0.3) < 0.022
    again = control_labels(train_types, test_types, y_train, seed=0, hypothesis="flag")
    np.testing.assert_array_equal(again[0], control_train)
    other = control_labels(train_types, test_types, y_train, seed=0, hypothesis="coin")
    assert not np.array_equal(other[0], control_train)
    phases = np.array(["a", "b", "c"])[rng.integers(0, 3, size=20_000)]
    drawn = control_labels(train_types, test_types, phases, seed=1, hypothesis="phase")[0]
    assert set(drawn) == {"a", "b", "c"} and drawn.dtype == phases.dtype


def test_control_can_be_switched_off(files: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    settings = ProbeSettings(**vars(SETTINGS) | {"control": False, "weightings": ("plain",)})
    table = fit_probes(*files, settings, tmp_path / "m.csv", tmp_path / "w.npz")
    assert table[["control_accuracy", "control_r2", "selectivity"]].isna().all().all()


def test_warmup_tokens_leave_out_each_splits_first_rows(files: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    test_states, test_labels = write_split(tmp_path, "transient", 300, seed=2, transient_rows=3)
    settings = ProbeSettings(**vars(SETTINGS) | {"control": False, "weightings": ("plain",)})
    with_transient = fit_probes(
        files[0], test_states, files[2], test_labels, settings, tmp_path / "a.csv", tmp_path / "a.npz"
    )
    # Three transient test rows are enough to wreck a regression that fits every other row.
    assert probe(with_transient, 1, "depth", "none").r2 < 0.5
    warmed = fit_probes(
        files[0],
        test_states,
        files[2],
        test_labels,
        ProbeSettings(**vars(settings) | {"warmup_tokens": 3}),
        tmp_path / "b.csv",
        tmp_path / "b.npz",
    )
    depth = probe(warmed, 1, "depth", "none")
    assert depth.r2 > 0.99 and (depth.n_train, depth.n_test) == (597, 297)
    with pytest.raises(ValueError, match=r"config key probe\.warmup_tokens: -1 is less than the minimum of 0"):
        ProbeSettings(**vars(settings) | {"warmup_tokens": -1})


def test_random_binary_near_majority(result: tuple[pd.DataFrame, Path, Path]) -> None:
    row = probe(result[0], 1, "coin", "plain")
    assert abs(row.accuracy - row.majority_accuracy) < 0.1
    assert np.isnan(row.r2)


def test_categorical_macro(result: tuple[pd.DataFrame, Path, Path]) -> None:
    row = probe(result[0], 1, "phase", "balanced")
    assert row.top_unit == PHASE_UNIT and row.n_classes == 3
    assert row.f1 > 0.97
    assert row.majority_accuracy == pytest.approx(1 / 3)  # ties broken towards "a", a third of the test rows


def test_continuous_r2(result: tuple[pd.DataFrame, Path, Path]) -> None:
    row = probe(result[0], 1, "depth", "none")
    assert row.r2 > 0.99 and row.top_unit == DEPTH_UNIT
    assert np.isnan(row.accuracy) and np.isnan(row.majority_accuracy) and pd.isna(row.n_classes)
    assert probe(result[0], 0, "depth", "none").r2 < 0.1


def test_skipped_rows(result: tuple[pd.DataFrame, Path, Path]) -> None:
    skipped = result[0][result[0].hypothesis == "rare"]
    assert len(skipped) == 4  # 2 layers × 2 weightings
    assert set(skipped.status) == {"skipped: train has 5 labelled rows (< 10)"}
    assert skipped.top_unit.isna().all() and skipped.accuracy.isna().all()
    assert set(result[0][result[0].hypothesis != "rare"].status) == {"ok"}


def test_weights_npz(result: tuple[pd.DataFrame, Path, Path]) -> None:
    table, _, weights_npz = result
    with np.load(weights_npz) as weights:
        assert not any(key.startswith("l0_h/rare") for key in weights.files)
        flag = weights["l1_h/flag/balanced"]
        assert flag.shape == (1, HIDDEN)
        assert flag[0, FLAG_UNIT] == pytest.approx(probe(table, 1, "flag", "balanced").top_weight)
        assert weights["l1_h/flag/balanced/intercept"].shape == (1,)
        assert weights["l1_h/phase/plain"].shape == (3, HIDDEN)
        assert list(weights["l1_h/phase/plain/classes"]) == ["a", "b", "c"]
        assert weights["l0_h/depth/none"].shape == (1, HIDDEN)


def test_subsampling_and_convergence_warning(
    files: tuple[Path, Path, Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ProbeSettings(**{**SETTINGS.__dict__, "max_train_rows": 100, "max_test_rows": 50, "max_iter": 1})
    with caplog.at_level(logging.WARNING, logger="rnnscope.probes"):
        table = fit_probes(*files, settings, tmp_path / "m.csv", tmp_path / "w.npz")
    flag = probe(table, 1, "flag", "plain")
    assert (flag.n_train, flag.n_test) == (100, 50)
    assert any(
        "l1_h/flag/plain" in message and "did not converge after 1 iterations" in message for message in caplog.messages
    )
    assert any("skipping hypothesis rare" in message for message in caplog.messages)
    # One solver iteration converges nowhere: every fitted classifier row says so.
    classifiers = table[(table.status == "ok") & (table.target_kind != "continuous")]
    assert (classifiers["n_iter"] == 1).all() and not classifiers["converged"].any()
    written = pd.read_csv(tmp_path / "m.csv")
    assert not written.loc[written.hypothesis == "flag", "converged"].any()


def test_every_probe_row_says_whether_it_converged(result: tuple[pd.DataFrame, Path, Path]) -> None:
    table = result[0]
    ok = table[table.status == "ok"]
    classifiers, regressions = ok[ok.target_kind != "continuous"], ok[ok.target_kind == "continuous"]
    assert classifiers["converged"].all() and classifiers["n_iter"].between(1, SETTINGS.max_iter - 1).all()
    # Least squares has no iterations and always reaches its optimum.
    assert regressions["n_iter"].isna().all() and regressions["converged"].all()
    assert table.loc[table.status != "ok", "converged"].isna().all()


def test_position_mismatch(files: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    train_states, test_states, train_labels, test_labels = files
    shifted = pd.read_parquet(test_labels)
    shifted.loc[7:, "position"] += 1
    bad_labels = tmp_path / "bad_labels.parquet"
    write_labels(shifted, KINDS, bad_labels)
    with pytest.raises(ValueError, match=r"test_states\.parquet.*bad_labels\.parquet.*row 7"):
        fit_probes(
            train_states, test_states, train_labels, bad_labels, SETTINGS, tmp_path / "m.csv", tmp_path / "w.npz"
        )


def test_settings_and_column_names() -> None:
    assert parse_state_column("l12_c") == (12, "c")
    with pytest.raises(ValueError, match="not a state column"):
        parse_state_column("position")
    with pytest.raises(
        ValueError, match=r"config key probe\.weightings\[1\]: 'heavy' is not one of \['plain', 'balanced'\]"
    ):
        ProbeSettings(**{**SETTINGS.__dict__, "weightings": ("plain", "heavy")})
    assert ProbeSettings(**{**SETTINGS.__dict__, "weightings": ["balanced"]}).weightings == ("balanced",)
    with pytest.raises(
        ValueError, match=r"config key probe\.solver: 'sgd' is not one of \['newton-cholesky', 'lbfgs'\]"
    ):
        ProbeSettings(**{**SETTINGS.__dict__, "solver": "sgd"})


def test_default_solver_converges_on_collinear_states(tmp_path: Path) -> None:
    # States dominated by a few directions, as an untrained model's upper layers, with a label that
    # also reads the small remaining ones: lbfgs stops at its iteration cap short of the optimum,
    # the Newton solver reaches it in a few steps.
    rng = np.random.default_rng(3)
    rows, hidden = 3000, 64
    mixing = rng.normal(size=(4, hidden))
    files = []
    for split in ("train", "test"):
        dominant, small = rng.normal(size=(rows, 4)), rng.normal(size=(rows, hidden))
        states = dominant @ mixing + 0.1 * small
        flag = dominant[:, 0] + 0.5 * small[:, :8].sum(axis=1) + 0.5 * rng.normal(size=rows) > 0
        states_path, labels_path = tmp_path / f"{split}_states.parquet", tmp_path / f"{split}_labels.parquet"
        info = StatesInfo(model="toy", cell="gru", layers=1, hidden=hidden, kinds=("h",))
        with StatesWriter(states_path, info) as writer:
            tokens = {
                "position": np.arange(rows),
                "token_id": rng.integers(0, TYPES, size=rows).astype(np.int32),
                "token": np.full(rows, "x"),
                "next_token_id": np.zeros(rows, dtype=np.int32),
                "logprob_next": np.zeros(rows, dtype=np.float32),
                "pred_id": np.zeros(rows, dtype=np.int32),
            }
            writer.write(tokens, {"l0_h": states})
        write_labels(pd.DataFrame({"position": np.arange(rows), "flag": flag}), {"flag": "binary"}, labels_path)
        files.append((states_path, labels_path))
    tables = {
        solver: fit_probes(
            files[0][0],
            files[1][0],
            files[0][1],
            files[1][1],
            ProbeSettings(**{**SETTINGS.__dict__, "max_iter": 40, "solver": solver, "control": False, "bootstrap": 0}),
            tmp_path / f"{solver}.csv",
            tmp_path / f"{solver}.npz",
        )
        for solver in ("newton-cholesky", "lbfgs")
    }
    assert tables["newton-cholesky"]["converged"].all() and (tables["newton-cholesky"]["n_iter"] < 40).all()
    assert not tables["lbfgs"]["converged"].any()


def test_bootstrap_intervals_contain_the_score(result: tuple[pd.DataFrame, Path, Path]) -> None:
    ok = result[0][result[0].status == "ok"]
    for score in INTERVAL_SCORES:
        scored = ok[ok[score].notna()]
        assert len(scored) and scored[f"{score}_ci_low"].notna().all()
        assert (scored[f"{score}_ci_low"] <= scored[score]).all() and (
            scored[score] <= scored[f"{score}_ci_high"]
        ).all()
    # The noise layer's flag probe is far from perfect: its interval has width.
    noise = probe(result[0], 0, "flag", "plain")
    assert noise.accuracy_ci_high - noise.accuracy_ci_low > 0.02
    # Regressions have no classifier intervals and classifiers no r2 interval.
    assert probe(result[0], 1, "depth", "none")[["accuracy_ci_low", "f1_ci_high"]].isna().all()
    assert np.isnan(probe(result[0], 1, "flag", "plain").r2_ci_low)


def test_bootstrap_scores_are_sklearns_on_the_resampled_rows() -> None:
    """One resample (its percentiles are its value) against sklearn on the same drawn rows."""
    rng = np.random.default_rng(3)
    truth = {
        "binary": rng.random(400) < 0.3,
        "categorical": np.array(list("abcd"))[rng.integers(4, size=400)],
        "continuous": rng.normal(size=400),
    }
    predicted = {
        "binary": np.where(rng.random(400) < 0.8, truth["binary"], ~truth["binary"]),
        "categorical": np.where(rng.random(400) < 0.6, truth["categorical"], "a"),  # d is never predicted
        "continuous": truth["continuous"] + rng.normal(size=400),
    }
    for kind, y in truth.items():
        drawn = np.random.default_rng(9).integers(len(y), size=(1, len(y)))[0]  # the rows _resampled_rows draws
        intervals = bootstrap_intervals(y, predicted[kind], kind, 1, np.random.default_rng(9))
        if kind == "continuous":
            assert intervals["r2_ci_low"] == pytest.approx(r2_score(y[drawn], predicted[kind][drawn]))
            continue
        average, positive = ("binary", True) if kind == "binary" else ("macro", 1)
        expected = precision_recall_fscore_support(
            y[drawn], predicted[kind][drawn], average=average, pos_label=positive, zero_division=0
        )[:3]
        got = [intervals[f"{score}_ci_low"] for score in ("precision", "recall", "f1")]
        assert got == pytest.approx(list(expected))
        assert intervals["accuracy_ci_high"] == pytest.approx(np.mean(y[drawn] == predicted[kind][drawn]))
        assert intervals["mcc_ci_low"] == pytest.approx(matthews_corrcoef(y[drawn], predicted[kind][drawn]))


@pytest.mark.parametrize(
    ("truth", "predicted"),
    [
        ([True, True, False, False, False, True], [True, False, False, True, False, True]),  # binary
        ([False, False, True, True], [True, True, False, False]),  # perfectly wrong: -1
        ([True, False, True, False], [True, True, True, True]),  # constant prediction: 0 (undefined)
        (list("aabbccab"), list("abbccaab")),  # multi-class
        (list("aabbcc"), list("aabbcc")),  # perfect: 1
        (list("abcabc"), list("abcaaa")),  # some classes never predicted
    ],
)
def test_mcc_is_sklearns(truth: list, predicted: list) -> None:
    """MCC from confusion counts (the bootstrap's path) equals sklearn's on hand-made cases."""
    kind = "binary" if isinstance(truth[0], bool) else "categorical"
    truth_array, predicted_array = np.array(truth), np.array(predicted)
    classes, codes = np.unique(np.concatenate([truth_array, predicted_array]), return_inverse=True)
    confusion = np.zeros((1, len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion[0], (codes[: len(truth)], codes[len(truth) :]), 1)
    expected = matthews_corrcoef(truth_array, predicted_array)
    assert _classifier_scores(confusion, kind)["mcc"][0] == pytest.approx(expected)


def test_bootstrap_intervals_narrow_with_more_test_rows() -> None:
    def width(rows: int) -> float:
        rng = np.random.default_rng(rows)
        y = rng.random(rows) < 0.3
        intervals = bootstrap_intervals(y, np.where(rng.random(rows) < 0.8, y, ~y), "binary", 500, rng)
        return intervals["f1_ci_high"] - intervals["f1_ci_low"]

    # The width goes as 1/sqrt(rows): 100x the rows, about a tenth of the width.
    assert 0.05 < width(20_000) / width(200) < 0.2


def test_bootstrap_reproducible_independent_of_order_and_switchable(
    files: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    settings = ProbeSettings(**vars(SETTINGS) | {"control": False})
    both = fit_probes(*files, settings, tmp_path / "a.csv", tmp_path / "a.npz")
    again = fit_probes(*files, settings, tmp_path / "b.csv", tmp_path / "b.npz")
    pd.testing.assert_frame_equal(both[INTERVAL_COLUMNS], again[INTERVAL_COLUMNS])
    # Without the plain probes before them, the balanced probes draw the same resamples.
    alone = fit_probes(
        *files, ProbeSettings(**vars(settings) | {"weightings": ("balanced",)}), tmp_path / "c.csv", tmp_path / "c.npz"
    )
    balanced = both[both.weighting.isin(["balanced", "none"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(balanced[INTERVAL_COLUMNS], alone[INTERVAL_COLUMNS])
    off = fit_probes(*files, ProbeSettings(**vars(settings) | {"bootstrap": 0}), tmp_path / "d.csv", tmp_path / "d.npz")
    assert off[INTERVAL_COLUMNS].isna().all().all() and off["accuracy"].notna().any()
    assert pd.read_csv(tmp_path / "d.csv")[INTERVAL_COLUMNS].isna().all().all()
    with pytest.raises(ValueError, match=r"config key probe\.bootstrap: -1 is less than the minimum of 0"):
        ProbeSettings(**vars(settings) | {"bootstrap": -1})


def test_warmup_leaves_out_positions_not_rows(files: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    """A spread-sampled file's row i is not position i: the warm-up goes by position."""
    spread = {}
    for name, path in (("states", files[1]), ("labels", files[3])):
        table = pq.read_table(path)
        positions = pa.array(table.column("position").to_numpy() * 10, type=pa.int64())  # every tenth position
        spread[name] = tmp_path / f"spread_{name}.parquet"
        pq.write_table(table.set_column(table.schema.get_field_index("position"), "position", positions), spread[name])
    settings = ProbeSettings(
        **vars(SETTINGS) | {"control": False, "weightings": ("plain",), "warmup_tokens": 25, "bootstrap": 0}
    )
    table = fit_probes(
        files[0], spread["states"], files[2], spread["labels"], settings, tmp_path / "m.csv", tmp_path / "w.npz"
    )
    # Train keeps rows 25.. (positions = rows); test drops only positions 0, 10 and 20.
    assert (probe(table, 1, "flag", "plain").n_train, probe(table, 1, "flag", "plain").n_test) == (575, 297)


def test_train_and_test_rows_never_overlap(files: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    """Probe train and test rows come from different files (real splits) or samples (generated
    text); a probe given one split twice, or a copy of it, is refused instead of scoring its own
    train rows."""
    train_states, test_states, train_labels, test_labels = files
    settings = ProbeSettings(**vars(SETTINGS) | {"control": False, "weightings": ("plain",), "bootstrap": 0})
    with pytest.raises(ValueError, match="same file"):
        fit_probes(
            train_states, train_states, train_labels, test_labels, settings, tmp_path / "a.csv", tmp_path / "a.npz"
        )
    with pytest.raises(ValueError, match="same file"):
        fit_probes(
            train_states, test_states, train_labels, train_labels, settings, tmp_path / "b.csv", tmp_path / "b.npz"
        )
    copies = []
    for path in (train_states, train_labels):
        copies.append(tmp_path / f"copy_{path.name}")
        copies[-1].write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="same 600-token stream"):
        fit_probes(train_states, copies[0], train_labels, copies[1], settings, tmp_path / "c.csv", tmp_path / "c.npz")
    assert not (tmp_path / "c.csv").exists()
    # Different splits pass: their token streams differ.
    fit_probes(*files, settings, tmp_path / "d.csv", tmp_path / "d.npz")


MDL_COLUMNS = ["mdl_online_bits", "mdl_uniform_bits", "mdl_compression", "control_mdl_compression"]


def test_online_codelength_compresses_a_separable_problem_not_shuffled_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 5))
    y = x[:, 0] + 0.1 * x[:, 1] > 0
    classes = np.array([False, True])
    separable, uniform = online_codelength(x, y, classes, "binary", SETTINGS, np.random.default_rng(1))
    shuffled, _ = online_codelength(x, rng.permutation(y), classes, "binary", SETTINGS, np.random.default_rng(1))
    assert uniform == pytest.approx(2000.0)  # n log2 2
    assert uniform / separable > 5  # a few bits for the first blocks, then almost nothing
    assert 0.8 < uniform / shuffled < 1.05  # nothing to learn: no better than the uniform code
    # The first block's uniform code is part of the online code: never below it.
    assert separable > mdl_blocks(SETTINGS.mdl.portions, 2000)[0]


def test_uniform_codelength_is_n_log2_k_and_blocks_follow_the_portions() -> None:
    rng = np.random.default_rng(2)
    y = np.array(list("abc"))[rng.integers(3, size=500)]
    x = rng.normal(size=(500, 3))
    online, uniform = online_codelength(x, y, np.array(list("abc")), "categorical", SETTINGS, rng)
    assert uniform == pytest.approx(500 * np.log2(3))
    assert online > 0.8 * uniform  # random labels: no compression to speak of
    assert mdl_blocks(SETTINGS.mdl.portions, 20_000).tolist() == [
        20,
        40,
        80,
        160,
        320,
        640,
        1250,
        2500,
        5000,
        10_000,
        20_000,
    ]
    assert mdl_blocks(SETTINGS.mdl.portions, 600).tolist() == [1, 2, 5, 10, 19, 38, 75, 150, 300, 600]


def test_mdl_portions_are_validated() -> None:
    assert MdlSettings().portions[-1] == 1.0 and MdlSettings().enabled
    for portions in ((0.5, 0.25, 1.0), (0.1, 0.5), (0.5, 0.5, 1.0)):
        with pytest.raises(ValueError, match=r"probe\.mdl\.portions \[.*\] must increase strictly and end at 1\.0"):
            MdlSettings(portions=portions)
    # Single portions out of range are the schema's rules.
    with pytest.raises(ValueError, match=r"probe\.mdl\.portions\[0\]: 0\.0 is less than or equal to the minimum of 0"):
        MdlSettings(portions=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"probe\.mdl\.portions: \[\] should be non-empty"):
        MdlSettings(portions=())
    # The config gives a dict and lists.
    settings = ProbeSettings(**vars(SETTINGS) | {"mdl": {"enabled": True, "portions": [0.5, 1]}})
    assert settings.mdl == MdlSettings(enabled=True, portions=(0.5, 1.0))


def test_mdl_columns_beside_plain_classifiers(files: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    settings = ProbeSettings(**vars(SETTINGS) | {"mdl": MdlSettings(enabled=True), "bootstrap": 0})
    table = fit_probes(*files, settings, tmp_path / "m.csv", tmp_path / "w.npz")
    assert list(pd.read_csv(tmp_path / "m.csv").columns) == METRIC_COLUMNS
    ok = table[table.status == "ok"]
    plain = ok[(ok.weighting == "plain") & (ok.target_kind != "continuous")]
    assert len(plain) == 2 * 3 and plain[MDL_COLUMNS].notna().all().all()
    assert ok[ok.weighting != "plain"][MDL_COLUMNS].isna().all().all()  # balanced and regressions: none
    assert np.allclose(plain.mdl_compression, plain.mdl_uniform_bits / plain.mdl_online_bits)
    assert np.allclose(plain.mdl_uniform_bits, 600 * np.log2(plain.n_classes.astype(float)))
    encoded, noise = probe(table, 1, "flag", "plain"), probe(table, 0, "flag", "plain")
    # The unit that carries flag compresses it far better than noise states and than the control task.
    assert encoded.mdl_compression > 3 * noise.mdl_compression and noise.mdl_compression < 1.1
    assert encoded.mdl_compression > 3 * encoded.control_mdl_compression
    # No code is much worse than the uniform one: a few-row prefix's fit costs a wrong row bits, not
    # thousands of them (float32 probabilities rounded to 0; a scaler fitted on 2 rows).
    assert (plain[["mdl_compression", "control_mdl_compression"]] > 0.8).all().all()
    # Off: the columns are there and empty.
    assert (
        table.pipe(lambda _: fit_probes(*files, SETTINGS, tmp_path / "o.csv", tmp_path / "o.npz"))[MDL_COLUMNS]
        .isna()
        .all()
        .all()
    )
