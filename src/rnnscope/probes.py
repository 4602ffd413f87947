"""Diagnostic classifiers ("probes"): linear models that read a hypothesis off the hidden states.

For every state column (layer × kind) and every hypothesis, a probe is fitted on the train split
and scored on the held-out test split: logistic regression for binary and categorical
hypotheses (once per class weighting, since accuracy alone flatters imbalanced hypotheses),
linear regression for continuous ones. The unit with the largest absolute weight is reported as
the candidate single neuron for the hypothesis.

Control task (Hewitt & Liang 2019, "Designing and Interpreting Probes with Control Tasks"):
every distinct token type (character) gets one label drawn at random from the hypothesis's
empirical train label distribution, and the same probe is fitted on the same rows with those
labels. ``selectivity`` = accuracy − control accuracy for classifiers (r2 − control r2 for
regressions): how much of the probe's score the token's identity alone does not explain.

Classifiers also get the Matthews correlation coefficient ``mcc`` (sklearn's
``matthews_corrcoef``; for categorical hypotheses its multi-class form, Gorodkin's R_K), which
unlike accuracy and F1 is 0 for any constant or chance predictor whatever the class balance.

Online codelength (Voita & Titov 2020, "Information-Theoretic Probing with Minimum Description
Length"), with ``mdl.enabled``, beside every plain classification probe: the probe-train rows, in
a seeded random order, are cut at the fractions ``mdl.portions`` (t_1 < ... < t_S = 1); the first
block is sent with the uniform code (log2 K bits a row), each later block with the probe fitted
on all rows before it (the plain probe's estimator). ``mdl_online_bits`` is their sum,
``mdl_uniform_bits`` = n log2 K and ``mdl_compression`` = uniform / online; ``control_mdl_compression``
is the same on the control-task labels. A higher compression than the control task's (or than
the untrained model's) says the labels are easier to extract from the states, which accuracy
alone can hide when both probes reach the same accuracy.

Every score of a fitted probe (accuracy, precision, recall, F1, MCC; r2) gets a 95 % bootstrap
percentile interval over its test rows (``<score>_ci_low``, ``<score>_ci_high``): the test rows
are resampled with replacement and the score recomputed from the stored predictions, without
refitting, so the interval covers the test-row sampling only, not the choice of train rows.
"""

from __future__ import annotations

import logging
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, matthews_corrcoef, precision_recall_fscore_support, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from rnnscope.artifacts import write_atomically
from rnnscope.labels import HypothesisKind, read_kinds
from rnnscope.schema import check_settings
from rnnscope.states import parse_state_column, read_info, read_matrix_rows, read_table

logger = logging.getLogger(__name__)

CLASS_WEIGHTS: dict[str, str | None] = {"plain": None, "balanced": "balanced"}
REGRESSION_WEIGHTING = "none"
MIN_ROWS = 10
CLASSIFIER_SCORES = ("accuracy", "precision", "recall", "f1", "mcc")
INTERVAL_SCORES = (*CLASSIFIER_SCORES, "r2")  # the scores that get a bootstrap interval
INTERVAL_COLUMNS = [f"{score}_ci_{bound}" for score in INTERVAL_SCORES for bound in ("low", "high")]
SCORE_COLUMNS = [
    *["accuracy", "precision", "recall", "f1", "mcc", "r2", "majority_accuracy"],
    *["control_accuracy", "control_r2", "selectivity"],
    *INTERVAL_COLUMNS,
    *["mdl_online_bits", "mdl_uniform_bits", "mdl_compression", "control_mdl_compression"],
]
CONFIDENCE = 0.95
BOOTSTRAP_BLOCK = 100  # resamples whose row indices are held at once: block x test rows int64
METRIC_COLUMNS = [
    *["model", "layer", "kind", "hypothesis", "target_kind", "weighting"],
    *SCORE_COLUMNS,
    *["top_unit", "top_weight", "n_train", "n_test", "n_classes", "n_iter", "converged", "status"],
]
LABEL_DTYPES: dict[str, type] = {"binary": bool, "categorical": object, "continuous": np.float64}
MDL_PORTIONS = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.0625, 0.125, 0.25, 0.5, 1.0)
# Weight of the uniform code mixed into a block's code when the probe fitted on the rows before
# it has not seen every class (a class it never saw would otherwise cost infinite bits).
MDL_UNSEEN_MIX = 1e-3


