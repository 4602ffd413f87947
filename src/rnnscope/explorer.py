"""An interactive RNNVis-style explorer of a results folder, as a static site (issue 14).

``build_explorer`` reads what the cluster, rnnvis, probe and neurons stages wrote and writes
``<out>/index.html`` with its data as JavaScript files (``data/*.js``, each setting a global) and
the vendored D3 (``d3.min.js`` + ``D3-LICENSE``). Data travels as ``<script>`` files, not JSON
read with ``fetch()``: Chromium refuses ``fetch`` of ``file://`` URLs, and the site must open from
a file with no server and no network. Floats are rounded to ``DIGITS`` significant digits.

Views per analysed (model, state column): main view (memory chips, word clouds, co-clustering
edges), detail view (a unit's or a word's sorted responses with the 25-75 / 9-91 % bands and POS
tags), sequence view (glyphs of the configured sentences); comparisons of model pairs (ARI/AMI);
the probe table; the most responsible neuron's activation over held-out text.

``serve`` (``python -m rnnscope.explorer serve RESULTS``) serves the same site from 127.0.0.1
with one endpoint, ``/api/glyphs?model=&column=&text=``, running the trained model on a typed
sentence and answering its glyph data (HTTP 400 with ``{"error": ...}`` for bad input).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

DIGITS = 4  # significant digits of every float written for the browser
STATIC_FILES = ("index.html", "explorer.js", "explorer.css", "d3.min.js", "D3-LICENSE", "live.js")
COLUMN_PATTERN = re.compile(r"^l(\d+)_([a-z])$")
CHIP_WORDS = 8  # top positive / negative words listed for a clicked chip
MAX_SENTENCE_CHARS = 300  # length cap of a sentence typed in live mode
PROBE_COLUMNS = [
    "model",
    "dataset",
    "cell",
    "text",
    "states",
    "seed",
    "layer",
    "kind",
    "hypothesis",
    "target_kind",
    "weighting",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "f1",
    "f1_ci_low",
    "f1_ci_high",
    "r2",
    "r2_ci_low",
    "r2_ci_high",
    "majority_accuracy",
    "control_accuracy",
    "selectivity",
    "mcc",
    "mdl_compression",
    "control_mdl_compression",
    "top_unit",
    "n_test",
    "converged",
    "status",
]


def round_floats(value: Any, digits: int = DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits; NaN and inf become None."""
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return float(f"{number:.{digits}g}")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return round_floats(value.tolist(), digits)
    if isinstance(value, Mapping):
        return {str(key): round_floats(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [round_floats(item, digits) for item in value]
    return value


def js_assignment(target: str, value: Any) -> str:
    """A script that sets ``target`` (a global path such as ``RNNSCOPE_VIEWS["a/b"]``) to ``value``."""
    text = json.dumps(round_floats(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "</" inside a string would end an inline script; in a .js file it is harmless, but escape anyway
    text = text.replace("</", "<\\/")
    return f"{target} = {text};\n"


@dataclass(frozen=True)
class ViewSource:
    """Where one (model, state column) view's files are in a results folder."""

    model: str
    column: str
    cluster_dir: Path
    rnnvis_dir: Path

    @property
    def id(self) -> str:
        return f"{self.model}/{self.column}"

    @property
    def file_stem(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{self.model}__{self.column}")


@dataclass
class ExplorerSettings:
    """What the run used (config ``cluster`` and ``rnnvis``), shown in the views.

    Values left None are read from the files (the co-clustering mode from edges.md's caption)."""

    mode: str | None = None
    n_clusters: int | None = None
    min_count: int | None = None
    link_filter: float = 0.2
    words_per_cluster: int = 10
    models: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> checkpoint, vocab (relative to results)
    # What to show (the rule passes the config's lists); None: whatever the folder holds.
    views: list[tuple[str, str]] | None = None  # (model, state column)
    comparisons: list[tuple[str, str, str]] | None = None  # (model a, model b, state column)
    neurons: list[tuple[str, str]] | None = None  # (model, hypothesis)


def find_views(results: Path, wanted: Sequence[Sequence[str]] | None = None) -> list[ViewSource]:
    """Every (model, column) with the cluster stage's four tables, in name order; or the ``wanted``
    ones, each of which must have them."""
    if wanted is not None:
        views = [
            ViewSource(model, column, results / "cluster" / model / column, results / "rnnvis" / model / column)
            for model, column in wanted
        ]
        for view in views:
            missing = [
                name
                for name in ("responses.parquet", "word_clusters.csv", "unit_clusters.csv", "edges.csv")
                if not (view.cluster_dir / name).is_file()
            ]
            if missing:
                raise ValueError(f"{view.cluster_dir} lacks {missing}; run the cluster stage for {view.id}")
        return views
    views = []
    for responses in sorted((results / "cluster").glob("*/*/responses.parquet")):
        folder = responses.parent
        if not COLUMN_PATTERN.match(folder.name):
            continue
        if all((folder / name).is_file() for name in ("word_clusters.csv", "unit_clusters.csv", "edges.csv")):
            views.append(
                ViewSource(
                    folder.parent.name, folder.name, folder, results / "rnnvis" / folder.parent.name / folder.name
                )
            )
    return views


def read_words(path: Path) -> pd.DataFrame:
    """A CSV whose ``token`` column may hold 'NA', 'null' or whitespace: read tokens verbatim."""
    return pd.read_csv(path, keep_default_na=False, na_values={"token": []}, dtype={"token": str})


def caption_mode(edges_csv: Path) -> str | None:
    """The co-clustering mode named in edges.md's caption ("..., absolute mode. ..."), if any."""
    caption = edges_csv.with_suffix(".md")
    if not caption.is_file():
        return None
    found = re.search(r"\b(positive|negative|absolute|raw) mode\b", caption.read_text(encoding="utf-8"))
    return found.group(1) if found else None


def view_data(source: ViewSource, settings: ExplorerSettings) -> dict[str, Any]:
    """Everything the model views draw for one (model, column)."""
    from rnnscope.responses import RESPONSE_METADATA_COLUMNS

    words = read_words(source.cluster_dir / "word_clusters.csv")
    units = pd.read_csv(source.cluster_dir / "unit_clusters.csv").sort_values("unit")
    unit_labels = units["cluster"].to_numpy()
    edges_long = pd.read_csv(source.cluster_dir / "edges.csv")
    n_clusters = int(max(edges_long["word_cluster"].max(), edges_long["unit_cluster"].max())) + 1
    edges = np.full((n_clusters, n_clusters), np.nan)
    edges[edges_long["word_cluster"], edges_long["unit_cluster"]] = edges_long["strength"]
    if settings.n_clusters is not None and settings.n_clusters != n_clusters:
        log.warning(
            "%s: edges.csv has %d clusters, the config %d; showing the files' %d",
            source.id,
            n_clusters,
            settings.n_clusters,
            n_clusters,
        )

    table = pd.read_parquet(source.cluster_dir / "responses.parquet")
    table["token"] = table["token"].astype(str)
    unit_columns = [name for name in table.columns if name not in RESPONSE_METADATA_COLUMNS]
    if len(unit_columns) != len(units):
        raise ValueError(
            f"{source.cluster_dir}: responses.parquet has {len(unit_columns)} units, unit_clusters.csv {len(units)}"
        )
    matrix = table[unit_columns].to_numpy(dtype=np.float64)
    row_of = {token: row for row, token in enumerate(table["token"])}
    missing = [token for token in words["token"] if token not in row_of]
    if missing:
        raise ValueError(
            f"{source.cluster_dir}: tokens {missing[:5]} of word_clusters.csv are not in responses.parquet"
        )

    pos = {}
    if (source.rnnvis_dir / "pos.csv").is_file():
        pos_table = read_words(source.rnnvis_dir / "pos.csv")
        pos = dict(zip(pos_table["token"], pos_table["pos"].fillna("").astype(str), strict=True))

    glyphs = glyph_data(source.rnnvis_dir / "glyphs.csv", n_clusters)
    # Tokens with a response: the word clouds' first, then the glyph sentences' (hovering a sentence
    # token colours the chips too when the token is frequent enough to have a response).
    tokens = list(words["token"])
    for sentence in glyphs:
        tokens += [token for token in sentence["tokens"] if token in row_of and token not in tokens]
    response = matrix[[row_of[token] for token in tokens]]

    chips = []
    for k in range(n_clusters):
        members = np.flatnonzero(unit_labels == k)
        mean = matrix[:, members].mean(axis=1) if len(members) else np.zeros(len(matrix))
        order = np.argsort(-mean, kind="stable")
        positive = [[table["token"].iat[i], mean[i]] for i in order[:CHIP_WORDS] if mean[i] > 0]
        negative = [[table["token"].iat[i], mean[i]] for i in order[::-1][:CHIP_WORDS] if mean[i] < 0]
        chips.append({"cluster": k, "units": members.tolist(), "top_positive": positive, "top_negative": negative})

    unit_top: dict[str, dict[str, list]] = {}
    if (source.cluster_dir / "top_tokens.csv").is_file():
        top = read_words(source.cluster_dir / "top_tokens.csv")
        for (unit, sign), rows in top.groupby(["unit", "sign"], sort=True):
            unit_top.setdefault(str(unit), {})[str(sign)] = rows.sort_values("rank")[
                ["token", "response"]
            ].values.tolist()

    bands: dict[str, Any] = {}
    if (source.cluster_dir / "bands.parquet").is_file():
        band_table = pd.read_parquet(source.cluster_dir / "bands.parquet")
        for token, rows in band_table.groupby("token", sort=False):
            rows = rows.sort_values("unit")
            bands[str(token)] = {
                "count": int(rows["count"].to_numpy()[0]),
                "samples": int(rows["samples"].to_numpy()[0]),
                **{name: rows[name].to_numpy() for name in ("response", "p9", "p25", "p50", "p75", "p91")},
            }

    layer, kind = COLUMN_PATTERN.match(source.column).groups()  # type: ignore[union-attr]
    return {
        "id": source.id,
        "model": source.model,
        "column": source.column,
        "layer": int(layer),
        "kind": kind,
        "units": len(units),
        "n_clusters": n_clusters,
        "mode": settings.mode or caption_mode(source.cluster_dir / "edges.csv") or "unknown",
        "min_count": settings.min_count,
        "responses_tokens": len(table),
        "link_filter": settings.link_filter,
        "words_per_cluster": settings.words_per_cluster,
        "unit_cluster": unit_labels.tolist(),
        "tokens": tokens,
        "counts": table["count"].to_numpy()[[row_of[token] for token in tokens]].astype(int).tolist(),
        "word_cluster": words["cluster"].astype(int).tolist(),  # for tokens[:len(word_cluster)]
        "pos": [pos.get(token, "") for token in tokens],
        "response": response,
        "edges": edges,
        "chips": chips,
        "unit_top": unit_top,
        "bands": bands,
        "glyphs": glyphs,
    }


GLYPH_FIELDS = ("alpha_pos", "alpha_neg", "delta_alpha_pos", "delta_alpha_neg", "preserved")


def glyph_sentence(sentence: str, tokens: Sequence[str], table: pd.DataFrame, n_clusters: int) -> dict[str, Any]:
    """One sentence's glyphs: per step, per cluster [α+, α−, Δα+, Δα−, β/(α+−α−)] (raw sums), and |H_i|."""
    steps = len(tokens)
    values = np.full((steps, n_clusters, len(GLYPH_FIELDS)), np.nan)
    values[table["step"].to_numpy(), table["cluster"].to_numpy()] = table[list(GLYPH_FIELDS)].to_numpy(dtype=np.float64)
    sizes = np.zeros(n_clusters, dtype=int)
    first = table[table["step"] == 0]
    sizes[first["cluster"].to_numpy()] = first["size"].to_numpy()
    return {
        "sentence": sentence,
        "tokens": list(tokens),
        "sizes": sizes.tolist(),
        "fields": list(GLYPH_FIELDS),
        "steps": values,
    }


def glyph_data(glyphs_csv: Path, n_clusters: int) -> list[dict[str, Any]]:
    if not glyphs_csv.is_file():
        return []
    table = pd.read_csv(
        glyphs_csv,
        keep_default_na=False,
        na_values={name: [""] for name in GLYPH_FIELDS},
        dtype={"token": str, "sentence": str},
    )
    sentences = []
    for _, rows in table.groupby("sentence_index", sort=True):
        tokens = rows.drop_duplicates("step").sort_values("step")["token"].tolist()
        sentences.append(glyph_sentence(str(rows["sentence"].iat[0]), tokens, rows, n_clusters))
    return sentences


def comparison_data(results: Path, wanted: Sequence[Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """Every compared pair and column (or the ``wanted`` ones): the ARI/AMI summary and the word-cluster overlap."""
    pairs = []
    compare = results / "rnnvis" / "compare"
    paths = (
        sorted(compare.glob("*__*/*/summary.csv"))
        if wanted is None
        else [compare / f"{a}__{b}" / column / "summary.csv" for a, b, column in wanted]
    )
    for summary_csv in paths:
        summary = pd.read_csv(summary_csv).iloc[0].to_dict()
        overlap_csv = summary_csv.with_name("word_cluster_overlap.csv")
        overlap = pd.read_csv(overlap_csv, keep_default_na=False).to_dict("records") if overlap_csv.is_file() else []
        a, b = summary_csv.parent.parent.name.split("__", 1)
        column = summary_csv.parent.name
        pairs.append(
            {
                "a": a,
                "b": b,
                "column": column,
                "view_a": f"{a}/{column}",
                "view_b": f"{b}/{column}",
                "summary": summary,
                "overlap": overlap,
            }
        )
    return pairs


def probe_data(results: Path) -> dict[str, Any]:
    """results/tables/probes.csv as columns + rows (the columns the table shows)."""
    path = results / "tables" / "probes.csv"
    if not path.is_file():
        return {"columns": [], "rows": [], "source": None}
    table = pd.read_csv(path)
    columns = [name for name in PROBE_COLUMNS if name in table.columns]
    table = table[columns].astype(object).where(table[columns].notna(), None)
    return {"columns": columns, "rows": table.values.tolist(), "source": "results/tables/probes.csv"}


def neuron_data(results: Path, wanted: Sequence[Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """The most responsible neurons' activations over held-out text (rule neurons' heatmap.json)."""
    shown = []
    paths = (
        sorted((results / "neurons").glob("*/*/heatmap.json"))
        if wanted is None
        else [results / "neurons" / m / h / "heatmap.json" for m, h in wanted]
    )
    for path in paths:
        shown.append(json.loads(path.read_text(encoding="utf-8")))
    return shown


def static_folder() -> Path:
    return Path(str(resources.files("rnnscope") / "explorer_static"))


def build_explorer(results: str | Path, out: str | Path, settings: ExplorerSettings | None = None) -> dict[str, Any]:
    """Write the explorer of the results folder ``results`` into ``out``; return a summary of it
    (views, comparisons, probe rows, neurons, bytes written)."""
    started = time.perf_counter()
    results, out = Path(results), Path(out)
    settings = settings or ExplorerSettings()
    sources = find_views(results, settings.views)
    if not sources:
        raise ValueError(
            f"{results} holds no co-clustered view (results/cluster/<model>/<layer>_<kind>/ with responses.parquet, "
            "word_clusters.csv, unit_clusters.csv, edges.csv); run the cluster stage first"
        )
    data_dir = out / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    views = []
    for source in sources:
        data = view_data(source, settings)
        path = data_dir / f"view_{source.file_stem}.js"
        path.write_text(js_assignment(f'window.RNNSCOPE_VIEWS["{source.id}"]', data), encoding="utf-8")
        views.append(
            {
                "id": source.id,
                "model": source.model,
                "column": source.column,
                "layer": data["layer"],
                "kind": data["kind"],
                "units": data["units"],
                "n_clusters": data["n_clusters"],
                "mode": data["mode"],
                "file": f"data/{path.name}",
                "sentences": len(data["glyphs"]),
            }
        )
        log.info(
            "view %s: %d tokens, %d units, %d KB",
            source.id,
            len(data["tokens"]),
            data["units"],
            path.stat().st_size // 1024,
        )
    comparisons = comparison_data(results, settings.comparisons)
    probes = probe_data(results)
    neurons = neuron_data(results, settings.neurons)
    index = {
        "views": views,
        "comparisons": comparisons,
        "probe_rows": len(probes["rows"]),
        "neurons": len(neurons),
        "max_sentence_chars": MAX_SENTENCE_CHARS,
    }
    (data_dir / "index.js").write_text(
        "window.RNNSCOPE_VIEWS = {};\n" + js_assignment("window.RNNSCOPE_INDEX", index), encoding="utf-8"
    )
    (data_dir / "probes.js").write_text(js_assignment("window.RNNSCOPE_PROBES", probes), encoding="utf-8")
    (data_dir / "neurons.js").write_text(js_assignment("window.RNNSCOPE_NEURONS", neurons), encoding="utf-8")
    # Which checkpoint and vocabulary each model's live glyphs run (read by serve, never by the page).
    (out / "models.json").write_text(json.dumps(live_models(results, [v["model"] for v in views], settings), indent=1))
    static = static_folder()
    for name in STATIC_FILES:
        shutil.copyfile(static / name, out / name)
    # One row per view: what the Snakemake report lists beside its link to index.html.
    pd.DataFrame(
        [
            {
                **{k: v for k, v in view.items() if k != "file"},
                "kb": round((out / view["file"]).stat().st_size / 1e3, 1),
            }
            for view in views
        ]
    ).to_csv(out / "views.csv", index=False)
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    log.info(
        "explorer of %s: %d views, %d comparisons, %d probe rows, %d neurons, %.2f MB in %.1f s -> %s",
        results,
        len(views),
        len(comparisons),
        len(probes["rows"]),
        len(neurons),
        size / 1e6,
        time.perf_counter() - started,
        out,
    )
    return {**index, "bytes": size}


def live_models(results: Path, models: Sequence[str], settings: ExplorerSettings) -> dict[str, dict[str, str]]:
    """model -> checkpoint and vocab paths (relative to ``results``' parent) for live glyphs.

    The rule passes them (settings.models); for a folder made elsewhere they are guessed: the
    checkpoint under train/ or sentiment/, and the one vocabulary whose size matches it."""
    found: dict[str, dict[str, str]] = {}
    base = results.parent
    vocabularies = sorted(results.glob("data/*/vocab.json")) + sorted(results.glob("sentiment/data/vocab.json"))
    for model in dict.fromkeys(models):
        if model in settings.models:
            found[model] = dict(settings.models[model])
            continue
        for checkpoint in (results / "train" / model / "model.pt", results / "sentiment" / model / "model.pt"):
            if not checkpoint.is_file():
                continue
            try:
                import torch

                size = torch.load(checkpoint, map_location="cpu", weights_only=True)["model_config"]["vocab_size"]
            except Exception as error:  # a corrupt checkpoint only disables live mode for the model
                log.warning("live mode: cannot read %s: %s", checkpoint, error)
                break
            matching = [
                path for path in vocabularies if len(json.loads(path.read_text(encoding="utf-8"))["tokens"]) == size
            ]
            if matching:
                found[model] = {
                    "checkpoint": str(checkpoint.relative_to(base)),
                    "vocab": str(matching[0].relative_to(base)),
                }
            break
    return found


# --- live mode ----------------------------------------------------------------------------------


class BadInput(ValueError):
    """A live request the explorer answers with HTTP 400 and this message."""


@dataclass
class LiveModel:
    model: Any
    vocab: list[str]
    index: dict[str, int]
    characters: bool
    lock: threading.Lock = field(default_factory=threading.Lock)


class LiveGlyphs:
    """Runs trained models on typed sentences for the explorer's live sequence view."""

    def __init__(self, results: Path, models: Mapping[str, Mapping[str, str]]) -> None:
        self.results = Path(results)
        self.models = dict(models)
        self._loaded: dict[str, LiveModel] = {}

    def _load(self, name: str) -> LiveModel:
        if name not in self._loaded:
            from rnnscope.glyphs import vocab_is_characters
            from rnnscope.models import load_model
            from rnnscope.text import load_vocab

            spec = self.models[name]
            model, _ = load_model(self.results.parent / spec["checkpoint"])
            vocab = load_vocab(self.results.parent / spec["vocab"])
            self._loaded[name] = LiveModel(
                model, vocab, {t: i for i, t in enumerate(vocab)}, vocab_is_characters(vocab)
            )
        return self._loaded[name]

    def tokenize(self, live: LiveModel, text: str) -> tuple[list[str], list[bool]]:
        """Tokens the model reads and which were unknown (mapped to <unk>); BadInput when it cannot read them."""
        from rnnscope.glyphs import UNKNOWN

        if live.characters:
            outside = sorted({char for char in text if char not in live.index})
            if outside:
                raise BadInput(
                    f"character(s) {', '.join(repr(c) for c in outside)} are outside this character model's vocabulary "
                    f"of {len(live.vocab)} characters; remove them"
                )
            return list(text), [False] * len(text)
        words = text.split()
        unknown = [word not in live.index for word in words]
        if any(unknown) and UNKNOWN not in live.index:
            raise BadInput(
                f"word(s) {sorted({w for w, u in zip(words, unknown, strict=True) if u})} are not in the vocabulary, which has no {UNKNOWN}"
            )
        return [UNKNOWN if u else word for word, u in zip(words, unknown, strict=True)], unknown

    def glyphs(self, model: str, column: str, text: str) -> dict[str, Any]:
        """The glyph data of ``text`` for (model, column), as in a view's ``glyphs`` list, plus which tokens were unknown."""
        import torch

        from rnnscope.extract import chunk_states, layer_modules, resolve_kinds
        from rnnscope.glyphs import glyph_quantities

        if model not in self.models:
            raise BadInput(f"unknown model {model!r}; live models: {', '.join(sorted(self.models)) or 'none'}")
        match = COLUMN_PATTERN.match(column or "")
        units_csv = self.results / "cluster" / model / column / "unit_clusters.csv"
        if not match or not units_csv.is_file():
            raise BadInput(f"model {model!r} has no co-clustered state column {column!r}")
        if not text or not text.strip():
            raise BadInput("the sentence is empty; type a few words")
        if len(text) > MAX_SENTENCE_CHARS:
            raise BadInput(f"the sentence has {len(text)} characters; the limit is {MAX_SENTENCE_CHARS}")
        live = self._load(model)
        tokens, unknown = self.tokenize(live, text)
        labels = pd.read_csv(units_csv).sort_values("unit")["cluster"].to_numpy()
        layer, kind = int(match.group(1)), match.group(2)
        if layer >= live.model.config.layers:
            raise BadInput(f"model {model!r} has {live.model.config.layers} layers; no layer {layer}")
        with live.lock, torch.no_grad():
            ids = torch.tensor([live.index[token] for token in tokens], dtype=torch.long)
            kinds = resolve_kinds(live.model.config.cell, [kind])
            states, _ = chunk_states(
                live.model, layer_modules(live.model), ids, [None] * live.model.config.layers, kinds
            )
        n_clusters = int(labels.max()) + 1
        table = glyph_quantities(states[column], labels, n_clusters)
        return round_floats({**glyph_sentence(text, tokens, table, n_clusters), "unknown": unknown})


def make_handler(site: Path, live: LiveGlyphs) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
            log.info("%s %s", self.address_string(), format % args)

        def _json(self, status: int, payload: Any) -> None:
            body = json.dumps(payload, allow_nan=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # the stdlib's name
            url = urlparse(self.path)
            if url.path == "/live.js":
                body = js_assignment(
                    "window.RNNSCOPE_LIVE", {"models": sorted(live.models), "max_chars": MAX_SENTENCE_CHARS}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)
                return
            if url.path == "/api/glyphs":
                query = parse_qs(url.query, keep_blank_values=True)
                try:
                    answer = live.glyphs(
                        query.get("model", [""])[0], query.get("column", [""])[0], query.get("text", [""])[0]
                    )
                except BadInput as error:
                    self._json(400, {"error": str(error)})
                    return
                except Exception as error:  # the server keeps serving; the page shows the message
                    log.exception("live glyphs failed")
                    self._json(500, {"error": f"the model failed on this sentence: {error}"})
                    return
                self._json(200, answer)
                return
            super().do_GET()

    return Handler


def serve(
    results: str | Path, site: str | Path | None = None, port: int = 8000, build: bool = True
) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:``port`` (0: any free port) serving the explorer of ``results``
    (built into ``site``, default ``results/explorer``, when ``build`` or when missing) with live
    glyphs. The caller runs ``serve_forever()``."""
    results = Path(results)
    site = Path(site) if site else results / "explorer"
    if build or not (site / "index.html").is_file():
        build_explorer(results, site)
    models = json.loads((site / "models.json").read_text()) if (site / "models.json").is_file() else {}
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(site, LiveGlyphs(results, models)))
    return server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rnnscope.explorer",
        description="Build the interactive explorer of a results folder (static site), or serve it with live glyphs.",
    )
    parser.add_argument(
        "command", nargs="?", choices=["build", "serve"], default="build", help="build (default) or serve"
    )
    parser.add_argument("results", help="the results folder (holds cluster/, rnnvis/, tables/ ...)")
    parser.add_argument("--out", help="where the site goes (default RESULTS/explorer)")
    parser.add_argument("--port", type=int, default=8000, help="serve: port on 127.0.0.1 (default 8000)")
    parser.add_argument(
        "--no-build", action="store_true", help="serve: reuse an existing site instead of rebuilding it"
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    results = Path(arguments.results)
    out = Path(arguments.out) if arguments.out else results / "explorer"
    if arguments.command == "build":
        summary = build_explorer(results, out)
        print(f"wrote {out / 'index.html'} ({len(summary['views'])} views, {summary['bytes'] / 1e6:.2f} MB)")
        return
    server = serve(results, out, arguments.port, build=not arguments.no_build)
    print(f"explorer of {results} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
