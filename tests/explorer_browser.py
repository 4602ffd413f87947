"""Browser checks of a built explorer (rnnscope.explorer), in headless Chromium driven by Playwright.

``check_explorer_site(site, results)`` is what tests/test_explorer.py runs on a synthetic results
folder and what the integration test can run on the tiny DAG's ``results/explorer``. It skips
(pytest.skip, saying why) when Playwright or a Chromium is missing. Chromium comes from Debian's
package (/usr/bin/chromium; $RNNSCOPE_CHROMIUM overrides): Playwright's own browser download is
not used.
"""

from __future__ import annotations

import os
import shutil
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    configured = os.environ.get("RNNSCOPE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium, or pytest.skip with the reason."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]' installs playwright==1.65.2)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install -y chromium, or set RNNSCOPE_CHROMIUM to a Chromium binary)")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        except Exception as error:  # a Chromium that cannot start here is an environment problem
            pytest.skip(f"Chromium at {executable} does not start: {error}")
        try:
            yield instance
        finally:
            instance.close()


class PageWatch:
    """Console errors, page errors and every request a page makes outside ``allowed``."""

    def __init__(self, page: Any, allowed: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

        def route(route: Any) -> None:
            if route.request.url.startswith(allowed) or route.request.url.startswith("data:"):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        page.route("**/*", route)  # http(s): aborted when outside (route does not see file:// requests)

        def request(request: Any) -> None:  # every request, file:// included
            url = request.url
            if not url.startswith((allowed, "data:")) and url not in self.outside:
                self.outside.append(url)

        page.on("request", request)

    def check(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.outside == [], f"requests outside the site: {self.outside}"


def open_site(context: Any, url: str, allowed: str) -> tuple[Any, PageWatch]:
    page = context.new_page()
    watch = PageWatch(page, allowed)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=20000)
    return page, watch


def expected_responses(results: Path, view_id: str, token: str) -> np.ndarray:
    model, column = view_id.split("/")
    table = pd.read_parquet(results / "cluster" / model / column / "responses.parquet")
    units = [name for name in table.columns if name.startswith("u") and name[1:].isdigit()]
    row = table[table["token"].astype(str) == token]
    assert len(row) == 1, f"{token!r} not in {view_id}'s responses.parquet"
    return row[sorted(units, key=lambda name: int(name[1:]))].to_numpy()[0]


def unit_colours(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#main-view rect.unit",
        "rects => rects.map(r => ({unit: +r.dataset.unit, value: r.dataset.value, fill: r.getAttribute('fill')}))",
    )


def check_word_click(page: Any, results: Path, view_id: str) -> str:
    """Click the first word of the main view; every unit's colour is its response to that word."""
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)  # no word under the pointer (a hover colours the chips too)
    page.wait_for_timeout(50)
    before = {cell["unit"]: cell["fill"] for cell in unit_colours(page)}
    word = page.locator("#main-view text.word").first
    token = word.get_attribute("data-token")
    word.click()
    page.wait_for_selector("#main-view text.word.selected", timeout=5000)
    cells = sorted(unit_colours(page), key=lambda cell: cell["unit"])
    expected = expected_responses(results, view_id, token)
    assert [cell["unit"] for cell in cells] == list(range(len(expected))), "one cell per unit"
    np.testing.assert_allclose([float(cell["value"]) for cell in cells], expected, rtol=1e-3, atol=1e-7)
    colours = page.evaluate(
        "values => values.map(v => RNNSCOPE_APP.colour(v))", [float(cell["value"]) for cell in cells]
    )
    assert [cell["fill"] for cell in cells] == colours, "each unit's fill is the colour scale at its response"
    assert any(before[cell["unit"]] != cell["fill"] for cell in cells), "clicking a word recoloured the chips"
    assert page.locator("#main-view text.word.selected").get_attribute("data-token") == token
    return token


def check_glyph_tokens(page: Any, results: Path, view_id: str) -> None:
    model, column = view_id.split("/")
    glyphs = results / "rnnvis" / model / column / "glyphs.csv"
    if not glyphs.is_file():
        return
    table = pd.read_csv(glyphs, keep_default_na=False, dtype={"token": str})
    expected = [
        rows.drop_duplicates("step").sort_values("step")["token"].tolist()
        for _, rows in table.groupby("sentence_index")
    ]
    shown = page.eval_on_selector_all(
        "#sequence-view svg.glyph-svg",
        "svgs => svgs.map(s => [...s.querySelectorAll('text.glyph-token')].map(t => t.dataset.token))",
    )
    assert shown == expected, f"glyph rows {shown} != sentences' tokens {expected}"
    # the token under the pointer is highlighted in the main view (when it is in a word cloud)
    clouds = set(page.eval_on_selector_all("#main-view text.word", "ts => ts.map(t => t.dataset.token)"))
    for index, token in enumerate(expected[0]):
        if token in clouds:
            page.locator("#sequence-view svg.glyph-svg").first.locator("g.glyph-col").nth(index).hover()
            assert page.locator("#main-view text.word.highlight").get_attribute("data-token") == token
            break