@dataclass(frozen=True)
class MdlSettings:
    """Online codelength probes (Voita & Titov 2020): on with ``enabled``; ``portions`` are the
    fractions of the probe-train rows at which the online code refits (increasing, ending at 1)."""

    enabled: bool = True
    portions: tuple[float, ...] = MDL_PORTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "portions", tuple(float(portion) for portion in self.portions))
        check_settings("probe.mdl", self)
        portions = self.portions
        # The schema bounds each portion; their order is beyond it.
        if portions[-1] != 1.0 or any(later <= earlier for earlier, later in zip(portions, portions[1:], strict=False)):
            raise ValueError(f"config key probe.mdl.portions {list(portions)} must increase strictly and end at 1.0")


@dataclass(frozen=True)
class ProbeSettings:
    """How probes are fitted.

    Train and test rows above ``max_train_rows``/``max_test_rows`` are subsampled with a
    ``seed``-ed RNG. ``C`` is the inverse L2 strength of the logistic regressions, fitted by
    scikit-learn's ``solver`` in at most ``max_iter`` iterations. ``newton-cholesky`` (the
    default) takes a few Newton steps: on the untrained Linux LSTM's top-layer states, lbfgs
    stopped at 300 iterations short of the optimum (its objective 20514.8 against Newton's
    20512.8 after 5 steps) and took 5-8 times as long. With ``standardize`` the features are z-scored with train
    statistics before fitting, and the saved weights, ``top_unit`` and ``top_weight`` are in
    that standardized space (weights comparable across units); otherwise in raw state units.
    The first ``warmup_tokens`` positions of each split are left out: the states just after the
    zero initial state are transients unlike any later state, and a linear regression can
    extrapolate wildly on them (the Linux LSTM's layer-0 h at token 0 alone turned a
    position-in-line R² of 0.2 into -220 on the first 20k test rows).
    ``bootstrap`` resamples of the test rows give each score's 95 % percentile interval (0: no
    intervals, the ``*_ci_*`` columns stay empty). ``mdl`` (:class:`MdlSettings`, or its dict
    from the config) adds the online codelength of every plain classifier and its control task.
    ``n_jobs`` caps the BLAS threads of each fit. ``control`` fits every probe a second time on control-task labels (doubling the work)
    for ``control_*`` and ``selectivity``. Probes
    run one after another: on 2 shared cores, joblib workers (processes or threads) were no
    faster than a serial loop, and 2 BLAS threads per fit were 4-9 times slower
    (oversubscription).
    """

    max_train_rows: int
    max_test_rows: int
    max_iter: int
    C: float
    seed: int
    weightings: tuple[str, ...]
    standardize: bool
    n_jobs: int
    control: bool = True  # also fit each probe on control-task labels (selectivity)
    warmup_tokens: int = 50  # rows at the start of each split left out (states just after the zero initial state)
    bootstrap: int = 1000  # test-row resamples per probe for the 95 % intervals (0: none)
    mdl: MdlSettings = field(default_factory=MdlSettings)  # online codelength of the plain classifiers
    solver: str = "newton-cholesky"  # scikit-learn's LogisticRegression solver

    def __post_init__(self) -> None:
        # Config files give lists and a dict for mdl; tuples keep the frozen settings hashable.
        object.__setattr__(self, "weightings", tuple(self.weightings))
        if isinstance(self.mdl, dict):
            object.__setattr__(self, "mdl", MdlSettings(**self.mdl))
        check_settings("probe", self)


def intervention_probe_settings(C: float, weighting: str, seed: int, warmup_tokens: int) -> ProbeSettings:
    """Settings of the probes an intervention analysis (erasure, unit rankings) fits for itself:
    fitted as the probe stage fits its own (standardised states, Newton steps), with a ``C`` and
    ``weighting`` of the analysis's own config, so that changing a probe parameter does not rerun
    it; no control task or intervals, and no row caps (the analysis caps its text)."""
    return ProbeSettings(
        max_train_rows=2**62,
        max_test_rows=2**62,
        max_iter=300,
        C=C,
        seed=seed,
        weightings=(weighting,),
        standardize=True,
        n_jobs=1,
        control=False,
        warmup_tokens=warmup_tokens,
        bootstrap=0,
    )


