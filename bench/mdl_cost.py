"""What the online codelength (probe.mdl) adds to one plain probe: timing at the default row cap.

Synthetic states (``--rows`` train rows x ``--units`` units, float32: tanh of a random mixture of
``--signal`` latent directions plus noise, so units are correlated and some saturate) and a
binary label read off one latent direction (33 % positive) or a 4-class one.
Times, at the default probe settings (standardised, lbfgs, C = 1, max_iter 300, one BLAS thread):
the plain probe's fit and scoring on ``--rows // 2`` test rows, the online codelength of the real
labels, and that of control-task labels (one random label per token type, 50 types), each the
median of ``--runs`` runs. Not part of the tests or of bench/run.py (it measures a setting).

    nice -n 19 .venv/bin/python bench/mdl_cost.py [--rows 20000 --units 128 --runs 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from rnnscope.probes import MdlSettings, ProbeSettings, control_labels, fit_probe, online_codelength


def timed(run: Callable[[], object], runs: int) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--signal", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = ProbeSettings(
        max_train_rows=args.rows,
        max_test_rows=args.rows,
        max_iter=300,
        C=1.0,
        seed=0,
        weightings=("plain",),
        standardize=True,
        n_jobs=1,
        mdl=MdlSettings(enabled=True),
    )
    rng = np.random.default_rng(0)
    rows = args.rows + args.rows // 2
    types = rng.integers(50, size=rows)
    latent = rng.normal(size=(rows, args.signal))
    labels = {
        "binary": latent[:, 0] + 0.5 * rng.normal(size=rows) > 0.5,
        "categorical": np.array(list("abcd"))[np.argmax(latent + rng.normal(size=latent.shape), axis=1) % 4],
    }
    mixing = rng.normal(size=(args.signal, args.units)) / np.sqrt(args.signal)
    # correlated units (a few latent directions, saturating), as hidden states are
    states = np.tanh(1.5 * latent @ mixing + 0.3 * rng.normal(size=(rows, args.units))).astype(np.float32)
    x_train, x_test = states[: args.rows], states[args.rows :]
    print(f"{args.rows} train rows x {args.units} units, {len(x_test)} test rows, median of {args.runs} runs")
    with threadpool_limits(limits=1, user_api="blas"):
        for kind, y in labels.items():
            y_train, y_test = y[: args.rows], y[args.rows :]
            classes = np.unique(y_train)
            fit_s, fit = timed(partial(fit_probe, x_train, y_train, x_test, y_test, kind, "plain", settings), args.runs)
            code = partial(online_codelength, x_train, classes=classes, kind=kind, settings=settings)
            mdl_s, (online, uniform) = timed(partial(code, y=y_train, rng=np.random.default_rng(1)), args.runs)
            control_y = control_labels(types[: args.rows], types[args.rows :], y_train, 0, kind)[0]
            control_s, (control_online, _) = timed(partial(code, y=control_y, rng=np.random.default_rng(2)), args.runs)
            print(
                f"{kind}: plain fit {fit_s:.2f} s (accuracy {fit.metrics['accuracy']:.3f}, {fit.n_iter} iterations); "
                f"online code {mdl_s:.2f} s (compression {uniform / online:.2f}), "
                f"control online code {control_s:.2f} s (compression {uniform / control_online:.2f}); "
                f"MDL adds {(mdl_s + control_s) / fit_s:.1f}x the plain fit"
            )


if __name__ == "__main__":
    main()