def check_chip_and_unit(page: Any, results: Path, view_id: str) -> None:
    model, column = view_id.split("/")
    units = pd.read_csv(results / "cluster" / model / column / "unit_clusters.csv")
    cluster = int(units["cluster"].iloc[0])
    page.locator(f"#main-view text.chip-label[data-cluster='{cluster}']").click()
    listed = page.eval_on_selector_all("#side-panel .chip-units [data-unit]", "s => s.map(e => +e.dataset.unit)")
    assert listed == units[units["cluster"] == cluster]["unit"].tolist()
    assert page.locator("#side-panel .top-positive-words, #side-panel .top-negative-words").count() == 2
    page.locator("#side-panel .chip-units [data-unit]").first.click()
    points = page.locator("#detail-view circle.detail-point").count()
    assert points == page.evaluate("RNNSCOPE_APP.state.data.tokens.length"), (
        "the unit's detail view shows every token's response"
    )


def check_probe_sort(page: Any) -> None:
    page.locator("#tabs button[data-tab='probes']").click()
    page.wait_for_function("window.RNNSCOPE_PROBES !== undefined")
    if not page.evaluate("RNNSCOPE_PROBES.rows.length"):
        assert "No probe table" in page.locator("#probe-count").inner_text()
        return
    page.wait_for_selector("#probe-table th")
    for key in ("f1", "r2", "layer"):
        header = page.locator(f"#probe-table th[data-key='{key}']")
        if header.count() == 0:
            continue
        for order in ("ascending", "descending"):
            header.click()
            assert page.locator(f"#probe-table th[data-key='{key}']").get_attribute("aria-sort") == order
            values = page.eval_on_selector_all(
                f"#probe-table td[data-key='{key}']", "tds => tds.map(t => t.dataset.value)"
            )
            numbers = [float(v) for v in values if v != ""]
            assert numbers == sorted(numbers, reverse=order == "descending"), f"{key} {order}: {numbers}"
            assert all(v != "" for v in values[: len(numbers)]), "empty values sort last"
    # a filter keeps only matching rows
    select = page.locator("#probe-filters select[data-filter='model']")
    if select.count():
        model = select.locator("option").nth(1).get_attribute("value")
        select.select_option(model)
        assert set(
            page.eval_on_selector_all("#probe-table td[data-key='model']", "tds => tds.map(t => t.dataset.value)")
        ) == {model}
        select.select_option("")


def check_compare(page: Any) -> None:
    if not page.evaluate("RNNSCOPE_INDEX.comparisons.length"):
        return
    page.locator("#tabs button[data-tab='compare']").click()
    page.wait_for_selector("#compare-b rect.unit")
    token = page.locator("#compare-a text.word").first.get_attribute("data-token")
    page.locator("#compare-a text.word").first.click()
    assert page.locator("#compare-a text.word.selected").get_attribute("data-token") == token
    other = page.locator("#compare-b text.word.selected")
    if page.locator("#compare-b text.word").evaluate_all("ts => ts.map(t => t.dataset.token)").count(token):
        assert other.get_attribute("data-token") == token, "word selection is linked across the two models"
    assert "adjusted Rand index" in page.locator("#compare-summary").inner_text()