@dataclass(frozen=True)
class _Target:
    """One hypothesis's labelled rows and labels, per split. The rows index the matrices
    :func:`fit_probes` reads: the rows some hypothesis uses, in file order."""

    hypothesis: str
    kind: HypothesisKind
    train_rows: np.ndarray
    test_rows: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    train_types: np.ndarray  # token id of each labelled row: the control task's token types
    test_types: np.ndarray

    @property
    def is_classification(self) -> bool:
        return self.kind != "continuous"

    def weightings(self, settings: ProbeSettings) -> tuple[str, ...]:
        return settings.weightings if self.is_classification else (REGRESSION_WEIGHTING,)

    def skip_reason(self) -> str | None:
        for split, labels in (("train", self.y_train), ("test", self.y_test)):
            if len(labels) < MIN_ROWS:
                return f"{split} has {len(labels)} labelled rows (< {MIN_ROWS})"
            distinct = len(np.unique(labels))
            if distinct < 2:
                noun = "class" if self.is_classification else "distinct value"
                return f"{split} has {distinct} {noun} (< 2)"
        return None

    def majority_accuracy(self) -> float:
        """Accuracy on test of always predicting the train majority class (ties: smallest label)."""
        if not self.is_classification or not len(self.y_train) or not len(self.y_test):
            return np.nan  # regressions, and hypotheses skipped for want of rows
        classes, counts = np.unique(self.y_train, return_counts=True)
        return float(np.mean(self.y_test == classes[counts.argmax()]))

    def n_classes(self) -> int | None:
        return len(np.unique(self.y_train)) if self.is_classification else None

    def control_labels(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Control-task labels (train, test): one label per token type, drawn from the train labels."""
        return control_labels(self.train_types, self.test_types, self.y_train, seed, self.hypothesis)


def control_labels(
    train_types: np.ndarray, test_types: np.ndarray, y_train: np.ndarray, seed: int, hypothesis: str
) -> tuple[np.ndarray, np.ndarray]:
    """Hewitt & Liang's control task: each distinct type (of train or test) gets one label drawn
    from the empirical distribution of ``y_train`` (a uniform draw of a train row's label), so a
    type has the same label everywhere. The RNG is seeded by ``seed`` and the hypothesis name:
    reproducible, and independent across hypotheses."""
    types, inverse = np.unique(np.concatenate([train_types, test_types]), return_inverse=True)
    rng = np.random.default_rng([seed, zlib.crc32(hypothesis.encode())])
    assigned = y_train[rng.integers(len(y_train), size=len(types))]
    labels = assigned[inverse]
    return labels[: len(train_types)], labels[len(train_types) :]


@dataclass(frozen=True)
class ProbeFit:
    """What one fitted probe produced."""

    metrics: dict[str, float]
    predicted: np.ndarray  # on the test rows: what the bootstrap intervals resample
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray | None
    convergence_warning: str | None
    n_iter: int | None  # solver iterations (None for a least-squares regression)
    mean: np.ndarray | None = None  # the standardization the weights apply after (None: raw states)
    scale: np.ndarray | None = None


def _resampled_rows(n_rows: int, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row indices of ``resamples`` resamples of ``n_rows`` rows drawn with replacement, as
    (block, n_rows) arrays of at most ``BOOTSTRAP_BLOCK`` resamples (bounded memory)."""
    for start in range(0, resamples, BOOTSTRAP_BLOCK):
        yield rng.integers(n_rows, size=(min(BOOTSTRAP_BLOCK, resamples - start), n_rows))


def _mcc(confusion: np.ndarray) -> np.ndarray:
    """Matthews correlation of each resample's confusion counts (resamples, true, predicted), in
    sklearn's multi-class form (the binary MCC for two classes); 0 where undefined (one class
    true or predicted), as sklearn."""
    confusion = confusion.astype(np.float64)  # n² products overflow nothing in float64
    n = confusion.sum(axis=(1, 2))
    correct = np.trace(confusion, axis1=1, axis2=2)
    true, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    covariance = correct * n - (true * predicted).sum(axis=1)
    spread = (n**2 - (true**2).sum(axis=1)) * (n**2 - (predicted**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, covariance / np.sqrt(spread), 0.0)


def _classifier_scores(confusion: np.ndarray, kind: HypothesisKind) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall and F1 (binary: of class True; categorical: macro average over
    the classes a resample has, as sklearn's ``average="macro"``), zero where undefined (sklearn's
    ``zero_division=0``), and MCC (:func:`_mcc`), from confusion counts (resamples, true class,
    predicted class)."""
    true_positive = np.diagonal(confusion, axis1=1, axis2=2)
    predicted, actual = confusion.sum(axis=1), confusion.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        f1 = np.where(predicted + actual > 0, 2 * true_positive / (predicted + actual), 0.0)
    accuracy = true_positive.sum(axis=1) / confusion.sum(axis=(1, 2))
    if kind == "binary":  # class order False, True: the positive class is column 1
        return {
            "accuracy": accuracy,
            "precision": precision[:, 1],
            "recall": recall[:, 1],
            "f1": f1[:, 1],
            "mcc": _mcc(confusion),
        }
    present = (predicted + actual) > 0
    counts = present.sum(axis=1)
    return {
        "accuracy": accuracy,
        "mcc": _mcc(confusion),
        **{
            name: (values * present).sum(axis=1) / counts
            for name, values in (("precision", precision), ("recall", recall), ("f1", f1))
        },
    }


def bootstrap_intervals(
    y_true: np.ndarray, predicted: np.ndarray, kind: HypothesisKind, resamples: int, rng: np.random.Generator
) -> dict[str, float]:
    """95 % percentile intervals ``<score>_ci_low``/``_ci_high`` of each score of a probe's test
    predictions over ``resamples`` resamples of the test rows (drawn with replacement). Scores
    are recomputed from the predictions (no refit); empty (NaN) when ``resamples`` is 0.

    Every score is a function of per-resample sums, taken for a block of resamples at once:
    confusion counts (one bincount) for classifiers; Σy, Σy² and Σ(y - ŷ)² for r2."""
    scores = INTERVAL_SCORES[-1:] if kind == "continuous" else CLASSIFIER_SCORES
    if resamples == 0:
        return {f"{score}_ci_{bound}": np.nan for score in scores for bound in ("low", "high")}
    blocks = _resampled_rows(len(y_true), resamples, rng)
    if kind == "continuous":
        y_true = np.asarray(y_true, dtype=np.float64)
        squares, residuals = y_true**2, (y_true - predicted) ** 2
        sums = np.concatenate(
            [np.column_stack([y_true[rows].sum(1), squares[rows].sum(1), residuals[rows].sum(1)]) for rows in blocks]
        )
        total, square_total, residual = sums.T
        spread = square_total - total**2 / len(y_true)  # n times the variance of y in the resample
        with np.errstate(invalid="ignore", divide="ignore"):
            # r2 of a resample with constant y is undefined (NaN) and left out of the percentiles
            values = {"r2": 1.0 - residual / np.where(spread > 0, spread, np.nan)}
    else:
        classes, codes = np.unique(np.concatenate([y_true, predicted]), return_inverse=True)
        cells_per_resample = len(classes) ** 2
        cells = codes[: len(y_true)] * len(classes) + codes[len(y_true) :]  # (true, predicted) cell of each row
        confusion = np.concatenate(
            [
                np.bincount(
                    (cells[rows] + cells_per_resample * np.arange(len(rows))[:, None]).ravel(),
                    minlength=len(rows) * cells_per_resample,
                ).reshape(len(rows), len(classes), len(classes))
                for rows in blocks
            ]
        )
        values = _classifier_scores(confusion, kind)
    tail = 100 * (1 - CONFIDENCE) / 2
    intervals = {}
    for score in scores:
        low, high = (
            np.nanpercentile(values[score], [tail, 100 - tail])
            if np.isfinite(values[score]).any()
            else (np.nan, np.nan)
        )
        intervals[f"{score}_ci_low"], intervals[f"{score}_ci_high"] = float(low), float(high)
    return intervals


def _check_positions(states_path: str | Path, labels_path: str | Path, labels_positions: np.ndarray) -> None:
    states_positions = read_table(states_path, columns=["position"]).column("position").to_numpy()
    if np.array_equal(states_positions, labels_positions):
        return
    common = min(len(states_positions), len(labels_positions))
    differing = np.flatnonzero(states_positions[:common] != labels_positions[:common])
    row = int(differing[0]) if differing.size else common

    def at(positions: np.ndarray) -> str:
        return f"position {positions[row]}" if row < len(positions) else f"no row (it has {len(positions)} rows)"

    raise ValueError(
        f"positions of states {states_path} and labels {labels_path} differ first at row {row}: "
        f"states has {at(states_positions)}, labels has {at(labels_positions)}; "
        "build both files from the same split's token stream"
    )


def _check_disjoint(
    train_states: str | Path,
    test_states: str | Path,
    train_labels: str | Path,
    test_labels: str | Path,
    train_ids: np.ndarray,
    test_ids: np.ndarray,
) -> None:
    """Refuse a probe whose train and test rows are the same rows.

    Positions count from 0 within each file, so rows of the two files cannot be matched by
    position; what keeps them apart is where the files come from: real splits are disjoint
    stretches of the text (:mod:`rnnscope.data`), generated probe-train and probe-test are
    disjoint samples (:mod:`rnnscope.generate`). This catches what would undo that here: one file
    given as both splits, or a test file holding the same token stream as the train file (a copy).
    A test split that is a strict part of the train split is not detected."""
    for name, train, test in (("states", train_states, test_states), ("labels", train_labels, test_labels)):
        if Path(train).resolve() == Path(test).resolve():
            raise ValueError(
                f"train and test {name} are the same file {train}: probe train and test rows would overlap"
            )
    if np.array_equal(train_ids, test_ids):
        raise ValueError(
            f"train states {train_states} and test states {test_states} hold the same {len(train_ids)}-token stream: "
            "probe train and test rows would be the same rows; give the probe two different splits"
        )


def _token_ids(states_path: str | Path) -> np.ndarray:
    return read_table(states_path, columns=["token_id"]).column("token_id").to_numpy()


def _labelled_rows(
    values: pa.ChunkedArray, positions: np.ndarray, kind: HypothesisKind, max_rows: int, seed: int, warmup_tokens: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows at ``positions`` from ``warmup_tokens`` on where ``values`` is defined
    (subsampled to ``max_rows``) and their labels. By position, not row: a spread-sampled file's
    rows are not its positions."""
    rows = np.flatnonzero(values.is_valid().to_numpy(zero_copy_only=False))
    rows = rows[positions[rows] >= warmup_tokens]
    if len(rows) > max_rows:
        # A fresh RNG per hypothesis keeps a hypothesis's sample independent of the others' order.
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_rows, replace=False))
    return rows, values.take(rows).to_numpy(zero_copy_only=False).astype(LABEL_DTYPES[kind])


def _read_targets(
    train_labels: str | Path,
    test_labels: str | Path,
    train_states: str | Path,
    test_states: str | Path,
    settings: ProbeSettings,
) -> tuple[list[_Target], np.ndarray, np.ndarray]:
    """Each hypothesis's target, and the state rows of each split the targets use (file order).

    Label files are read a column at a time: memory follows one column, not the whole table."""
    kinds, test_kinds = read_kinds(train_labels), read_kinds(test_labels)
    if kinds != test_kinds:
        raise ValueError(
            f"hypotheses of {train_labels} ({kinds}) and {test_labels} ({test_kinds}) differ; "
            "label both splits with the same hypotheses"
        )

    def label_column(path: str | Path, name: str) -> pa.ChunkedArray:
        return read_table(path, columns=[name]).column(name)

    train_positions = label_column(train_labels, "position").to_numpy()
    test_positions = label_column(test_labels, "position").to_numpy()
    train_ids, test_ids = _token_ids(train_states), _token_ids(test_states)
    _check_disjoint(train_states, test_states, train_labels, test_labels, train_ids, test_ids)
    _check_positions(train_states, train_labels, train_positions)
    _check_positions(test_states, test_labels, test_positions)
    sampled = []
    for hypothesis, kind in kinds.items():
        train_rows, y_train = _labelled_rows(
            label_column(train_labels, hypothesis),
            train_positions,
            kind,
            settings.max_train_rows,
            settings.seed,
            settings.warmup_tokens,
        )
        test_rows, y_test = _labelled_rows(
            label_column(test_labels, hypothesis),
            test_positions,
            kind,
            settings.max_test_rows,
            settings.seed,
            settings.warmup_tokens,
        )
        sampled.append((hypothesis, kind, train_rows, test_rows, y_train, y_test))
    # Only the rows some probe uses are read from the states: memory follows the row caps, not the split.
    train_read = np.unique(np.concatenate([rows[2] for rows in sampled] + [np.empty(0, np.int64)]))
    test_read = np.unique(np.concatenate([rows[3] for rows in sampled] + [np.empty(0, np.int64)]))
    targets = [
        _Target(
            hypothesis,
            kind,
            np.searchsorted(train_read, train_rows),
            np.searchsorted(test_read, test_rows),
            y_train,
            y_test,
            train_ids[train_rows],
            test_ids[test_rows],
        )
        for hypothesis, kind, train_rows, test_rows, y_train, y_test in sampled
    ]
    return targets, train_read, test_read


def _estimator(kind: HypothesisKind, weighting: str, settings: ProbeSettings) -> LinearRegression | LogisticRegression:
    if kind == "continuous":
        return LinearRegression()
    return LogisticRegression(
        C=settings.C, class_weight=CLASS_WEIGHTS[weighting], max_iter=settings.max_iter, solver=settings.solver
    )


def mdl_blocks(portions: tuple[float, ...], rows: int) -> np.ndarray:
    """Block ends of the online code for ``rows`` rows: ``round(portion * rows)``, at least 1,
    duplicates (few rows) dropped; the last is ``rows``."""
    return np.unique(np.clip(np.round(np.asarray(portions) * rows).astype(np.int64), 1, rows))


def online_codelength(
    x: np.ndarray,
    y: np.ndarray,
    classes: np.ndarray,
    kind: HypothesisKind,
    settings: ProbeSettings,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """(online codelength, uniform codelength) in bits of the labels ``y`` given the states ``x``
    (Voita & Titov 2020), over the alphabet ``classes`` (sorted; K = its size).

    The rows are put in a random order (``rng``) and cut at ``settings.mdl.portions``. The first
    block costs log2 K bits a row; each later block costs -log2 p(y | x) under the plain probe
    fitted on every row before it (the probe's estimator; with ``standardize`` on states scaled
    once with the statistics of all rows, which the receiver of the labels knows). A block whose
    prefix has a single class is sent with the uniform code (no probe can be fitted); where the
    prefix lacks some class, ``MDL_UNSEEN_MIX`` of the uniform code is mixed in so that class
    costs finite bits. The uniform codelength is n log2 K."""
    order = rng.permutation(len(y))
    x, y = np.asarray(x, dtype=np.float64)[order], y[order]
    if settings.standardize:
        # The receiver knows every row's states, only the labels are sent: scaling with the
        # statistics of all rows is fair, and a few-row prefix's scale (a unit nearly constant in
        # 20 rows) would put later rows at z-scores of thousands and cost them thousands of bits.
        x = StandardScaler().fit_transform(x)
    uniform_row = float(np.log2(len(classes)))
    ends = mdl_blocks(settings.mdl.portions, len(y))
    bits = ends[0] * uniform_row
    codes = np.searchsorted(classes, y)
    for start, end in zip(ends[:-1], ends[1:], strict=True):
        seen = np.unique(codes[:start])
        if len(seen) < 2:
            bits += (end - start) * uniform_row
            continue
        estimator = _estimator(kind, "plain", settings)
        with warnings.catch_warnings():
            # an unconverged fit still codes its block; the plain probe reports convergence
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(x[:start], y[:start])
        # log-probabilities from the decision function: a confident probe's predict_proba rounds
        # to exactly 0 or 1 (infinite bits for a wrong row)
        scores = estimator.decision_function(x[start:end])
        if scores.ndim == 1:  # binary: the logit of classes_[1]
            scores = np.column_stack([np.zeros_like(scores), scores])
        log_p = np.full((end - start, len(classes)), -np.inf)
        log_p[:, np.searchsorted(classes, estimator.classes_)] = scores - logsumexp(scores, axis=1, keepdims=True)
        if len(seen) < len(classes):
            with np.errstate(divide="ignore"):
                log_p = np.logaddexp(np.log1p(-MDL_UNSEEN_MIX) + log_p, np.log(MDL_UNSEEN_MIX / len(classes)))
        bits -= float(log_p[np.arange(end - start), codes[start:end]].sum()) / np.log(2)
    return float(bits), len(y) * uniform_row


def _mdl_scores(x_train: np.ndarray, target: _Target, settings: ProbeSettings, key: str) -> dict[str, float]:
    """Online codelength columns of a plain classifier (and of its control task, with ``control``)."""
    classes = np.unique(target.y_train)
    rng = np.random.default_rng([settings.seed, zlib.crc32(f"{key}/mdl".encode())])
    online, uniform = online_codelength(x_train, target.y_train, classes, target.kind, settings, rng)
    scores = {"mdl_online_bits": online, "mdl_uniform_bits": uniform, "mdl_compression": uniform / online}
    if settings.control:
        control_y = target.control_labels(settings.seed)[0]
        rng = np.random.default_rng([settings.seed, zlib.crc32(f"{key}/control_mdl".encode())])
        control_online, _ = online_codelength(x_train, control_y, classes, target.kind, settings, rng)
        scores["control_mdl_compression"] = uniform / control_online
    return scores


def fit_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    kind: HypothesisKind,
    weighting: str,
    settings: ProbeSettings,
) -> ProbeFit:
    """Fit one probe and score it on the test rows."""
    estimator = _estimator(kind, weighting, settings)
    model: BaseEstimator = make_pipeline(StandardScaler(), estimator) if settings.standardize else estimator
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_train, y_train)
    convergence = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    for other in (w for w in caught if not issubclass(w.category, ConvergenceWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    predicted = model.predict(x_test)
    if kind == "continuous":
        metrics = {"r2": r2_score(y_test, predicted)}
        classes = None
    else:
        average, pos_label = ("binary", True) if kind == "binary" else ("macro", 1)
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_test, predicted, average=average, pos_label=pos_label, zero_division=0
        )
        metrics = {
            "accuracy": accuracy_score(y_test, predicted),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "mcc": matthews_corrcoef(y_test, predicted),
        }
        classes = estimator.classes_
    coef = np.atleast_2d(estimator.coef_)
    scaler = model[0] if settings.standardize else None
    return ProbeFit(
        metrics,
        predicted,
        coef,
        np.atleast_1d(estimator.intercept_),
        classes,
        " ".join(convergence[0].splitlines()[:2]) if convergence else None,  # the cause, not the advice
        int(np.max(estimator.n_iter_)) if hasattr(estimator, "n_iter_") else None,
        mean=None if scaler is None else scaler.mean_,
        scale=None if scaler is None else scaler.scale_,
    )


def _control_scores(
    x_train: np.ndarray,
    x_test: np.ndarray,
    target: _Target,
    weighting: str,
    settings: ProbeSettings,
    metrics: dict[str, float],
) -> dict[str, float]:
    """The same probe fitted on control-task labels, and the selectivity of the real probe
    (``control_converged`` False when the control fit hit ``max_iter``).

    When every type drew the same class (a rare positive class and few types), any classifier
    fitted on it predicts that class, so its accuracy is the test share of that class.
    """
    if not settings.control:
        return {}
    y_train, y_test = target.control_labels(settings.seed)
    if target.is_classification:
        classes = np.unique(y_train)
        converged = True
        if len(classes) < 2:
            control = float(np.mean(y_test == classes[0]))
        else:
            fit = fit_probe(x_train, y_train, x_test, y_test, target.kind, weighting, settings)
            control, converged = fit.metrics["accuracy"], fit.convergence_warning is None
        return {
            "control_accuracy": control,
            "selectivity": metrics["accuracy"] - control,
            "control_converged": converged,
        }
    if len(np.unique(y_train)) < 2:
        return {}
    control = fit_probe(x_train, y_train, x_test, y_test, target.kind, weighting, settings).metrics["r2"]
    return {"control_r2": control, "selectivity": metrics["r2"] - control}


def _top_unit(coef: np.ndarray) -> tuple[int, float]:
    """The unit with the largest |weight| over all classes, and that weight with its sign."""
    flat = int(np.abs(coef).argmax())
    row, unit = np.unravel_index(flat, coef.shape)
    return int(unit), float(coef[row, unit])


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with path.open("wb") as handle:  # a handle, because np.savez appends ".npz" to a bare name
        # numpy's stub lets **arrays reach its bool allow_pickle keyword; no array is named so.
        np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]


