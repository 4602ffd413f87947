"""The interactive explorer (rnnscope.explorer): the data it writes, the live endpoint, and the
page in a real browser (skipped, saying why, without Playwright or Chromium)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from explorer_browser import check_explorer_site, check_live_page
from explorer_results import CHARS, MODELS, SENTENCES, make_results
from rnnscope.explorer import MAX_SENTENCE_CHARS, ExplorerSettings, build_explorer, main, round_floats, serve

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "explorer"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("explorer") / "results")


@pytest.fixture(scope="module")
def site(results: Path) -> Path:
    build_explorer(results, results / "explorer")
    return results / "explorer"


def read_global(path: Path) -> Any:
    """The value a data script's last line assigns (``name = {...};``; JSON holds no raw newline)."""
    text = path.read_text(encoding="utf-8").strip().splitlines()[-1]
    return json.loads(text[text.index(" = ") + 3 : text.rstrip().rindex(";")])


def view_file(site: Path, view_id: str) -> dict[str, Any]:
    index = read_global(site / "data" / "index.js")
    entry = next(view for view in index["views"] if view["id"] == view_id)
    return read_global(site / entry["file"])


def test_round_floats_keeps_four_significant_digits() -> None:
    assert round_floats({"a": [0.123456, 12345.678, float("nan"), np.float32(1e-7 / 3)], "b": np.int64(3)}) == {
        "a": [0.1235, 12350.0, None, 3.333e-08],
        "b": 3,
    }


def test_site_files_and_no_outside_references(site: Path) -> None:
    for name in (
        "index.html",
        "explorer.js",
        "explorer.css",
        "d3.min.js",
        "D3-LICENSE",
        "live.js",
        "views.csv",
        "data/index.js",
        "data/probes.js",
        "data/neurons.js",
    ):
        assert (site / name).is_file(), name
    assert "Mike Bostock" in (site / "D3-LICENSE").read_text()
    views = pd.read_csv(site / "views.csv")
    assert len(views) == 6 and {"id", "units", "n_clusters", "mode", "kb"} <= set(views.columns)
    html = (site / "index.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references and all(
        not re.match(r"[a-z]+://|//", ref) for ref in references if not ref.startswith("data:")
    ), references
    assert "fetch(" not in (site / "explorer.js").read_text().split("function setupLive")[0], (
        "static views never fetch (file:// blocks it)"
    )


def test_every_view_with_its_responses_and_clusters(results: Path, site: Path) -> None:
    index = read_global(site / "data" / "index.js")
    assert [view["id"] for view in index["views"]] == sorted(f"{m}/{c}" for m in MODELS for c in ("l0_h", "l1_h"))
    for entry in index["views"]:
        data = read_global(site / entry["file"])
        folder = results / "cluster" / entry["model"] / entry["column"]
        words = pd.read_csv(folder / "word_clusters.csv", keep_default_na=False, dtype={"token": str})
        units = pd.read_csv(folder / "unit_clusters.csv")
        assert data["tokens"][: len(words)] == words["token"].tolist()
        assert data["word_cluster"] == words["cluster"].tolist()
        assert data["unit_cluster"] == units.sort_values("unit")["cluster"].tolist()
        assert data["mode"] == "absolute" and data["n_clusters"] == 3 and entry["n_clusters"] == 3
        table = pd.read_parquet(folder / "responses.parquet").set_index("token")
        expected = table.loc[data["tokens"], [f"u{u}" for u in range(data["units"])]].to_numpy()
        np.testing.assert_allclose(np.array(data["response"], dtype=float), expected, rtol=5e-4, atol=1e-12)
        assert data["counts"] == table.loc[data["tokens"], "count"].tolist()
        edges = pd.read_csv(folder / "edges.csv")
        np.testing.assert_allclose(
            [data["edges"][r.word_cluster][r.unit_cluster] for r in edges.itertuples()], edges["strength"], rtol=5e-4
        )
        # a chip's top words: largest mean response over its units, among every token with a response
        for chip in data["chips"]:
            mean = table[[f"u{u}" for u in chip["units"]]].mean(axis=1)
            if chip["top_positive"]:
                assert chip["top_positive"][0][0] == mean.idxmax()
            if chip["top_negative"]:
                assert chip["top_negative"][0][0] == mean.idxmin()
        bands = pd.read_parquet(folder / "bands.parquet")
        assert sorted(data["bands"]) == sorted(set(bands["token"]))
        for token, rows in bands.groupby("token"):
            np.testing.assert_allclose(
                data["bands"][token]["p25"], rows.sort_values("unit")["p25"], rtol=5e-4, atol=1e-12
            )
        pos = pd.read_csv(
            results / "rnnvis" / entry["model"] / entry["column"] / "pos.csv",
            keep_default_na=False,
            dtype={"token": str},
        )
        assert data["pos"][: len(pos)] == pos["pos"].tolist()
        glyphs = pd.read_csv(
            results / "rnnvis" / entry["model"] / entry["column"] / "glyphs.csv",
            keep_default_na=False,
            dtype={"token": str},
        )
        kind = "char" if MODELS[entry["model"]][1] == "chars" else "word"
        assert [sentence["sentence"] for sentence in data["glyphs"]] == SENTENCES[kind]
        for number, sentence in enumerate(data["glyphs"]):
            rows = glyphs[glyphs["sentence_index"] == number]
            assert sentence["tokens"] == rows.drop_duplicates("step")["token"].tolist()
            np.testing.assert_allclose(
                [sentence["steps"][r.step][r.cluster][0] for r in rows.itertuples()],
                rows["alpha_pos"],
                rtol=5e-4,
                atol=1e-12,
            )


