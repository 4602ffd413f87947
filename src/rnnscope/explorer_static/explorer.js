// rnnscope explorer: RNNVis-style views of a results folder (rnnscope.explorer writes the data).
// Data arrive as <script> files setting globals (RNNSCOPE_INDEX, RNNSCOPE_VIEWS[id], RNNSCOPE_PROBES,
// RNNSCOPE_NEURONS): Chromium refuses to fetch file:// URLs. Nothing is loaded from outside this folder.
"use strict";
(function () {
  const INDEX = window.RNNSCOPE_INDEX;
  const LIVE = window.RNNSCOPE_LIVE;
  const ORANGE = "#f28e2b", BLUE = "#4e79a7", GREY = "#c8c8c8";
  const timings = (window.RNNSCOPE_TIMINGS = { first_view_ms: null, click_ms: [], click_frame_ms: [], hover_ms: [] });
  const tooltip = document.getElementById("tooltip");

  // ---- helpers ---------------------------------------------------------------------------------
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(script);
    });
  }
  const loaded = {};
  function loadOnce(src) { return (loaded[src] = loaded[src] || loadScript(src)); }
  async function loadView(id) {
    const entry = INDEX.views.find((v) => v.id === id);
    if (!entry) throw new Error("no view " + id);
    await loadOnce(entry.file);
    return window.RNNSCOPE_VIEWS[id];
  }
  function shown(token) {  // whitespace and control characters readable
    if (token === " ") return "␣";
    if (token === "\n") return "↵";
    if (token === "\t") return "⇥";
    return token.replace(/[\x00-\x1f\x7f]/g, (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
  }
  const fmt = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? d3.format(".3~e")(v) : d3.format(".3~f")(v));
  function showTip(event, text) {
    tooltip.hidden = false; tooltip.textContent = text;
    tooltip.style.left = event.clientX + 12 + "px"; tooltip.style.top = event.clientY + 12 + "px";
  }
  function hideTip() { tooltip.hidden = true; }
  const measure = document.createElement("canvas").getContext("2d");
  function textWidth(text, size) {  // what the SVG text will take, for the word clouds' line wrap
    measure.font = `${size}px system-ui, sans-serif`;
    return measure.measureText(text).width;
  }
  function colourScale(limit) {
    return d3.scaleDiverging([-limit, 0, limit], d3.interpolateRgbBasis([BLUE, "#f7f7f7", ORANGE])).clamp(true);
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- main view: memory chips, word clouds, edges -----------------------------------------------
  // Returns a controller: select(token or null), highlight(token or null), and the colour scale.
  function drawMain(container, data, handlers) {
    container.innerHTML = "";
    const k = data.n_clusters, H = data.units;
    const nWords = data.word_cluster.length;
    const tokenIndex = new Map(data.tokens.map((t, i) => [t, i]));
    let limit = 0;
    for (const row of data.response) for (const v of row) if (v !== null && Math.abs(v) > limit) limit = Math.abs(v);
    const scale = colourScale(limit || 1);
    // default colour of a unit: its mean response to the paired word cluster (as the static PNG)
    const base = new Array(H).fill(0);
    for (let c = 0; c < k; c++) {
      const members = data.word_cluster.map((w, i) => (w === c ? i : -1)).filter((i) => i >= 0);
      const rows = members.length ? members : d3.range(nWords);
      data.chips[c].units.forEach((u) => { base[u] = d3.mean(rows, (i) => data.response[i][u]); });
    }
    const chipW = 230, gap = 190, cloudW = 300, width = chipW + gap + cloudW + 20;
    const layout = [];
    let y = 8;
    for (let c = 0; c < k; c++) {
      const units = data.chips[c].units;
      const cols = Math.max(1, Math.min(Math.ceil(Math.sqrt(units.length * 3)), 24));
      const cell = Math.max(5, Math.min(16, Math.floor((chipW - 10) / cols)));
      const chipH = 18 + Math.max(1, Math.ceil(units.length / cols)) * cell + 6;
      const members = data.word_cluster.map((w, i) => (w === c ? i : -1)).filter((i) => i >= 0)
        .sort((a, b) => data.counts[b] - data.counts[a]).slice(0, Math.max(data.words_per_cluster * 3, 20));
      // word cloud: font size by log frequency, greedy line wrap
      const maxCount = d3.max(members, (i) => data.counts[i]) || 1, minCount = d3.min(members, (i) => data.counts[i]) || 1;
      const size = d3.scaleLog().domain([Math.max(1, minCount), Math.max(2, maxCount)]).range([11, 22]).clamp(true);
      const placed = [];
      let x = 0, line = 0, lineH = 0, cloudH = 18;
      for (const i of members) {
        const s = size(Math.max(1, data.counts[i]));
        const w = textWidth(shown(data.tokens[i]), s) + 9;  // room for the bold of a selected word
        if (x + w > cloudW && x > 0) { line += lineH + 2; x = 0; lineH = 0; }
        placed.push({ i, x, line, s });
        x += w; lineH = Math.max(lineH, s);
      }
      cloudH += line + lineH + 6;
      const rowH = Math.max(chipH, cloudH) + 14;
      layout.push({ c, y, units, cols, cell, chipH, cloudH, placed, rowH });
      y += rowH;
    }
    const svg = d3.select(container).append("svg").attr("width", width).attr("height", y).attr("class", "main-svg");
    const edgeLayer = svg.append("g");
    let maxEdge = 0;
    data.edges.forEach((row) => row.forEach((v) => { if (v !== null && Math.abs(v) > maxEdge) maxEdge = Math.abs(v); }));
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      const v = data.edges[i][j];
      if (v === null || maxEdge === 0 || Math.abs(v) < data.link_filter * maxEdge) continue;
      const y0 = layout[j].y + layout[j].chipH / 2, y1 = layout[i].y + layout[i].cloudH / 2;
      const x0 = chipW, x1 = chipW + gap;
      edgeLayer.append("path").attr("class", "edge").attr("data-word-cluster", i).attr("data-unit-cluster", j)
        .attr("d", `M${x0},${y0} C${x0 + gap / 2},${y0} ${x1 - gap / 2},${y1} ${x1},${y1}`)
        .attr("stroke", v > 0 ? ORANGE : BLUE).attr("stroke-width", 1 + 7 * Math.abs(v) / maxEdge).attr("opacity", 0.6)
        .on("mousemove", (event) => showTip(event, `e(W${i}, H${j}) = ${fmt(v)}: mean response of word cluster ${i} on unit cluster ${j}`))
        .on("mouseleave", hideTip);
    }
    const unitRects = new Array(H);
    const wordTexts = new Map();
    for (const row of layout) {
      const g = svg.append("g").attr("transform", `translate(0,${row.y})`);
      g.append("text").attr("class", "chip-label clickable-svg").attr("data-cluster", row.c).attr("x", 4).attr("y", 12).attr("font-size", 11)
        .text(`H${row.c} (${row.units.length} units) ▸`).on("click", () => handlers.chip(row.c));
      g.append("rect").attr("class", "chip-frame").attr("data-cluster", row.c).attr("x", 1).attr("y", 15)
        .attr("width", row.cols * row.cell + 6).attr("height", row.chipH - 16).attr("rx", 3)
        .on("click", () => handlers.chip(row.c));
      row.units.forEach((u, n) => {
        const rect = g.append("rect").attr("class", "unit").attr("data-unit", u).attr("data-cluster", row.c)
          .attr("x", 4 + (n % row.cols) * row.cell).attr("y", 18 + Math.floor(n / row.cols) * row.cell)
          .attr("width", row.cell - 1).attr("height", row.cell - 1)
          .on("click", (event) => { event.stopPropagation(); handlers.unit(u); })
          .on("mousemove", (event) => showTip(event, `unit ${u} (H${row.c}): ${rect.attr("data-value")} (${colouring})`))
          .on("mouseleave", hideTip);
        unitRects[u] = rect.node();
      });
      const wg = g.append("g").attr("transform", `translate(${chipW + gap + 6},0)`);
      wg.append("text").attr("x", 0).attr("y", 12).attr("font-size", 11)
        .text(`W${row.c} (${data.word_cluster.filter((w) => w === row.c).length} words)`);
      for (const p of row.placed) {
        const text = wg.append("text").attr("class", "word").attr("data-token", data.tokens[p.i]).attr("data-index", p.i)
          .attr("x", p.x).attr("y", 18 + p.line + p.s).attr("font-size", p.s.toFixed(1)).text(shown(data.tokens[p.i]))
          .on("click", () => handlers.word(data.tokens[p.i]))
          .on("mouseenter", () => { if (handlers.hover) handlers.hover(data.tokens[p.i]); })
          .on("mousemove", (event) => showTip(event, `'${shown(data.tokens[p.i])}': ${data.counts[p.i]} times, W${row.c}${data.pos[p.i] ? ", " + data.pos[p.i] : ""}`))
          .on("mouseleave", () => { hideTip(); if (handlers.hover) handlers.hover(null); });
        wordTexts.set(data.tokens[p.i], text.node());
      }
    }
    let colouring = "mean response to the paired word cluster";
    let selected = null;
    let current = scale;
    function paint(token) {
      const row = token === null ? null : tokenIndex.get(token);
      const values = row === null || row === undefined ? base : data.response[row];
      // RNNVis colours by the selected word's responses: the scale spans this word's largest |response|
      const own = d3.max(values, (v) => (v === null ? 0 : Math.abs(v))) || 1;
      current = colourScale(own);
      for (let u = 0; u < H; u++) {
        const value = values[u];
        unitRects[u].setAttribute("data-value", value === null ? "" : String(value));
        unitRects[u].setAttribute("fill", value === null ? GREY : current(value));
      }
      colouring = row === null || row === undefined ? "mean response to the paired word cluster" : `expected response to '${shown(token)}'`;
      if (handlers.legend) handlers.legend(colouring, own);
    }
    function mark(token, cls) {
      for (const node of wordTexts.values()) node.classList.remove(cls);
      if (token !== null && wordTexts.has(token)) wordTexts.get(token).classList.add(cls);
    }
    paint(null);
    return {
      get scale() { return current; }, limit, tokenIndex,
      select(token) { selected = token; mark(token, "selected"); paint(token); },
      highlight(token) {  // transient (sequence view hover): colour by the token when it has a response
        mark(token, "highlight");
        paint(token !== null && tokenIndex.has(token) ? token : selected);
      },
      markChip(c) { svg.selectAll(".chip-frame").classed("selected", function () { return +this.dataset.cluster === c; }); },
      markUnit(u) { unitRects.forEach((r, i) => r.classList.toggle("marked", i === u)); },
      dimEdges(c) { svg.selectAll(".edge").classed("dim", function () { return c !== null && +this.dataset.unitCluster !== c; }); },
    };
  }

  // ---- detail view -------------------------------------------------------------------------------
  const POS_COLOURS = d3.scaleOrdinal(d3.schemeTableau10);
  function detailUnit(container, data, unit) {
    container.innerHTML = "";
    const order = d3.range(data.tokens.length).filter((i) => data.response[i][unit] !== null)
      .sort((a, b) => data.response[a][unit] - data.response[b][unit]);
    const width = Math.max(640, Math.min(1180, order.length * 14 + 80)), height = 260, m = { l: 50, r: 10, t: 10, b: 70 };
    const x = d3.scaleBand().domain(order).range([m.l, width - m.r]).padding(0.2);
    const values = [];
    order.forEach((i) => {
      values.push(data.response[i][unit]);
      const b = data.bands[data.tokens[i]];
      if (b) values.push(b.p9[unit], b.p91[unit]);
    });
    const yext = d3.extent(values.concat([0]));
    const y = d3.scaleLinear().domain(yext).nice().range([height - m.b, m.t]);
    const svg = d3.select(container).append("svg").attr("width", width).attr("height", height).attr("class", "detail-svg");
    svg.append("g").attr("transform", `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(5));
    svg.append("line").attr("x1", m.l).attr("x2", width - m.r).attr("y1", y(0)).attr("y2", y(0)).attr("stroke", "#999");
    const g = svg.append("g");
    order.forEach((i, rank) => {
      const cx = x(i) + x.bandwidth() / 2, token = data.tokens[i], b = data.bands[token];
      if (b) {
        g.append("line").attr("x1", cx).attr("x2", cx).attr("y1", y(b.p9[unit])).attr("y2", y(b.p91[unit])).attr("stroke", ORANGE).attr("stroke-width", 2).attr("opacity", 0.4);
        g.append("line").attr("x1", cx).attr("x2", cx).attr("y1", y(b.p25[unit])).attr("y2", y(b.p75[unit])).attr("stroke", ORANGE).attr("stroke-width", 5).attr("opacity", 0.7);
      }
      g.append("circle").attr("class", "detail-point").attr("data-token", token).attr("cx", cx).attr("cy", y(data.response[i][unit])).attr("r", 3.5)
        .attr("fill", POS_COLOURS(data.pos[i] || "?"))
        .on("mousemove", (event) => showTip(event, `'${shown(token)}' ${data.pos[i] || ""}: ${fmt(data.response[i][unit])}` + (b ? `\n25–75%: ${fmt(b.p25[unit])}…${fmt(b.p75[unit])}, 9–91%: ${fmt(b.p9[unit])}…${fmt(b.p91[unit])}` : "")))
        .on("mouseleave", hideTip);
      // labels at least 12 px apart, and the band tokens' (every value on hover)
      if (rank % Math.ceil(12 / x.step()) === 0 || b) {
        g.append("text").attr("transform", `translate(${cx},${height - m.b + 6}) rotate(60)`).attr("font-size", 10).text(shown(token) + (data.pos[i] ? " " + data.pos[i] : ""));
      }
    });
    const tags = [...new Set(data.pos.filter((p) => p))];
    const legend = d3.select(container).append("div").attr("class", "legend");
    legend.html(tags.map((t) => `<span style="color:${POS_COLOURS(t)}">●</span> ${t}`).join(" &nbsp; ") +
      (Object.keys(data.bands).length ? ` &nbsp; <span style="color:${ORANGE}">┃</span> 25–75 % and 9–91 % of Δh (detail tokens)` : ""));
    return `unit ${unit} (H${data.unit_cluster[unit]}): expected response of ${order.length} words, sorted, dots coloured by POS`;
  }
  function detailWord(container, data, token) {
    container.innerHTML = "";
    const i = data.tokens.indexOf(token);
    const b = data.bands[token];
    const H = data.units;
    const resp = b ? b.response : data.response[i];
    const order = d3.range(H).sort((a, c) => resp[a] - resp[c]);
    const width = 720, height = 240, m = { l: 50, r: 10, t: 10, b: 30 };
    const x = d3.scaleLinear().domain([0, H - 1]).range([m.l, width - m.r]);
    const vals = b ? b.p9.concat(b.p91, resp) : resp;
    const y = d3.scaleLinear().domain(d3.extent(vals.concat([0]))).nice().range([height - m.b, m.t]);
    const svg = d3.select(container).append("svg").attr("width", width).attr("height", height).attr("class", "detail-svg");
    svg.append("g").attr("transform", `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(5));
    svg.append("g").attr("transform", `translate(0,${height - m.b})`).call(d3.axisBottom(x).ticks(8));
    if (b) {
      for (const [lo, hi, op] of [["p9", "p91", 0.2], ["p25", "p75", 0.45]]) {
        svg.append("path").attr("fill", ORANGE).attr("opacity", op)
          .attr("d", d3.area().x((_, r) => x(r)).y0((u) => y(b[lo][u])).y1((u) => y(b[hi][u]))(order));
      }
      svg.append("path").attr("fill", "none").attr("stroke", "black").attr("stroke-dasharray", "3,2").attr("stroke-width", 0.7)
        .attr("d", d3.line().x((_, r) => x(r)).y((u) => y(b.p50[u]))(order));
    }
    svg.append("path").attr("fill", "none").attr("stroke", BLUE).attr("stroke-width", 1.5)
      .attr("d", d3.line().x((_, r) => x(r)).y((u) => y(resp[u]))(order));
    svg.append("line").attr("x1", m.l).attr("x2", width - m.r).attr("y1", y(0)).attr("y2", y(0)).attr("stroke", "#999");
    const pos = i >= 0 && data.pos[i] ? `, POS ${data.pos[i]}` : "";
    return `'${shown(token)}'${pos}: units sorted by mean response s(x) (blue)` +
      (b ? `; bands 25–75 % and 9–91 % of Δh and median (dashed) from ${b.samples} of ${b.count} occurrences` : "; no bands (not a configured detail token)");
  }

  // ---- sequence view: glyphs ---------------------------------------------------------------------
  function glyphScale(sentences) {
    let s = 0;
    for (const sen of sentences) for (const step of sen.steps) step.forEach((v, c) => {
      const size = Math.max(1, sen.sizes[c]);
      if (v[0] !== null) s = Math.max(s, Math.abs(v[0]) / size);
      if (v[1] !== null) s = Math.max(s, Math.abs(v[1]) / size);
    });
    return s || 1;
  }
  function drawSentence(container, sentence, scaleMax, onHover, label) {
    const k = sentence.sizes.length, barW = Math.max(4, Math.min(10, Math.floor(60 / k))), colW = k * barW + 10, half = 32, h = half * 2 + 38;
    const div = d3.select(container).append("div").attr("class", "sentence");
    div.append("div").attr("class", "info").text(label);
    const svg = div.append("svg").attr("class", "glyph-svg").attr("width", sentence.tokens.length * colW + 10).attr("height", h);
    const y = (v) => (v / scaleMax) * half;
    sentence.tokens.forEach((token, t) => {
      const g = svg.append("g").attr("class", "glyph-col").attr("data-step", t).attr("transform", `translate(${5 + t * colW},${half + 8})`);
      g.append("rect").attr("x", 0).attr("y", -half - 8).attr("width", colW - 4).attr("height", h).attr("fill", "transparent");
      sentence.steps[t].forEach((v, c) => {
        const size = Math.max(1, sentence.sizes[c]), x0 = 3 + c * barW, w = barW - 1;
        const [ap, an, dp, dn, pres] = v.map((q) => (q === null ? 0 : q / size));
        g.append("rect").attr("x", x0).attr("y", -y(ap)).attr("width", w).attr("height", y(ap)).attr("fill", GREY);
        g.append("rect").attr("x", x0).attr("y", 0).attr("width", w).attr("height", y(-an)).attr("fill", GREY);
        if (dp > 0) g.append("rect").attr("x", x0).attr("y", -y(ap)).attr("width", w).attr("height", y(dp)).attr("fill", ORANGE);
        if (dn < 0) g.append("rect").attr("x", x0).attr("y", y(-an) - y(-dn)).attr("width", w).attr("height", y(-dn)).attr("fill", BLUE);
        const p = v[4] === null ? 0 : v[4];
        g.append("line").attr("x1", x0).attr("x2", x0 + w).attr("y1", -half - 2 - 5 * p).attr("y2", -half - 2 - 5 * p).attr("stroke", "black");
      });
      g.append("line").attr("x1", 2).attr("x2", colW - 6).attr("y1", 0).attr("y2", 0).attr("stroke", "#333").attr("stroke-width", 0.5);
      const text = g.append("text").attr("class", "glyph-token" + (sentence.unknown && sentence.unknown[t] ? " unknown" : ""))
        .attr("data-token", token).attr("x", (colW - 4) / 2).attr("y", half + 22).attr("text-anchor", "middle").text(shown(token));
      g.on("mouseenter", (event) => {
        text.classed("hover", true);
        const values = sentence.steps[t].map((v, c) => `H${c}: α+ ${fmt(v[0])} α− ${fmt(v[1])} Δα+ ${fmt(v[2])} Δα− ${fmt(v[3])} kept ${fmt(v[4])}`).join("\n");
        showTip(event, `'${shown(token)}'${sentence.unknown && sentence.unknown[t] ? " (unknown: read as <unk>)" : ""}\n${values}`);
        onHover(token);
      }).on("mouseleave", () => { text.classed("hover", false); hideTip(); onHover(null); });
    });
  }

  // ---- model tab ---------------------------------------------------------------------------------
  const state = { data: null, main: null };
  function legend(target) {
    return (colouring, limit) => {
      target.innerHTML = `Unit colour: ${colouring}; <span style="color:${BLUE}">■</span> −${fmt(limit)} … <span style="color:${ORANGE}">■</span> +${fmt(limit)}. ` +
        "Edges: orange positive, blue negative mean response, width ∝ |e|.";
    };
  }
  function sidePanel() { return document.getElementById("side-panel"); }
  function wordLink(token, onClick) {
    const a = el("span", { class: "clickable", "data-token": token }, shown(token));
    a.addEventListener("click", () => onClick(token));
    return a;
  }
  function selectWord(token) {
    const t0 = performance.now();
    state.main.select(token);
    const data = state.data, i = data.tokens.indexOf(token), side = sidePanel();
    side.innerHTML = "";
    side.append(el("h3", {}, `word '${shown(token)}'`));
    side.append(el("div", {}, `${data.counts[i]} occurrences (train split)` + (i < data.word_cluster.length ? `, word cluster W${data.word_cluster[i]}` : ", not co-clustered") + (data.pos[i] ? `, POS ${data.pos[i]}` : "")));
    const order = d3.range(data.units).sort((a, b) => data.response[i][b] - data.response[i][a]);
    side.append(el("div", {}, "most positive units: " + order.slice(0, 5).map((u) => `${u} (${fmt(data.response[i][u])})`).join(", ")));
    side.append(el("div", {}, "most negative units: " + order.slice(-5).reverse().map((u) => `${u} (${fmt(data.response[i][u])})`).join(", ")));
    document.getElementById("detail-caption").textContent = detailWord(document.getElementById("detail-view"), data, token);
    const ms = performance.now() - t0;
    timings.click_ms.push(ms);
    requestAnimationFrame(() => setTimeout(() => timings.click_frame_ms.push(performance.now() - t0), 0));
  }
  function selectChip(c) {
    const data = state.data, chip = data.chips[c], side = sidePanel();
    state.main.markChip(c); state.main.dimEdges(c);
    side.innerHTML = "";
    side.append(el("h3", {}, `memory chip H${c}: ${chip.units.length} units`));
    const units = el("div", { class: "chip-units" }, "units: ");
    chip.units.forEach((u, n) => {
      const a = el("span", { class: "clickable", "data-unit": u }, String(u));
      a.addEventListener("click", () => selectUnit(u));
      units.append(a); if (n < chip.units.length - 1) units.append(", ");
    });
    side.append(units);
    for (const [name, list] of [["top positive words", chip.top_positive], ["top negative words", chip.top_negative]]) {
      const div = el("div", { class: name.replace(/ /g, "-") }, name + " (mean over the chip's units, all " + data.responses_tokens + " tokens): ");
      list.forEach(([token, v], n) => {
        div.append(data.tokens.includes(token) ? wordLink(token, selectWord) : el("span", {}, shown(token)));
        div.append(` ${fmt(v)}` + (n < list.length - 1 ? ", " : ""));
      });
      if (!list.length) div.append("none");
      side.append(div);
    }
  }
  function selectUnit(u) {
    const data = state.data;
    state.main.markUnit(u);
    document.getElementById("detail-caption").textContent = detailUnit(document.getElementById("detail-view"), data, u);
    const top = data.unit_top[String(u)];
    const side = sidePanel();
    side.innerHTML = "";
    side.append(el("h3", {}, `unit ${u} (chip H${data.unit_cluster[u]})`));
    if (top) for (const sign of ["positive", "negative"]) {
      side.append(el("div", {}, `top ${sign} tokens: ` + (top[sign] || []).map(([t, v]) => `${shown(t)} (${fmt(v)})`).join(", ")));
    }
  }
  async function showView(id) {
    const t0 = performance.now();
    const data = await loadView(id);
    state.data = data;
    document.getElementById("view-info").textContent =
      `${data.model}, layer ${data.layer} ${data.kind === "h" ? "hidden state h" : data.kind === "c" ? "cell state c" : "state " + data.kind}: ` +
      `${data.units} units, ${data.word_cluster.length} most frequent tokens co-clustered into ${data.n_clusters} clusters, mode ${data.mode}` +
      (data.min_count ? `, tokens seen ≥ ${data.min_count} times` : "") + `; edges |e| ≥ ${data.link_filter} × max`;
    const hover = (token) => {  // hovering a word (cloud or sentence) colours the chips by it until the pointer leaves
      const h0 = performance.now();
      state.main.highlight(token);
      timings.hover_ms.push(performance.now() - h0);
    };
    state.main = drawMain(document.getElementById("main-view"), data, {
      word: selectWord, chip: selectChip, unit: selectUnit, hover, legend: legend(document.getElementById("main-legend")),
    });
    sidePanel().textContent = "Click a word to colour every unit by its expected response; click a chip to list its units and top words; click a unit for its detail view.";
    document.getElementById("detail-view").textContent = "Click a unit or a word in the main view.";
    document.getElementById("detail-caption").textContent = "";
    const seq = document.getElementById("sequence-view");
    seq.innerHTML = "";
    const scaleMax = glyphScale(data.glyphs);
    data.glyphs.forEach((sentence, n) => drawSentence(seq, sentence, scaleMax, hover, `sentence ${n + 1}: ${sentence.sentence}`));
    if (!data.glyphs.length) seq.textContent = "No glyph sentences for this view (rnnvis/<model>/<column>/glyphs.csv missing).";
    state.glyphScale = scaleMax;
    if (location.hash !== "#view=" + id) history.replaceState(null, "", "#view=" + id);
    if (timings.first_view_ms === null) {
      timings.first_view_ms = performance.now();  // since navigation start
      timings.first_view_draw_ms = performance.now() - t0;
    }
    document.body.dataset.view = id;
  }

  // ---- live sentences (python -m rnnscope.explorer serve) -----------------------------------------
  function setupLive() {
    const form = document.getElementById("live-form");
    if (!LIVE) return;
    form.hidden = false;
    document.getElementById("live-text").maxLength = LIVE.max_chars;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const message = document.getElementById("live-message");
      const text = document.getElementById("live-text").value;
      const data = state.data;
      message.textContent = "running…";
      const url = `api/glyphs?model=${encodeURIComponent(data.model)}&column=${encodeURIComponent(data.column)}&text=${encodeURIComponent(text)}`;
      try {
        const response = await fetch(url);
        const answer = await response.json();
        if (!response.ok) { message.textContent = answer.error; return; }
        const unknown = answer.unknown.filter((u) => u).length;
        message.textContent = unknown ? `${unknown} unknown word(s) read as <unk> (underlined)` : "";
        drawSentence(document.getElementById("sequence-view"), answer, state.glyphScale, (token) => state.main.highlight(token), `typed: ${answer.sentence}`);
      } catch (error) {
        message.textContent = "the server did not answer: " + error.message;
      }
    });
  }

  // ---- compare tab -------------------------------------------------------------------------------
  async function showComparison(n) {
    const pair = INDEX.comparisons[n];
    const [a, b] = await Promise.all([loadView(pair.view_a), loadView(pair.view_b)]);
    const s = pair.summary;
    document.getElementById("compare-summary").textContent =
      `word clusters over ${s.common_tokens} common tokens: adjusted Rand index ${fmt(s.adjusted_rand)}, adjusted mutual information ${fmt(s.adjusted_mutual_info)} (0 = chance, 1 = same partition)`;
    const views = [];
    const link = (token) => views.forEach((v) => v.select(token));
    for (const [data, id, title] of [[a, "compare-a", pair.a], [b, "compare-b", pair.b]]) {
      document.getElementById(id + "-title").textContent = `${title} ${pair.column} (mode ${data.mode}, ${data.n_clusters} clusters)`;
      views.push(drawMain(document.getElementById(id), data, { word: link, chip: () => {}, unit: () => {}, legend: null }));
    }
    const table = el("table");
    const head = el("tr");
    ["W a", "W b", "tokens", "examples"].forEach((h) => head.append(el("th", {}, h)));
    table.append(head);
    pair.overlap.filter((r) => r.tokens > 0).forEach((r) => {
      const tr = el("tr");
      [r.word_cluster_a, r.word_cluster_b, r.tokens].forEach((v) => tr.append(el("td", {}, String(v))));
      tr.append(el("td", { class: "text" }, r.examples));
      table.append(tr);
    });
    const box = document.getElementById("compare-overlap");
    box.innerHTML = ""; box.append(table);
  }

  // ---- probes tab --------------------------------------------------------------------------------
  const probeState = { sortKey: null, ascending: true, filters: {} };
  const PROBE_SHOWN = [
    ["model", "model"], ["states", "states"], ["text", "text"], ["layer", "layer"], ["kind", "kind"], ["hypothesis", "hypothesis"],
    ["weighting", "weighting"], ["accuracy", "accuracy [95 %]"], ["f1", "F1 [95 %]"], ["r2", "R² [95 %]"],
    ["majority_accuracy", "majority baseline"], ["control_accuracy", "control task acc."], ["selectivity", "selectivity"],
    ["top_unit", "top unit"], ["converged", "converged"],
  ];
  const PROBE_FILTERS = ["model", "states", "text", "layer", "kind", "hypothesis", "weighting"];
  const MAX_PROBE_ROWS = 400;
  function setupProbes() {
    const P = window.RNNSCOPE_PROBES;
    if (!P.rows.length) {
      document.getElementById("probe-count").textContent = "No probe table in this results folder (results/tables/probes.csv).";
      return;
    }
    const col = Object.fromEntries(P.columns.map((c, i) => [c, i]));
    const filters = document.getElementById("probe-filters");
    for (const name of PROBE_FILTERS) {
      if (!(name in col)) continue;
      const select = el("select", { "data-filter": name });
      select.append(el("option", { value: "" }, `all`));
      [...new Set(P.rows.map((r) => r[col[name]]))].sort(d3.ascending).forEach((v) => select.append(el("option", { value: String(v) }, String(v))));
      select.addEventListener("change", () => { probeState.filters[name] = select.value; renderProbes(); });
      const label = el("label", {}, name + " "); label.append(select); filters.append(label);
    }
    renderProbes();
  }
  function renderProbes() {
    const P = window.RNNSCOPE_PROBES;
    const col = Object.fromEntries(P.columns.map((c, i) => [c, i]));
    let rows = P.rows.filter((r) => Object.entries(probeState.filters).every(([k, v]) => !v || String(r[col[k]]) === v));
    if (probeState.sortKey) {
      const i = col[probeState.sortKey], dir = probeState.ascending ? 1 : -1;
      rows = rows.slice().sort((a, b) => {
        if (a[i] === null) return b[i] === null ? 0 : 1;  // empty values last either way
        if (b[i] === null) return -1;
        return dir * (typeof a[i] === "number" && typeof b[i] === "number" ? a[i] - b[i] : String(a[i]).localeCompare(String(b[i])));
      });
    }
    document.getElementById("probe-count").textContent = `${rows.length} of ${P.rows.length} probes` +
      (rows.length > MAX_PROBE_ROWS ? ` (first ${MAX_PROBE_ROWS} shown: filter to narrow)` : "") + `; source ${P.source}; intervals: 95 % bootstrap over test rows`;
    const table = document.getElementById("probe-table");
    table.innerHTML = "";
    const head = el("tr");
    for (const [key, label] of PROBE_SHOWN) {
      if (!(key in col)) continue;
      const th = el("th", { "data-key": key }, label);
      if (probeState.sortKey === key) th.setAttribute("aria-sort", probeState.ascending ? "ascending" : "descending");
      th.addEventListener("click", () => {
        probeState.ascending = probeState.sortKey === key ? !probeState.ascending : true;
        probeState.sortKey = key; renderProbes();
      });
      head.append(th);
    }
    table.append(head);
    const frag = document.createDocumentFragment();
    for (const r of rows.slice(0, MAX_PROBE_ROWS)) {
      const tr = el("tr");
      for (const [key] of PROBE_SHOWN) {
        if (!(key in col)) continue;
        const v = r[col[key]];
        let text = v === null ? "" : typeof v === "number" && !Number.isInteger(v) ? fmt(v) : String(v);
        if (v !== null && (col[key + "_ci_low"] !== undefined) && r[col[key + "_ci_low"]] !== null) text += ` [${fmt(r[col[key + "_ci_low"]])}, ${fmt(r[col[key + "_ci_high"]])}]`;
        tr.append(el("td", { class: typeof v === "number" ? "num" : "text", "data-key": key, "data-value": v === null ? "" : String(v) }, text));
      }
      frag.append(tr);
    }
    table.append(frag);
  }

  // ---- neurons tab -------------------------------------------------------------------------------
  function setupNeurons() {
    const N = window.RNNSCOPE_NEURONS;
    const select = document.getElementById("neuron-select");
    if (!N.length) {
      document.getElementById("neuron-caption").textContent = "No neuron activations in this results folder (rule neurons writes results/neurons/<model>/<hypothesis>/heatmap.json).";
      return;
    }
    N.forEach((n, i) => select.append(el("option", { value: i }, `${n.model}: ${n.hypothesis}`)));
    select.addEventListener("change", () => showNeuron(+select.value));
    showNeuron(0);
  }
  function showNeuron(i) {
    const n = window.RNNSCOPE_NEURONS[i];
    const box = document.getElementById("neuron-text");
    box.innerHTML = "";
    const caption = document.getElementById("neuron-caption");
    if (n.status !== "ok") { caption.textContent = `${n.model}: ${n.hypothesis}: no fitted probe (${n.reason})`; return; }
    const lo = d3.min(n.activation), hi = Math.max(d3.max(n.activation), lo + 1e-6);
    const colour = d3.scaleSequential([lo, hi], (t) => d3.interpolateRdBu(1 - t));
    caption.textContent = `${n.title}; ${n.unit_title}. Each character coloured by the unit's activation (blue ${fmt(lo)} to red ${fmt(hi)}); bar under it: the hypothesis (green: true).`;
    const status = document.getElementById("neuron-value");
    let line = el("div", { class: "line" });
    box.append(line);
    let col = 0;
    [...n.text].forEach((ch, t) => {
      if (col === n.width) { line = el("div", { class: "line" }); box.append(line); col = 0; }
      const cell = el("span", { class: "ch", "data-step": t });
      const dark = Math.abs((n.activation[t] - lo) / (hi - lo) - 0.5) > 0.3;  // white text on the dark ends of the scale
      const glyph = el("span", { style: `background:${colour(n.activation[t])};color:${dark ? "white" : "black"}` }, ch === "\n" ? "↵" : ch === "\t" ? "⇥" : ch === " " ? "\u00a0" : ch);
      const label = el("i", { style: `background:${n.labels[t] ? "#2ca02c" : "#eee"}` });
      cell.append(glyph, label);
      cell.addEventListener("mouseenter", () => {
        status.textContent = `'${shown(ch)}' (character ${n.start + t}): activation ${fmt(n.activation[t])}, ${n.hypothesis} ${n.labels[t] ? "true" : "false"}, probe p(true) ${fmt(n.probability[t])}`;
      });
      line.append(cell);
      col += 1;
      if (ch === "\n") { line = el("div", { class: "line" }); box.append(line); col = 0; }
    });
  }

  // ---- tabs and start ----------------------------------------------------------------------------
  const tabSetup = {
    probes: () => loadOnce("data/probes.js").then(setupProbes),
    neurons: () => loadOnce("data/neurons.js").then(setupNeurons),
    compare: () => {
      const select = document.getElementById("compare-select");
      if (!INDEX.comparisons.length) { document.getElementById("compare-summary").textContent = "No model pairs compared (config rnnvis.compare)."; return Promise.resolve(); }
      INDEX.comparisons.forEach((p, i) => select.append(el("option", { value: i }, `${p.a} vs ${p.b}, ${p.column}`)));
      select.addEventListener("change", () => showComparison(+select.value));
      return showComparison(0);
    },
  };
  const started = {};
  function openTab(name) {
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
    document.querySelectorAll(".tab").forEach((s) => s.classList.toggle("active", s.id === "tab-" + name));
    if (tabSetup[name] && !started[name]) started[name] = tabSetup[name]();
    document.body.dataset.tab = name;
    return started[name] || Promise.resolve();
  }
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => openTab(b.dataset.tab)));

  const viewSelect = document.getElementById("view-select");
  INDEX.views.forEach((v) => viewSelect.append(el("option", { value: v.id }, `${v.model} ${v.column} (${v.units} units, ${v.n_clusters} clusters)`)));
  viewSelect.addEventListener("change", () => showView(viewSelect.value));
  setupLive();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("view");
  const first = INDEX.views.some((v) => v.id === wanted) ? wanted : INDEX.views[0].id;
  viewSelect.value = first;
  window.RNNSCOPE_APP = {
    ready: showView(first).then(() => { document.body.dataset.ready = "1"; }),
    showView, selectWord, selectChip, selectUnit, openTab, showComparison,
    colour: (value) => state.main.scale(value),
    state,
  };
})();