def _probe_target(
    column: str,
    x_train: np.ndarray,
    x_test: np.ndarray,
    target: _Target,
    skip_reason: str | None,
    settings: ProbeSettings,
    model: str,
    arrays: dict[str, np.ndarray],
) -> list[dict[str, object]]:
    """Metric rows of one state column × hypothesis, one per weighting; adds the weights to ``arrays``."""
    layer, kind = parse_state_column(column)
    rows: list[dict[str, object]] = []
    for weighting in target.weightings(settings):
        row: dict[str, object] = {
            "model": model,
            "layer": layer,
            "kind": kind,
            "hypothesis": target.hypothesis,
            "target_kind": target.kind,
            "weighting": weighting,
            "majority_accuracy": target.majority_accuracy(),
            "n_train": len(target.y_train),
            "n_test": len(target.y_test),
            "n_classes": target.n_classes(),
        }
        if skip_reason:
            rows.append(row | {"status": f"skipped: {skip_reason}"})
            continue
        x_train_rows, x_test_rows = x_train[target.train_rows], x_test[target.test_rows]
        fit = fit_probe(x_train_rows, target.y_train, x_test_rows, target.y_test, target.kind, weighting, settings)
        key = f"{column}/{target.hypothesis}/{weighting}"
        if fit.convergence_warning:
            logger.warning("probe %s: %s", key, fit.convergence_warning)
        top_unit, top_weight = _top_unit(fit.coef)
        # Seeded by the probe's key: reproducible, and independent of the order probes run in.
        rng = np.random.default_rng([settings.seed, zlib.crc32(key.encode())])
        intervals = bootstrap_intervals(target.y_test, fit.predicted, target.kind, settings.bootstrap, rng)
        control = _control_scores(x_train_rows, x_test_rows, target, weighting, settings, fit.metrics)
        if settings.mdl.enabled and target.is_classification and weighting == "plain":
            control |= _mdl_scores(x_train_rows, target, settings, key)
        converged = fit.convergence_warning is None and control.pop("control_converged", True)
        if fit.convergence_warning is None and not converged:
            logger.warning("probe %s: the control-task fit did not converge in %d iterations", key, settings.max_iter)
        rows.append(
            row
            | fit.metrics
            | intervals
            | control
            | {
                "top_unit": top_unit,
                "top_weight": top_weight,
                "n_iter": fit.n_iter,
                "converged": converged,
                "status": "ok",
            }
        )
        arrays[key] = fit.coef
        arrays[f"{key}/intercept"] = fit.intercept
        if fit.mean is not None and fit.scale is not None:
            # Without the train statistics the standardized weights could not be applied to new states.
            arrays[f"{key}/mean"] = fit.mean
            arrays[f"{key}/scale"] = fit.scale
        if fit.classes is not None:
            arrays[f"{key}/classes"] = np.asarray(fit.classes, dtype=bool if target.kind == "binary" else str)
    return rows