def test_comparisons_probes_and_neurons(results: Path, site: Path) -> None:
    index = read_global(site / "data" / "index.js")
    assert [(c["a"], c["b"], c["column"]) for c in index["comparisons"]] == [
        ("char_lstm", "char_gru", "l0_h"),
        ("char_lstm", "char_gru", "l1_h"),
    ]
    summary = pd.read_csv(results / "rnnvis" / "compare" / "char_lstm__char_gru" / "l0_h" / "summary.csv").iloc[0]
    assert index["comparisons"][0]["summary"]["adjusted_rand"] == pytest.approx(summary["adjusted_rand"], rel=5e-4)
    probes = read_global(site / "data" / "probes.js")
    table = pd.read_csv(results / "tables" / "probes.csv")
    assert (
        len(probes["rows"]) == len(table)
        and "f1_ci_low" in probes["columns"]
        and "majority_accuracy" in probes["columns"]
    )
    f1 = probes["columns"].index("f1")
    assert [row[f1] for row in probes["rows"]] == [round_floats(v) if not np.isnan(v) else None for v in table["f1"]]
    neurons = read_global(site / "data" / "neurons.js")
    assert [(n["model"], n["hypothesis"]) for n in neurons] == [("char_lstm", "inside_word")]


def test_live_models_guessed_for_a_folder_made_elsewhere(site: Path) -> None:
    models = json.loads((site / "models.json").read_text())
    assert models["char_lstm"] == {
        "checkpoint": "results/train/char_lstm/model.pt",
        "vocab": "results/data/chars/vocab.json",
    }
    assert models["word_lstm"]["vocab"] == "results/data/words/vocab.json"


def test_rule_settings_choose_what_is_shown(results: Path, tmp_path: Path) -> None:
    """The rule passes the config's views, pairs, neurons, cluster settings and checkpoints: only those are shown."""
    settings = ExplorerSettings(
        mode="positive",
        n_clusters=3,
        min_count=3,
        link_filter=0.5,
        words_per_cluster=4,
        models={
            "char_gru": {"checkpoint": "results/train/char_gru/model.pt", "vocab": "results/data/chars/vocab.json"}
        },
        views=[["char_gru", "l1_h"]],
        comparisons=[],
        neurons=[],
    )
    summary = build_explorer(results, tmp_path / "site", settings)
    assert (
        [view["id"] for view in summary["views"]] == ["char_gru/l1_h"]
        and summary["comparisons"] == []
        and summary["neurons"] == 0
    )
    data = view_file(tmp_path / "site", "char_gru/l1_h")
    assert (data["mode"], data["min_count"], data["link_filter"], data["words_per_cluster"]) == ("positive", 3, 0.5, 4)
    assert json.loads((tmp_path / "site" / "models.json").read_text()) == settings.models
    with pytest.raises(ValueError, match="run the cluster stage for char_gru/l7_h"):
        build_explorer(results, tmp_path / "bad", ExplorerSettings(views=[["char_gru", "l7_h"]]))