def check_neurons(page: Any) -> None:
    page.locator("#tabs button[data-tab='neurons']").click()
    page.wait_for_function("window.RNNSCOPE_NEURONS !== undefined")
    neurons = page.evaluate("window.RNNSCOPE_NEURONS")
    shown = [n for n in neurons if n["status"] == "ok"]
    if not shown:
        return
    page.wait_for_selector("#neuron-text .ch")
    first = neurons[0]
    if first["status"] == "ok":
        assert page.locator("#neuron-text .ch").count() == len(first["text"])
        page.locator("#neuron-text .ch").nth(3).hover()
        assert "activation" in page.locator("#neuron-value").inner_text()


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def check_explorer_site(
    site: Path, results: Path, screenshots: Path | None = None, loads: int = 5, clicks: int = 10
) -> dict[str, Any]:
    """Every browser check on the explorer in ``site`` (built from ``results``) opened from file://:
    zero console errors and zero requests outside the site; clicking a word gives every chip its
    response from responses.parquet; glyph rows show the sentences' tokens; a chip lists its units;
    a unit opens its detail view; the probe table sorts and filters; linked comparison; neuron text.
    Returns the browser's own timings (medians, ms); with ``screenshots`` saves a PNG per view."""
    site, results = Path(site).resolve(), Path(results).resolve()
    url = site.joinpath("index.html").as_uri()
    allowed = site.as_uri() + "/"
    timings: dict[str, list[float]] = {"first_view_ms": [], "click_ms": [], "click_frame_ms": [], "hover_ms": []}
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        for _ in range(loads):  # fresh loads for the first-view time
            page, watch = open_site(context, url, allowed)
            timings["first_view_ms"].append(page.evaluate("RNNSCOPE_TIMINGS.first_view_ms"))
            watch.check()
            page.close()
        page, watch = open_site(context, url, allowed)
        views = page.evaluate("RNNSCOPE_INDEX.views.map(v => v.id)")
        for view_id in views:
            page.evaluate("id => RNNSCOPE_APP.showView(id)", view_id)
            page.wait_for_function("id => document.body.dataset.view === id", arg=view_id)
            check_word_click(page, results, view_id)
            check_glyph_tokens(page, results, view_id)
            check_chip_and_unit(page, results, view_id)
        # click redraw times on the first view
        page.evaluate("id => RNNSCOPE_APP.showView(id)", views[0])
        page.wait_for_function("id => document.body.dataset.view === id", arg=views[0])
        page.evaluate(
            "RNNSCOPE_TIMINGS.click_ms = []; RNNSCOPE_TIMINGS.click_frame_ms = []; RNNSCOPE_TIMINGS.hover_ms = []"
        )
        words = page.locator("#main-view text.word")
        for index in range(clicks):
            words.nth(index % words.count()).click()
        columns = page.locator("#sequence-view g.glyph-col")
        for index in range(min(clicks, columns.count())):
            columns.nth(index).hover()
        page.wait_for_timeout(100)
        measured = page.evaluate("RNNSCOPE_TIMINGS")
        for key in ("click_ms", "click_frame_ms", "hover_ms"):
            timings[key] = measured[key]
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            page.locator("#main-view text.word").nth(1).click()
            page.locator("#tab-model .row").screenshot(path=str(screenshots / "main_view.png"))
            page.locator("#main-view rect.unit").first.click()
            page.locator("#detail-view").locator("xpath=..").screenshot(path=str(screenshots / "detail_unit.png"))
            page.locator("#main-view text.word").first.click()
            page.locator("#detail-view").locator("xpath=..").screenshot(path=str(screenshots / "detail_word.png"))
            page.locator("#sequence-view").locator("xpath=..").screenshot(path=str(screenshots / "sequence_view.png"))
        check_probe_sort(page)
        if screenshots is not None:
            page.screenshot(path=str(screenshots / "probes.png"))
        check_compare(page)
        if screenshots is not None and page.evaluate("RNNSCOPE_INDEX.comparisons.length"):
            page.screenshot(path=str(screenshots / "compare.png"))
        check_neurons(page)
        if screenshots is not None:
            page.screenshot(path=str(screenshots / "neurons.png"))
        watch.check()
        context.close()
    summary = {key: median(values) for key, values in timings.items()}
    summary["samples"] = {key: len(values) for key, values in timings.items()}
    print(f"explorer timings (medians, ms, headless Chromium): {summary}")
    return summary


def check_live_page(url: str, model: str, column: str, sentence: str) -> None:
    """Served explorer: the live form runs ``sentence`` and draws its glyph row; a bad input shows
    the server's message; no console errors (a 400 answer is expected and not counted)."""
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and "400" not in m.text and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}#view={model}/{column}")
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("#live-form").is_visible()
        rows = page.locator("#sequence-view svg.glyph-svg").count()
        page.fill("#live-text", sentence)
        page.click("#live-form button")
        page.wait_for_function("n => document.querySelectorAll('#sequence-view svg.glyph-svg').length > n", arg=rows)
        tokens = (
            page.locator("#sequence-view svg.glyph-svg")
            .last.locator("text.glyph-token")
            .evaluate_all("ts => ts.map(t => t.dataset.token)")
        )
        assert len(tokens) > 0
        page.fill("#live-text", "   ")
        page.click("#live-form button")
        page.wait_for_function("() => document.getElementById('live-message').textContent.includes('empty')")
        assert errors == [], errors
        context.close()