def fit_probes(
    train_states: str | Path,
    test_states: str | Path,
    train_labels: str | Path,
    test_labels: str | Path,
    settings: ProbeSettings,
    metrics_csv: str | Path,
    weights_npz: str | Path,
    model: str = "",
) -> pd.DataFrame:
    """Fit a probe per state column × hypothesis × weighting; write metrics CSV and weights npz.

    The CSV has one row per probe (columns ``METRIC_COLUMNS``): ``n_iter`` is the logistic
    regression's solver iteration count (empty for regressions), ``converged`` False when the probe
    or its control-task fit stopped at ``max_iter``. Rows with ``status``
    ``"skipped: <why>"`` for hypotheses with < ``MIN_ROWS`` labelled rows or < 2 classes in a
    split. The npz holds, per fitted probe, ``l{layer}_{kind}/{hypothesis}/{weighting}`` (coef,
    classes × hidden; one row for binary and continuous), ``.../intercept``, for classifiers
    ``.../classes`` (the class order of the coef rows) and, with ``standardize``, ``.../mean``
    and ``.../scale`` (the train statistics: the probe reads ``(x - mean) / scale``). Returns
    the metrics table.
    """
    columns = read_info(train_states).columns
    test_columns = read_info(test_states).columns
    if columns != test_columns:
        raise ValueError(
            f"state columns of {train_states} ({columns}) and {test_states} ({test_columns}) differ; "
            "extract both splits from the same model"
        )
    targets, train_read, test_read = _read_targets(train_labels, test_labels, train_states, test_states, settings)
    skip_reasons = {target.hypothesis: target.skip_reason() for target in targets}
    for hypothesis, reason in skip_reasons.items():
        if reason:
            logger.warning("skipping hypothesis %s: %s", hypothesis, reason)

    rows: list[dict[str, object]] = []
    arrays: dict[str, np.ndarray] = {}
    with threadpool_limits(limits=settings.n_jobs, user_api="blas"):
        for column in columns:
            x_train = read_matrix_rows(train_states, column, train_read)
            x_test = read_matrix_rows(test_states, column, test_read)
            logger.info(
                "probing %s on the %d train / %d test rows the probes sample", column, len(x_train), len(x_test)
            )
            for target in targets:
                rows += _probe_target(
                    column, x_train, x_test, target, skip_reasons[target.hypothesis], settings, model, arrays
                )

    table = pd.DataFrame(rows, columns=METRIC_COLUMNS).astype(
        {
            "layer": "int64",
            "top_unit": "Int64",
            "top_weight": "float64",
            "n_classes": "Int64",
            "n_iter": "Int64",
            "converged": "boolean",
        }
        | dict.fromkeys(SCORE_COLUMNS, "float64")
    )
    write_atomically(weights_npz, lambda partial: _save_npz(partial, arrays))
    write_atomically(metrics_csv, lambda partial: table.to_csv(partial, index=False))
    logger.info("wrote %d probe rows to %s and %d arrays to %s", len(table), metrics_csv, len(arrays), weights_npz)
    return table