def test_command_line_and_clear_error(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["build", str(results), "--out", str(tmp_path / "site")])
    assert (tmp_path / "site" / "index.html").is_file() and "6 views" in capsys.readouterr().out
    main([str(results), "--out", str(tmp_path / "plain")])  # build is the default command
    assert (tmp_path / "plain" / "data" / "index.js").is_file()
    with pytest.raises(ValueError, match="run the cluster stage"):
        build_explorer(tmp_path / "empty", tmp_path / "out")


@pytest.fixture(scope="module")
def server(results: Path, site: Path) -> Iterator[str]:
    httpd = serve(results, site, port=0, build=False)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read().decode()
            return response.status, json.loads(
                body
            ) if response.headers.get_content_type() == "application/json" else body
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode())


def glyphs_url(base: str, **query: str) -> str:
    return base + "api/glyphs?" + urllib.parse.urlencode(query)


def test_live_endpoint_answers_and_refuses_clearly(server: str) -> None:
    status, page = get(server)
    assert status == 200 and "rnnscope explorer" in page
    status, live = get(server + "live.js")
    assert status == 200 and '"char_lstm"' in live and str(MAX_SENTENCE_CHARS) in live
    status, answer = get(glyphs_url(server, model="char_lstm", column="l1_h", text="the hat"))
    assert (
        status == 200
        and answer["tokens"] == list("the hat")
        and len(answer["steps"]) == 7
        and len(answer["sizes"]) == 3
    )
    assert not any(answer["unknown"])
    status, answer = get(glyphs_url(server, model="word_lstm", column="l0_h", text="the zebra sat"))
    assert status == 200 and answer["tokens"] == ["the", "<unk>", "sat"] and answer["unknown"] == [False, True, False]
    refusals = {
        "empty": (dict(model="char_lstm", column="l0_h", text="  "), "empty"),
        "too long": (
            dict(model="char_lstm", column="l0_h", text="a" * (MAX_SENTENCE_CHARS + 1)),
            f"limit is {MAX_SENTENCE_CHARS}",
        ),
        "outside vocabulary": (dict(model="char_lstm", column="l0_h", text="the Zq"), "'Z'"),
        "unknown model": (dict(model="nope", column="l0_h", text="the"), "unknown model 'nope'"),
        "unknown column": (dict(model="char_lstm", column="l7_h", text="the"), "no co-clustered state column"),
    }
    for name, (query, message) in refusals.items():
        status, answer = get(glyphs_url(server, **query))
        assert status == 400 and message in answer["error"], (name, answer)
    assert "Z" not in CHARS
    assert get(glyphs_url(server, model="char_lstm", column="l0_h", text="a"))[0] == 200, "the server keeps serving"


def test_live_glyphs_are_the_rules_glyphs(server: str, site: Path) -> None:
    """A configured sentence typed in live mode gives the glyph data rule glyphs wrote for it."""
    for model, kind in (("char_gru", "char"), ("word_lstm", "word")):
        view = view_file(site, f"{model}/l1_h")
        status, answer = get(glyphs_url(server, model=model, column="l1_h", text=SENTENCES[kind][0]))
        assert (
            status == 200
            and answer["tokens"] == view["glyphs"][0]["tokens"]
            and answer["sizes"] == view["glyphs"][0]["sizes"]
        )
        np.testing.assert_allclose(
            np.array(answer["steps"], dtype=float),
            np.array(view["glyphs"][0]["steps"], dtype=float),
            rtol=2e-3,
            atol=1e-6,
        )


def test_live_page_runs_a_typed_sentence(server: str) -> None:
    check_live_page(server, "word_lstm", "l0_h", "the zebra sat on the mat.")


def test_explorer_in_browser(results: Path, site: Path) -> None:
    """file:// page: no console errors, no outside requests, chips coloured from responses.parquet,
    glyph tokens, chip/unit clicks, probe sorting, linked comparison, neuron text; timings printed.
    RNNSCOPE_SCREENSHOTS=1 also writes docs/explorer/*.png."""
    import os

    screenshots = DOCS_SCREENSHOTS if os.environ.get("RNNSCOPE_SCREENSHOTS") else None
    timings = check_explorer_site(site, results, screenshots=screenshots)
    assert timings["first_view_ms"] is not None and timings["click_ms"] is not None
