/* cnncalc's page: draws what the embedded JSON holds (no number is recomputed here, no request
 * is made). Three page kinds: "network" (one analysis), "compare" (several side by side) and
 * "runs" (cnntrain report). The graph layout is a layered DAG (Sugiyama): longest-path ranks,
 * dummy vertices on long edges, barycentre ordering sweeps, then x positions averaged from the
 * neighbours and packed without overlap. */
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("cnncalc-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const METRICS = { macs: "MACs", params: "params", activations: "activations" };
  const NODE_H = 38, RANK_GAP = 30, NODE_GAP = 18, DUMMY_W = 6, MARGIN = 24, MAX_LABEL = 34;

  // ---------------------------------------------------------------------------------- helpers
  /* Text from a model file is data: a bidi override (U+202E) or isolate in a layer name would
   * reorder the text around it, and control characters are invisible; every text this page shows
   * goes through visible(), which writes them as escapes ("\u202e"), as the CLI prints them. */
  const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
  const visible = (text) => String(text).replace(HIDDEN, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
  });
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === "text") e.textContent = visible(v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = visible(v);
      else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid) e.append(kid);
    return e;
  }
  const isNum = (v) => typeof v === "number" && isFinite(v);
  function exact(v) {
    if (v === null || v === undefined) return "-";
    if (isNum(v)) return Number.isInteger(v) ? v.toLocaleString("en-US") : String(v);
    if (Array.isArray(v)) return v.map(exact).join("x");
    return String(v);
  }
  function human(v) {
    if (!isNum(v)) return exact(v);
    const sign = v < 0 ? "-" : "";
    let a = Math.abs(v);
    if (a < 1000) return sign + String(a);
    for (const [p, s] of [[4, "T"], [3, "G"], [2, "M"], [1, "K"]]) {
      const base = Math.pow(1000, p);
      if (a >= base) {
        const m = a / base;
        const t = m < 10 ? String(Math.floor(m * 10) / 10) : String(Math.floor(m));
        return sign + t + s;
      }
    }
    return sign + String(a);
  }
  function shapeText(shape) {
    if (!shape) return "";
    return shape.every(isNum) ? shape.join("x") : shape.map(String).join(" x ");
  }
  function field(v) {
    if (v === null || v === undefined) return "-";
    if (Array.isArray(v)) return v.map(field).join("x");
    return String(v);
  }
  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
  const textWidth = (text, px) => text.length * px;

  // colour scale: light to dark, log of the value over the largest
  const STOPS = [[255, 247, 220], [253, 174, 97], [215, 48, 39]];
  function colour(t) {
    if (t === null) return "#e9ecef";
    const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i;
    const c = STOPS[i].map((a, k) => Math.round(a + (STOPS[i + 1][k] - a) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  function scaleOf(max) {
    return (v) => (!isNum(v) ? null : max <= 0 ? 0 : Math.log1p(v) / Math.log1p(max));
  }

  // ------------------------------------------------------------------------- layered layout
  /* nodes: [{id, w, h}] in an order where edges mostly go forward; edges: [{from, to}].
   * Returns {pos: Map(id -> {x, y}) (node centres), paths: [[{x,y}...]] per edge, width, height}. */
  function layout(nodes, edges) {
    const n = nodes.length, index = new Map(nodes.map((d, i) => [d.id, i]));
    const preds = nodes.map(() => []);
    const fwd = [];
    for (const e of edges) {
      const a = index.get(e.from), b = index.get(e.to);
      if (a === undefined || b === undefined || a === b) continue;
      const [s, t] = a < b ? [a, b] : [b, a]; // a back edge (none in a DAG in order) is drawn reversed
      preds[t].push(s);
      fwd.push({ e, s, t });
    }
    const rank = new Array(n).fill(0);
    for (let i = 0; i < n; i++) for (const p of preds[i]) rank[i] = Math.max(rank[i], rank[p] + 1);
    // vertices: real nodes then dummies on edges spanning several ranks
    const W = nodes.map((d) => d.w), R = rank.slice();
    const up = nodes.map(() => []), down = nodes.map(() => []);
    const chains = [];
    for (const { e, s, t } of fwd) {
      const chain = [s];
      for (let r = rank[s] + 1; r < rank[t]; r++) {
        const v = W.length;
        W.push(DUMMY_W); R.push(r); up.push([]); down.push([]);
        chain.push(v);
      }
      chain.push(t);
      for (let k = 1; k < chain.length; k++) { up[chain[k]].push(chain[k - 1]); down[chain[k - 1]].push(chain[k]); }
      chains.push({ e, chain });
    }
    const V = W.length, nRanks = Math.max(0, ...R) + 1;
    const layers = Array.from({ length: nRanks }, () => []);
    for (let v = 0; v < V; v++) layers[R[v]].push(v);
    const order = new Array(V);
    const renumber = (L) => L.forEach((v, i) => { order[v] = i; });
    layers.forEach(renumber);
    const sweep = (L, nb) => {
      const bc = new Map();
      for (const v of L) {
        const ns = nb[v];
        bc.set(v, ns.length ? ns.reduce((a, u) => a + order[u], 0) / ns.length : order[v]);
      }
      L.sort((a, b) => bc.get(a) - bc.get(b) || order[a] - order[b]);
      renumber(L);
    };
    const sweeps = V > 6000 ? 2 : 4;
    for (let it = 0; it < sweeps; it++) {
      for (let r = 1; r < nRanks; r++) sweep(layers[r], up);
      for (let r = nRanks - 2; r >= 0; r--) sweep(layers[r], down);
    }
    // x: centres; start packed, then pull towards the neighbours' mean without overlap
    const X = new Array(V).fill(0);
    for (const L of layers) {
      let x = 0;
      for (const v of L) { X[v] = x + W[v] / 2; x += W[v] + NODE_GAP; }
    }
    const place = (L, nb) => {
      if (!L.length) return;
      const want = L.map((v) => (nb[v].length ? nb[v].reduce((a, u) => a + X[u], 0) / nb[v].length : X[v]));
      const sep = (i) => (W[L[i - 1]] + W[L[i]]) / 2 + (W[L[i - 1]] === DUMMY_W && W[L[i]] === DUMMY_W ? 4 : NODE_GAP);
      const F = want.slice(), B = want.slice();
      for (let i = 1; i < L.length; i++) F[i] = Math.max(F[i], F[i - 1] + sep(i));
      for (let i = L.length - 2; i >= 0; i--) B[i] = Math.min(B[i], B[i + 1] - sep(i + 1));
      L.forEach((v, i) => { X[v] = (F[i] + B[i]) / 2; });
    };
    for (let it = 0; it < 6; it++) {
      for (let r = 1; r < nRanks; r++) place(layers[r], up);
      for (let r = nRanks - 2; r >= 0; r--) place(layers[r], down);
    }
    let minX = Infinity, maxX = -Infinity;
    for (let v = 0; v < V; v++) { minX = Math.min(minX, X[v] - W[v] / 2); maxX = Math.max(maxX, X[v] + W[v] / 2); }
    if (!isFinite(minX)) { minX = 0; maxX = 0; }
    const Y = (r) => MARGIN + 14 + r * (NODE_H + RANK_GAP) + NODE_H / 2;
    const pos = new Map();
    nodes.forEach((d, i) => pos.set(d.id, { x: X[i] - minX + MARGIN, y: Y(R[i]), rank: R[i] }));
    const paths = chains.map(({ e, chain }) => ({
      e,
      points: chain.map((v, k) => {
        const x = X[v] - minX + MARGIN, y = Y(R[v]);
        if (k === 0) return { x, y: y + NODE_H / 2 };
        if (k === chain.length - 1) return { x, y: y - NODE_H / 2 };
        return { x, y };
      }),
    }));
    return { pos, paths, width: maxX - minX + 2 * MARGIN, height: Y(nRanks - 1) + NODE_H / 2 + MARGIN, ranks: nRanks };
  }

  function curve(points) {
    let d = `M${points[0].x.toFixed(1)},${points[0].y.toFixed(1)}`;
    for (let k = 1; k < points.length; k++) {
      const a = points[k - 1], b = points[k], m = (a.y + b.y) / 2;
      d += ` C${a.x.toFixed(1)},${m.toFixed(1)} ${b.x.toFixed(1)},${m.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
    }
    return d;
  }

  // ----------------------------------------------------------------------------- the panel
  function Panel(box) {
    this.box = box;
    this.show = (title, ...content) => { // null: a part this view lacks (replaceChildren would write "null")
      box.replaceChildren(el("h3", { text: title }), ...content.filter((c) => c !== null && c !== undefined));
    };
  }
  function kv(rows) {
    return el("table", {}, ...rows.map(([k, v, num]) => el("tr", {}, el("td", { class: "muted", text: k }), el("td", { class: num ? "num" : "", text: v }))));
  }

  // ------------------------------------------------------------------------- network view
  /* shared: null on a page of one network; on the compare page {views, minZoom}: one metric and
   * one colour scale for every network (the largest value any of them shows), each network at a
   * zoom no smaller than minZoom (the page stacks them when they do not fit side by side). */
  function NetworkView(net, panel, slot, shared) {
    const a = net.analysis, rows = a.layers, graph = net.graph, groups = graph.groups;
    const n = rows.length, hosts = graph.hosts;
    const view = this;
    this.net = net;
    this.slot = slot;
    // innermost group of each row; depth of each group
    const groupOf = new Array(n).fill(null);
    groups.forEach((g, gi) => g.rows.forEach((r) => {
      if (groupOf[r] === null || groups[groupOf[r]].rows.length > g.rows.length) groupOf[r] = gi;
    }));
    const depth = groups.map((g) => { let d = 0, p = g.parent; while (p !== null) { d++; p = groups[p].parent; } return d; });
    const producers = rows.map(() => []), readers = rows.map(() => []);
    for (const [u, v] of graph.edges) { producers[v].push(u); readers[u].push(v); }
    const hosted = rows.map(() => []);
    hosts.forEach((h, i) => { if (h !== null) hosted[h].push(i); });
    const byName = new Map([...rows.map((r, i) => [visible(r.name), i]), ...rows.map((r, i) => [r.name, i])]);
    const folded = new Set();
    let fuse = true, metric = "macs", selected = null;

    const repOf = (r) => {
      const h = fuse && hosts[r] !== null ? hosts[r] : r;
      let g = groupOf[h], top = null;
      while (g !== null) { if (folded.has(g)) top = g; g = groups[g].parent; }
      return top !== null ? "g" + top : "r" + h;
    };
    const valueOf = (id, m) => {
      if (id[0] === "g") return groupValue(+id.slice(1), m);
      return rows[+id.slice(1)][m];
    };
    const groupValue = (gi, m) => groups[gi].totals[m];

    // the toolbar
    const graphBox = el("div", { class: "graph", id: `graph-${slot}` });
    const search = el("input", { type: "search", placeholder: "find a layer\u2026", list: `names-${slot}`, size: 18 });
    const names = el("datalist", { id: `names-${slot}` }, ...rows.slice(0, 5000).map((r) => el("option", { value: visible(r.name) })));
    const metricSel = el("select", { title: "node colour" }, ...Object.entries(METRICS).map(([k, v]) => el("option", { value: k, text: v })), el("option", { value: "none", text: "no colour" }));
    const fuseBox = el("input", { type: "checkbox", checked: "checked" });
    const legend = el("span", { class: "legend" });
    const zoomLabel = el("span", { class: "muted", text: "100%" });
    let zoom = 1;
    const toolbar = el("div", { class: "toolbar" },
      el("label", {}, "colour by ", metricSel), legend,
      el("button", { type: "button", class: "fold-all", on: { click: () => { groups.forEach((g, i) => folded.add(i)); this.render(); } } }, "fold all"),
      el("button", { type: "button", class: "unfold-all", on: { click: () => { folded.clear(); this.render(); } } }, "unfold all"),
      el("label", { title: "draw rows that add nothing and keep the shape (ReLU, dropout) inside the node before them" }, fuseBox, " in-place rows inside their node"),
      el("button", { type: "button", on: { click: () => { zoom = Math.max(0.2, zoom / 1.25); this.applyZoom(); } } }, "\u2212"),
      zoomLabel,
      el("button", { type: "button", on: { click: () => { zoom = Math.min(3, zoom * 1.25); this.applyZoom(); } } }, "+"),
      search, names,
    );
    this.setMetric = (m) => { metric = m; metricSel.value = m; };
    metricSel.addEventListener("change", () => {
      for (const v of shared ? shared.views : [this]) v.setMetric(metricSel.value);
      for (const v of shared ? shared.views : [this]) v.render();
    });
    fuseBox.addEventListener("change", () => { fuse = fuseBox.checked; this.render(); });
    search.addEventListener("change", () => { const i = byName.get(search.value.trim()); if (i !== undefined) this.reveal(i); });
    this.element = el("div", { class: "network", "data-model": a.model },
      slot !== null && DATA.kind === "compare" ? el("h3", { text: a.model }) : null, toolbar, graphBox);

    this.applyZoom = () => {
      const s = graphBox.querySelector("svg");
      if (!s) return;
      s.setAttribute("width", (+s.dataset.w * zoom).toFixed(0));
      s.setAttribute("height", (+s.dataset.h * zoom).toFixed(0));
      zoomLabel.textContent = Math.round(zoom * 100) + "%";
    };

    // visible nodes and edges under the current folding
    this.visible = () => {
      const nodes = [], seen = new Map();
      for (let r = 0; r < n; r++) {
        const id = repOf(r);
        if (seen.has(id)) { seen.get(id).rows.push(r); continue; }
        const node = { id, rows: [r] };
        seen.set(id, node);
        nodes.push(node);
      }
      const edges = [], ekeys = new Set();
      for (const [u, v] of graph.edges) {
        const s = repOf(u), t = repOf(v);
        if (s === t) continue;
        const key = s + ">" + t;
        if (ekeys.has(key)) continue;
        ekeys.add(key);
        edges.push({ from: s, to: t, label: shapeText(rows[u].output) });
      }
      for (const node of nodes) {
        if (node.id[0] === "g") {
          const g = groups[+node.id.slice(1)];
          node.title = clip(g.key, MAX_LABEL);
          node.info = `${g.rows.length} layers \u00b7 ${human(groupValue(+node.id.slice(1), "macs"))} MACs`;
        } else {
          const i = +node.id.slice(1), r = rows[i];
          const kinds = [r.kind, ...(fuse ? hosted[i].map((j) => rows[j].kind) : [])];
          node.title = clip(r.name, MAX_LABEL);
          node.info = clip(kinds.join("+"), 24) + " \u00b7 " + shapeText(r.output);
        }
        node.w = Math.max(textWidth(node.title, 7.2), textWidth(node.info, 6.0)) + (node.id[0] === "g" ? 34 : 16);
        node.h = NODE_H;
      }
      return { nodes, edges };
    };

    this.render = () => {
      const t0 = performance.now();
      const { nodes, edges } = this.visible();
      const L = layout(nodes, edges);
      const t1 = performance.now();
      this.lastLayout = L;
      this.shownMax = Math.max(0, ...nodes.map((d) => (metric === "none" ? null : valueOf(d.id, metric))).filter(isNum));
      const max = shared ? Math.max(...shared.views.map((v) => v.shownMax || 0)) : this.shownMax;
      this.scaleMax = max;
      const scale = scaleOf(max);
      const svg = sv("svg", { xmlns: SVGNS, viewBox: `0 0 ${L.width.toFixed(0)} ${L.height.toFixed(0)}`, "data-w": L.width.toFixed(0), "data-h": L.height.toFixed(0), role: "img", "aria-label": `${a.model}: ${nodes.length} nodes` });
      svg.dataset.w = L.width.toFixed(0); svg.dataset.h = L.height.toFixed(0);
      svg.append(sv("defs", {}, sv("marker", { id: `arrow-${slot}`, viewBox: "0 0 8 8", refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" }, sv("path", { d: "M0,0 L8,4 L0,8 z", fill: "#8c959f" }))));
      // frames of unfolded groups that hold visible nodes
      const frames = sv("g", { class: "frames" });
      const boxes = new Map();
      for (const d of nodes) {
        const p = L.pos.get(d.id);
        let g = d.id[0] === "g" ? groups[+d.id.slice(1)].parent : groupOf[fuse && hosts[d.rows[0]] !== null ? hosts[d.rows[0]] : d.rows[0]];
        while (g !== null) {
          const b = boxes.get(g) || { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
          b.x0 = Math.min(b.x0, p.x - d.w / 2); b.x1 = Math.max(b.x1, p.x + d.w / 2);
          b.y0 = Math.min(b.y0, p.y - NODE_H / 2); b.y1 = Math.max(b.y1, p.y + NODE_H / 2);
          boxes.set(g, b);
          g = groups[g].parent;
        }
      }
      [...boxes.entries()].sort((x, y) => depth[x[0]] - depth[y[0]]).forEach(([gi, b]) => {
        const pad = 8 - Math.min(depth[gi], 3) * 2;
        const fold = () => { folded.add(gi); this.render(); this.select("g" + gi); };
        frames.append(sv("g", { class: "frame", "data-group": groups[gi].key },
          sv("rect", { class: "frame", x: b.x0 - pad, y: b.y0 - pad - 10, width: b.x1 - b.x0 + 2 * pad, height: b.y1 - b.y0 + 2 * pad + 10, rx: 6 }),
          (() => { const t = sv("text", { class: "frame-label fold", x: b.x0 - pad + 4, y: b.y0 - pad + 1, text: "\u2212 " + clip(groups[gi].key, 40) }); t.addEventListener("click", fold); return t; })()));
      });
      svg.append(frames);
      const eg = sv("g", { class: "edges" }), lg = sv("g", { class: "edge-labels" });
      const outDeg = new Map(), inDeg = new Map(); // a large graph labels only the edges at forks and merges
      for (const e of edges) { outDeg.set(e.from, (outDeg.get(e.from) || 0) + 1); inDeg.set(e.to, (inDeg.get(e.to) || 0) + 1); }
      const labelled = new Set(); // one label per tensor: a node's output read twice is labelled once
      for (const { e, points } of L.paths) {
        eg.append(sv("path", { class: "edge", d: curve(points), "marker-end": `url(#arrow-${slot})` }));
        if (labelled.has(e.from + "|" + e.label)) continue;
        labelled.add(e.from + "|" + e.label);
        if (nodes.length <= 300 || outDeg.get(e.from) > 1 || inDeg.get(e.to) > 1) {
          const a0 = points[0], a1 = points[1];
          lg.append(sv("text", { class: "elabel", x: ((a0.x + a1.x) / 2 + 4).toFixed(1), y: (a0.y + Math.min(RANK_GAP, a1.y - a0.y) / 2 + 3).toFixed(1), text: e.label }));
        }
      }
      svg.append(eg, lg);
      const ng = sv("g", { class: "nodes" });
      for (const d of nodes) {
        const p = L.pos.get(d.id), isGroup = d.id[0] === "g";
        const v = metric === "none" ? null : valueOf(d.id, metric);
        const fill = metric === "none" ? "#ffffff" : colour(scale(v));
        const g = sv("g", { class: "node" + (isGroup ? " group" : "") + (selected === d.id ? " selected" : ""), "data-id": d.id, "data-name": isGroup ? groups[+d.id.slice(1)].key : rows[+d.id.slice(1)].name, transform: `translate(${(p.x - d.w / 2).toFixed(1)},${(p.y - NODE_H / 2).toFixed(1)})` },
          sv("title", { text: `${isGroup ? groups[+d.id.slice(1)].key : rows[+d.id.slice(1)].name}${metric !== "none" ? `\n${METRICS[metric]}: ${exact(v)}` : ""}` }),
          sv("rect", { class: "box", width: d.w.toFixed(1), height: NODE_H, rx: isGroup ? 8 : 4, fill }),
          sv("text", { class: "name", x: isGroup ? 22 : 8, y: 15, text: d.title }),
          sv("text", { class: "info", x: isGroup ? 22 : 8, y: 30, text: d.info }));
        g.addEventListener("click", () => this.select(d.id));
        if (isGroup) {
          const t = sv("g", { class: "toggle unfold" }, sv("rect", { x: 3, y: 3, width: 16, height: 16, fill: "#fff", stroke: "#0969da", rx: 3 }), sv("text", { x: 6.5, y: 16, text: "+" }));
          t.addEventListener("click", (ev) => { ev.stopPropagation(); folded.delete(+d.id.slice(1)); this.render(); });
          g.append(t);
        }
        ng.append(g);
      }
      svg.append(ng);
      const t2 = performance.now();
      if (!this.fitted) { // first sight: the whole width, unless unreadably small (read before the svg is in)
        graphBox.replaceChildren();
        this.fit();
        this.fitted = true;
      }
      graphBox.replaceChildren(svg);
      this.timings = { layout: +(t1 - t0).toFixed(1), svg: +(t2 - t1).toFixed(1) };
      this.applyZoom();
      legend.replaceChildren(...(metric === "none" ? [] : [el("span", { text: "0" }), el("span", { class: "swatch", style: `background: linear-gradient(90deg, ${colour(0)}, ${colour(0.5)}, ${colour(1)})` }), el("span", { text: human(max) + " (log)" })]));
      this.element.dataset.nodes = String(nodes.length);
      this.element.dataset.edges = String(edges.length);
      if (selected && !nodes.some((d) => d.id === selected)) selected = null;
      // a larger value shown here changes the scale of the others (one scale for all)
      if (shared) for (const v of shared.views) if (v !== this && v.scaleMax !== undefined && v.scaleMax !== max) v.render();
    };

    // the zoom that fits the drawing's width in its box, no smaller than the readable minimum
    this.fit = () => {
      const room = graphBox.clientWidth, L = this.lastLayout;
      if (room && L) zoom = Math.max(shared ? shared.minZoom : 0.4, Math.min(1, (room - 20) / L.width));
      this.applyZoom();
    };
    this.naturalWidth = () => (this.lastLayout ? this.lastLayout.width + 22 : 0);

    this.scrollTo = (id) => {
      const p = this.lastLayout && this.lastLayout.pos.get(id);
      if (!p) return;
      graphBox.scrollTo({ left: Math.max(0, p.x * zoom - graphBox.clientWidth / 2), top: Math.max(0, p.y * zoom - graphBox.clientHeight / 2) });
    };

    // reveal a row: unfold its groups, select its node
    this.reveal = (i) => {
      const h = fuse && hosts[i] !== null ? hosts[i] : i;
      let g = groupOf[h];
      while (g !== null) { folded.delete(g); g = groups[g].parent; }
      this.render();
      this.select("r" + h);
      this.scrollTo("r" + h);
    };

    this.select = (id) => {
      selected = id;
      for (const g of graphBox.querySelectorAll("g.node")) g.classList.toggle("selected", g.dataset.id === id);
      if (id[0] === "g") this.showGroup(+id.slice(1));
      else this.showRow(+id.slice(1));
      document.dispatchEvent(new CustomEvent("cnncalc-select", { detail: { slot, id } }));
    };

    const counts = (r) => [
      ["activations", exact(r.activations), 1], ["weights", exact(r.weights), 1], ["biases", exact(r.biases), 1],
      ["non-trainable", exact(r.non_trainable), 1], ["params", exact(r.params), 1], ["MACs", r.macs_counted === false ? "not counted" : exact(r.macs), 1],
    ];
    this.showRow = (i) => {
      const r = rows[i];
      const ins = producers[i].map((u) => `${shapeText(rows[u].output)} (${rows[u].name})`);
      const items = [
        ["kind", r.kind], ["input", ins.length ? ins.join("\n") : "-"], ["output", shapeText(r.output)],
        ...counts(r),
        ["receptive field", field(r.rf)], ["jump", field(r.jump)], ["start", field(r.start)],
      ];
      const parts = [el("div", { class: "muted", text: `${a.model} \u00b7 row ${i + 1} of ${n}` }), kv(items)];
      const ex = net.explain && net.explain[r.name];
      if (ex) {
        parts.push(el("h4", { text: "worked arithmetic (--explain)" }),
          el("div", { class: "expl", text: Object.entries(ex).map(([q, s]) => `${q.replace("_", "-")}: ${s.expression === String(s.value) ? exact(s.value) : s.expression + " = " + exact(s.value)}`).join("\n") }));
      } else if (a.symbolic || rows.some((x) => !isNum(x.params))) {
        parts.push(el("div", { class: "muted", text: "symbolic sizes: the expressions above are their own arithmetic" }));
      }
      const inner = hosted[i];
      if (inner.length) parts.push(el("h4", { text: "drawn inside this node" }), el("div", { class: "list" }, ...inner.map((j) => el("div", { text: `${rows[j].name} (${rows[j].kind})` }))));
      const outs = readers[i].map((v) => rows[v].name);
      if (outs.length) parts.push(el("div", { class: "muted", text: "read by: " + outs.join(", ") }));
      const warns = (a.warnings || []).filter((w) => w.includes(r.name));
      for (const w of warns) parts.push(el("div", { class: "warn", text: w }));
      panel.show(r.name, ...parts);
      document.dispatchEvent(new CustomEvent("cnncalc-row", { detail: { slot, row: i } }));
    };

    this.showGroup = (gi) => {
      const g = groups[gi], t = g.totals;
      const isFolded = folded.has(gi);
      const top = g.rows.filter((r) => isNum(rows[r].macs) && rows[r].macs > 0).sort((x, y) => rows[y].macs - rows[x].macs).slice(0, 8);
      panel.show(g.key,
        el("div", { class: "muted", text: `${a.model} \u00b7 block of ${g.rows.length} layers (${rows[g.rows[0]].name} \u2026 ${rows[g.rows[g.rows.length - 1]].name})` }),
        kv([["output", shapeText(rows[g.rows[g.rows.length - 1]].output)], ["activations", exact(t.activations), 1], ["weights", exact(t.weights), 1], ["biases", exact(t.biases), 1], ["non-trainable", exact(t.non_trainable), 1], ["params", exact(groupValue(gi, "params")), 1], ["MACs", exact(t.macs), 1]]),
        el("p", {}, el("a", { class: "act", on: { click: () => { if (isFolded) folded.delete(gi); else folded.add(gi); this.render(); this.select("g" + gi); } } }, isFolded ? "unfold this block" : "fold this block")),
        el("h4", { text: "its costliest layers (MACs)" }),
        el("div", { class: "list" }, ...top.map((r) => el("div", {}, el("a", { on: { click: () => this.reveal(r) } }, rows[r].name), ` ${human(rows[r].macs)}`))));
    };

    // the overview shown before any click: the costliest blocks and layers
    this.overview = () => {
      const m = metric === "none" ? "macs" : metric;
      const items = [];
      groups.forEach((g, gi) => { if (g.parent === null) items.push({ label: g.key, v: groupValue(gi, m), go: () => { this.render(); this.select("g" + gi); this.scrollTo("g" + gi); } }); });
      const blocks = items.filter((x) => isNum(x.v) && x.v > 0).sort((x, y) => y.v - x.v).slice(0, 8);
      const layers = rows.map((r, i) => ({ i, v: r[m] })).filter((x) => isNum(x.v) && x.v > 0).sort((x, y) => y.v - x.v).slice(0, 8);
      const link = (label, v, go) => el("div", {}, el("a", { on: { click: go } }, label), ` ${human(v)}`);
      panel.show(a.model,
        el("div", { class: "muted", text: "click a node for its row; + unfolds a block, \u2212 folds it" }),
        blocks.length ? el("h4", { text: `costliest blocks (${METRICS[m]})` }) : null,
        blocks.length ? el("div", { class: "list" }, ...blocks.map((b) => link(b.label, b.v, b.go))) : null,
        el("h4", { text: `costliest layers (${METRICS[m]})` }),
        el("div", { class: "list" }, ...layers.map((x) => link(rows[x.i].name, x.v, () => this.reveal(x.i)))));
    };

    // fold big networks at first sight
    const { nodes } = this.visible();
    if (nodes.length > 150) groups.forEach((g, gi) => { if (depth[gi] === 0) folded.add(gi); });
  }

  // ----------------------------------------------------------------------------------- charts
  function barChart(title, labels, values, opts) {
    const box = el("div", { class: "chart" }, el("h4", { text: title }));
    const draw = (log) => {
      const n = values.length, bw = Math.max(2, Math.min(18, Math.floor(1100 / Math.max(1, n)))), H = 190, left = 64, bottom = n > 60 ? 14 : 90;
      const W = left + n * bw + 20;
      const nums = values.map((v) => (isNum(v) ? v : 0));
      const max = Math.max(1, ...nums);
      const y = (v) => (log ? (v <= 0 ? 0 : Math.log10(v + 1) / Math.log10(max + 1)) : v / max) * H;
      const s = sv("svg", { width: W, height: H + bottom + 12, class: "bars" });
      const ticks = log ? Array.from({ length: Math.floor(Math.log10(max)) + 1 }, (_, k) => Math.pow(10, k)) : [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
      for (const t of ticks) {
        const yy = 6 + H - y(t);
        s.append(sv("line", { class: "gridline", x1: left, x2: W, y1: yy, y2: yy }), sv("text", { x: left - 4, y: yy + 3, "text-anchor": "end", text: human(Math.round(t)) }));
      }
      nums.forEach((v, i) => {
        const h = y(v);
        const r = sv("rect", { class: "bar", x: left + i * bw, y: 6 + H - h, width: Math.max(1, bw - 1), height: Math.max(0, h) }, sv("title", { text: `${labels[i]}: ${exact(values[i])}` }));
        if (opts && opts.onclick) r.addEventListener("click", () => opts.onclick(i));
        s.append(r);
        if (n <= 60) s.append(sv("text", { x: left + i * bw + bw / 2, y: 6 + H + 6, transform: `rotate(60 ${left + i * bw + bw / 2} ${6 + H + 6})`, text: clip(labels[i], 14) }));
      });
      s.append(sv("line", { class: "axis", x1: left, x2: W, y1: 6 + H, y2: 6 + H }));
      if (values.some((v) => !isNum(v))) s.append(sv("text", { x: left + 4, y: 16, text: "symbolic values are not drawn (see the table)" }));
      box.replaceChildren(box.firstChild, s);
    };
    box.draw = draw;
    draw(false);
    return box;
  }

  function lineChart(title, series, opts) {
    opts = opts || {};
    const box = el("div", { class: "chart" }, el("h4", { text: title }));
    const W = opts.width || 720, H = 220, left = 60, bottom = 30, top = 8;
    const pts = series.flatMap((s) => s.xs.map((x, i) => [x, s.ys[i]])).filter(([x, yv]) => isNum(x) && isNum(yv) && (!opts.logy || yv > 0));
    if (!pts.length) { box.append(el("div", { class: "muted", text: "no numeric values to draw" })); return box; }
    const ty = (v) => (opts.logy ? Math.log10(v) : v);
    const x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
    const y0 = Math.min(...pts.map((p) => ty(p[1]))), y1 = Math.max(...pts.map((p) => ty(p[1])));
    const X = (v) => left + (x1 === x0 ? 0.5 : (v - x0) / (x1 - x0)) * (W - left - 10);
    const Y = (v) => top + H - (y1 === y0 ? 0.5 : (ty(v) - y0) / (y1 - y0)) * H;
    const s = sv("svg", { width: W, height: H + top + bottom + 16 * Math.ceil(series.length / 3) });
    for (let k = 0; k <= 4; k++) {
      const v = y0 + (k / 4) * (y1 - y0), yy = top + H - (k / 4) * H;
      const label = opts.logy ? Math.pow(10, v).toPrecision(2) : (Math.abs(v) >= 1000 ? human(Math.round(v)) : (+v.toPrecision(3)).toString());
      s.append(sv("line", { class: "gridline", x1: left, x2: W - 10, y1: yy, y2: yy }), sv("text", { x: left - 4, y: yy + 3, "text-anchor": "end", text: label }));
    }
    s.append(sv("line", { class: "axis", x1: left, x2: W - 10, y1: top + H, y2: top + H }));
    s.append(sv("text", { x: left, y: top + H + 14, text: String(x0) }), sv("text", { x: W - 10, y: top + H + 14, "text-anchor": "end", text: String(x1) }));
    if (opts.xlabel) s.append(sv("text", { x: (W + left) / 2, y: top + H + 14, "text-anchor": "middle", text: opts.xlabel }));
    const palette = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#0a3069", "#bf3989", "#57606a"];
    series.forEach((ser, k) => {
      const p = ser.xs.map((x, i) => [x, ser.ys[i]]).filter(([x, yv]) => isNum(x) && isNum(yv) && (!opts.logy || yv > 0));
      if (!p.length) return;
      const c = palette[k % palette.length];
      const d = p.map(([x, yv], i) => `${i ? "L" : "M"}${X(x).toFixed(1)},${Y(yv).toFixed(1)}`).join(" ");
      s.append(sv("path", { d, fill: "none", stroke: c, "stroke-width": 1.6, ...(opts.step ? {} : {}) }, sv("title", { text: ser.label })));
      if (p.length <= 60) p.forEach(([x, yv]) => s.append(sv("circle", { cx: X(x), cy: Y(yv), r: 2.2, fill: c }, sv("title", { text: `${ser.label}: ${x}, ${yv}` }))));
      if (series.length > 1 || opts.legend) {
        const lx = left + (k % 3) * 220, ly = top + H + 30 + Math.floor(k / 3) * 16;
        s.append(sv("rect", { x: lx, y: ly - 8, width: 10, height: 10, fill: c }), sv("text", { x: lx + 14, y: ly + 1, text: clip(ser.label, 32) }));
      }
    });
    box.append(s);
    return box;
  }

  // ------------------------------------------------------------------------ page sections
  function header(title, sub, extra) {
    return el("header", { class: "top" }, el("h1", { text: title }), el("div", { class: "sub", text: sub }), ...(extra || []));
  }
  function nav(links) {
    return el("nav", { class: "sections" }, ...links.map(([id, label]) => el("a", { href: "#" + id, text: label })));
  }

  function chartsSection(view) {
    const a = view.net.analysis, rows = a.layers;
    const idx = rows.map((r, i) => i).filter((i) => ["activations", "weights", "biases", "non_trainable", "macs"].some((k) => rows[i][k] !== 0) || rows[i].kind === "Input");
    const labels = idx.map((i) => rows[i].name);
    const go = (k) => view.reveal(idx[k]);
    const charts = [
      barChart("parameters per layer", labels, idx.map((i) => rows[i].params), { onclick: go }),
      barChart("activations per layer (output elements)", labels, idx.map((i) => rows[i].activations), { onclick: go }),
      barChart("MACs per layer", labels, idx.map((i) => rows[i].macs), { onclick: go }),
    ];
    const logBox = el("input", { type: "checkbox", class: "log-scale" });
    logBox.addEventListener("change", () => charts.forEach((c) => c.draw(logBox.checked)));
    const rf = rows.map((r, i) => [i, Array.isArray(r.rf) ? r.rf[0] : r.rf, Array.isArray(r.jump) ? r.jump[0] : r.jump]).filter((x) => isNum(x[1]));
    const rfChart = lineChart("receptive field along the network (pixels of the input seen by one output unit; jump = effective stride)",
      [{ label: "receptive field", xs: rf.map((x) => x[0] + 1), ys: rf.map((x) => x[1]) }, { label: "jump", xs: rf.map((x) => x[0] + 1), ys: rf.map((x) => x[2]) }],
      { xlabel: "row", width: Math.max(720, Math.min(1400, rf.length * 8)), legend: true });
    return el("section", { id: "charts" }, el("h2", { text: "Per-layer costs and the receptive field" }),
      el("div", { class: "toolbar" }, el("label", {}, logBox, " log scale"), el("span", { class: "muted", text: "bars: the rows that add something, in execution order; click a bar to find its node" })),
      el("div", { class: "charts" }, ...charts, rfChart));
  }

  function totalsSection(net, id, title, conventions) {
    const conv = conventions ? DATA.conventions || [] : [];
    return el("section", { id: id || "totals" }, el("h2", { text: title || "Totals and the counting convention" }),
      el("pre", { class: "summary", text: (net.summary || []).join("\n") }),
      conv.length ? el("pre", { class: "summary", text: conv.join("\n") }) : null);
  }
  function conventionsSection() {
    return el("section", { id: "conventions" }, el("h2", { text: "The counting convention" }), el("pre", { class: "summary", text: (DATA.conventions || []).join("\n") }));
  }

  const TABLE = [["name", "layer"], ["kind", "kind"], ["output", "output"], ["activations", "activations"], ["weights", "weights"], ["biases", "biases"], ["non_trainable", "non-trainable"], ["params", "params"], ["macs", "MACs"], ["rf", "RF"], ["jump", "jump"], ["start", "start"]];
  function tableSection(view) {
    const a = view.net.analysis, rows = a.layers;
    const hide = el("input", { type: "checkbox" }), units = el("select", {}, el("option", { value: "exact", text: "exact" }), el("option", { value: "human", text: "human" }));
    const wrap = el("div", { class: "tablewrap" });
    const cell = (r, k, u) => {
      const f = u === "human" ? human : exact;
      if (k === "output") return shapeText(r.output);
      if (["rf", "jump", "start"].includes(k)) return field(r[k]);
      if (["name", "kind"].includes(k)) return r[k];
      if (k === "macs" && r.macs_counted === false) return "not counted";
      return f(r[k]);
    };
    const draw = () => {
      const body = el("tbody");
      rows.forEach((r, i) => {
        if (hide.checked && r.kind !== "Input" && ["activations", "weights", "biases", "non_trainable", "macs"].every((k) => r[k] === 0)) return;
        const tr = el("tr", { "data-row": i }, ...TABLE.map(([k]) => el("td", { class: ["name", "kind"].includes(k) ? "" : "num", text: cell(r, k, units.value) })));
        tr.addEventListener("click", () => view.reveal(i));
        body.append(tr);
      });
      const t = { ...a.totals, name: "total", kind: "", output: a.output, rf: null, jump: null, start: null };
      body.append(el("tr", { class: "total" }, ...TABLE.map(([k]) => el("td", { class: ["name", "kind"].includes(k) ? "" : "num", text: ["rf", "jump", "start", "kind"].includes(k) ? "" : cell(t, k, units.value) }))));
      wrap.replaceChildren(el("table", { class: "data" }, el("thead", {}, el("tr", {}, ...TABLE.map(([, h]) => el("th", { text: h })))), body));
    };
    hide.addEventListener("change", draw);
    units.addEventListener("change", draw);
    draw();
    return el("section", { id: "table" }, el("h2", { text: "The table (the --format json data)" }),
      el("div", { class: "toolbar" }, el("label", {}, hide, " hide rows that add nothing"), el("label", {}, "units ", units)), wrap);
  }

  function warnings(list) {
    const items = (list || []).map((w) => el("div", { class: "warn", text: "warning: " + w }));
    if (items.length <= 3) return items;
    return [el("details", { class: "warnings" }, el("summary", { class: "warn", text: `${items.length} warnings` }), ...items)];
  }

  // --------------------------------------------------------------------------------- pages
  const TIMINGS = {};
  const LATER = [];
  function later(fn) { LATER.push(fn); }
  function timed(name, fn) {
    const t = performance.now();
    const result = fn();
    TIMINGS[name] = +(performance.now() - t).toFixed(1);
    return result;
  }
  function networkPage() {
    const net = DATA.network, a = net.analysis;
    const panelBox = el("aside", { class: "panel", id: "panel" });
    const panel = new Panel(panelBox);
    const view = new NetworkView(net, panel, 0);
    const app = document.getElementById("app");
    app.append(header(a.model, `input ${shapeText(a.input)} \u2192 output ${shapeText(a.output)} \u00b7 ${a.layers.length} rows \u00b7 ${DATA.description || ""}`, [
      nav([["network", "network"], ["charts", "per-layer charts"], ["totals", "totals"], ["table", "table"]]), ...warnings(a.warnings)]));
    const charts = el("section", { id: "charts" }), table = el("section", { id: "table" });
    const main = el("main", {},
      el("section", { id: "network" }, el("h2", { text: "The network" }), el("div", { class: "workspace" }, el("div", { class: "graphs" }, view.element), panelBox)),
      charts, totalsSection(net, "totals", null, true), table);
    app.append(main);
    timed("graph", () => view.render());
    view.overview();
    // the charts and the table after the first paint: the graph shows at once on a large network
    later(() => {
      charts.replaceWith(timed("charts", () => chartsSection(view)));
      table.replaceWith(timed("table", () => tableSection(view)));
    });
    return [view];
  }

  function comparePage() {
    const c = DATA.comparison, nets = DATA.networks;
    const panelBox = el("aside", { class: "panel", id: "panel" });
    const panel = new Panel(panelBox);
    const shared = { views: [], minZoom: 0.8 };
    const views = nets.map((net, k) => new NetworkView(net, panel, k, shared));
    shared.views.push(...views);
    const app = document.getElementById("app");
    const head = ["", ...c.models.map((m) => m.model)];
    const line = (label, f) => el("tr", {}, el("td", { text: label }), ...c.models.map((m) => el("td", { class: "num", text: f(m) })));
    const maxBranches = Math.max(0, ...c.models.map((m) => Object.keys(m.branches).length));
    const branchRows = [];
    for (let b = 0; b < maxBranches; b++) branchRows.push(line(`${c.unit}, branch ${b + 1}`, (m) => { const e = Object.entries(m.branches)[b]; return e ? `${e[0].split(": ").slice(1).join(": ")}  ${exact(e[1])}` : ""; }));
    const table = el("table", { class: "data comparison" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { text: h })))), el("tbody", {},
      line("output", (m) => shapeText(m.output)), ...branchRows, line(`${c.unit}, total`, (m) => exact(m.ops)), line("params", (m) => exact(m.params)), line("activations", (m) => exact(m.activations)),
      line(`${c.unit} saving vs ${c.models[0].model}`, (m) => (isNum(m.saving) ? m.saving.toFixed(2) + "x" : String(m.saving) + "x"))));
    app.append(header(c.models.map((m) => m.model).join(" vs "), `compared by ${c.unit}`, [nav([["comparison", "comparison"], ["networks", "networks"], ["totals-0", "totals"], ["conventions", "counting convention"]]), ...warnings(DATA.warnings)]));
    const graphs = el("div", { class: "graphs compared" }, ...views.map((v) => v.element));
    app.append(el("main", {},
      el("section", { id: "comparison" }, el("h2", { text: "Side by side" }), table),
      el("section", { id: "networks" }, el("h2", { text: "The networks" }), el("div", { class: "workspace" }, graphs, panelBox)),
      ...nets.map((net, k) => totalsSection(net, `totals-${k}`, `Totals: ${net.analysis.model}`, false)),
      conventionsSection()));
    views.forEach((v) => v.render());
    // each network asks for its width at 100%: side by side when both fit, else stacked (the
    // flex row wraps), then each is zoomed to its box
    views.forEach((v) => { v.element.style.flexBasis = Math.ceil(v.naturalWidth()) + "px"; });
    views.forEach((v) => v.fit());
    views[0].overview();
    return views;
  }

  function runsPage() {
    const app = document.getElementById("app");
    const runs = DATA.runs;
    const table = el("table", { class: "data" }, el("thead", {}, el("tr", {}, ...DATA.columns.map((h) => el("th", { text: h })))),
      el("tbody", {}, ...DATA.rows.map((r) => el("tr", {}, ...r.map((v) => el("td", { text: v }))))));
    const curve = (key) => runs.map((r) => ({ label: r.label, xs: r.history.map((h) => h.epoch), ys: r.history.map((h) => h[key]) }));
    const sections = [
      el("section", { id: "runs" }, el("h2", { text: "Runs" }), el("div", { class: "tablewrap" }, table)),
      el("section", { id: "curves" }, el("h2", { text: "Curves" }), el("div", { class: "charts grid" },
        lineChart("training loss per epoch", curve("loss"), { xlabel: "epoch" }),
        lineChart("validation loss per epoch", curve("val_loss"), { xlabel: "epoch" }),
        lineChart("validation accuracy per epoch", curve("val_accuracy"), { xlabel: "epoch" }))),
      el("section", { id: "each" }, el("h2", { text: "Each run" }), ...runs.map((r) => {
        const tr = r.traces || [];
        const parts = [];
        if (tr.length) {
          parts.push(lineChart("learning rate per step", [{ label: "learning rate", xs: tr.map((t) => t.step), ys: tr.map((t) => t.learning_rate) }], { xlabel: "step" }));
          parts.push(lineChart("batch size per step", [{ label: "batch size", xs: tr.map((t) => t.step), ys: tr.map((t) => t.batch_size) }], { xlabel: "step" }));
          parts.push(lineChart("batch loss per step", [{ label: "loss", xs: tr.map((t) => t.step), ys: tr.map((t) => t.loss) }], { xlabel: "step" }));
        }
        if (r.images.length) parts.push(el("div", { class: "images" }, ...r.images.map((im) => el("figure", {}, el("img", { src: im.data, alt: im.name }), el("figcaption", { text: im.name })))));
        if (r.bounds) parts.push(el("h4", { text: "suggested bounds" }), el("pre", { class: "summary", text: JSON.stringify(r.bounds, null, 2) }));
        parts.push(el("h4", { text: "metrics" }), el("pre", { class: "summary", text: JSON.stringify(r.metrics, null, 2) }));
        parts.push(el("h4", { text: "configuration" }), el("pre", { class: "summary", text: JSON.stringify(r.config, null, 2) }));
        return el("details", { class: "run", open: runs.length <= 3 ? "open" : null }, el("summary", { text: `${r.label} \u00b7 ${r.state || ""}` }), ...parts);
      })),
    ];
    app.append(header("Training runs", `${runs.length} run(s)`, [nav([["runs", "table"], ["curves", "curves"], ["each", "each run"]])]), el("main", {}, ...sections));
    return [];
  }

  const started = performance.now();
  const views = DATA.kind === "compare" ? comparePage() : DATA.kind === "runs" ? runsPage() : networkPage();
  window.cnncalc = { views, data: DATA, layout };
  TIMINGS.first = +(performance.now() - started).toFixed(1);
  // rendered: milliseconds from navigation to the first frame with the graph drawn; complete:
  // once the deferred sections are built too
  requestAnimationFrame(() => {
    document.body.dataset.rendered = performance.now().toFixed(1);
    setTimeout(() => {
      for (const fn of LATER) fn();
      document.body.dataset.complete = performance.now().toFixed(1);
      document.body.dataset.timings = JSON.stringify({ ...TIMINGS, ...(views[0] && views[0].timings) });
    }, 0);
  });
})();
