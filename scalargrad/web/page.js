// scalargrad's interactive page: forward and backward in the browser, the chain rule in
// words, the backward pass step by step, and `scalargrad check`'s verdicts if it has run.
// Written into every page by scalargrad/page.py,
// after `OPS` (the derivative table, made from the JS columns of scalargrad/ops.py).
// Loops only, never recursion; text from the program is set with textContent only.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("sg-data").textContent);
  const NODES = DATA.nodes;
  const N = NODES.length;
  const DEC = DATA.decimals;
  const SVGNS = "http://www.w3.org/2000/svg";
  const value = new Float64Array(N);
  const grad = new Float64Array(N);
  const running = new Float64Array(N);  // gradients part-way through the backward pass
  const state = {step: -1, selected: null, last: null, checkStale: null};
  const uses = new Int32Array(N);  // how many accumulations each node has had, while stepping
  const $ = (id) => document.getElementById(id);

  // -- numbers, as scalargrad.render.fixed writes them ----------------------------------
  function fixed(x) {
    const size = Math.abs(x);
    if (x === 0 || (Math.pow(10, -DEC) <= size && size < 1e9)) {
      const text = x.toFixed(DEC);
      return text[0] === "-" && Number(text) === 0 ? text.slice(1) : text;
    }
    if (!Number.isFinite(x)) return x !== x ? "nan" : (x > 0 ? "inf" : "-inf");
    const parts = x.toExponential(DEC).split("e");
    const sign = parts[1][0] === "-" ? "-" : "+";
    const digits = parts[1].replace(/^[+-]/, "");
    return parts[0] + "e" + sign + (digits.length < 2 ? "0" + digits : digits);
  }

  // -- the engine: forward, local derivatives, backward (as scalargrad.engine) ---------
  function forward() {
    for (let i = 0; i < N; i++) {
      const node = NODES[i];
      if (node.prev.length === 0) continue;
      const op = OPS[node.op];
      const out = node.prev.length === 2 ? op.forward(value[node.prev[0]], value[node.prev[1]])
        : op.forward(value[node.prev[0]]);
      if (!Number.isFinite(out)) return i;
      value[i] = out;
    }
    return -1;
  }

  function local(i) {
    const node = NODES[i];
    const op = OPS[node.op];
    return node.prev.length === 2 ? op.local(value[i], value[node.prev[0]], value[node.prev[1]])
      : op.local(value[i], value[node.prev[0]]);
  }

  function kink(i) {
    const node = NODES[i];
    const op = OPS[node.op];
    if (!op.kink) return false;
    return node.prev.length === 2 ? op.kink(value[node.prev[0]], value[node.prev[1]]) : op.kink(value[node.prev[0]]);
  }

  function backward() {
    grad.fill(0);
    grad[DATA.of] = 1;
    for (let i = N - 1; i >= 0; i--) {
      const prev = NODES[i].prev;
      const g = grad[i];
      if (prev.length === 0 || g === 0) continue;
      const d = local(i);
      for (let p = 0; p < prev.length; p++) grad[prev[p]] += g * d[p];
    }
    let bad = -1;
    for (let i = 0; i < N; i++) {
      if (NODES[i].kind === "const") grad[i] = 0;
      else if (bad < 0 && !Number.isFinite(grad[i])) bad = i;
    }
    return bad;
  }

  function product(g, d) {
    return g !== 0 ? g * d : 0;  // as scalargrad.explain: a zero gradient passes nothing on
  }

  // Run the program at the inputs' values; on a domain error keep the last values that worked.
  function run() {
    for (const input of DATA.inputs) value[input.id] = input.value;
    const failed = forward();
    const bad = failed < 0 ? backward() : -1;
    const error = $("sg-error");
    if (failed < 0 && bad < 0) {
      state.last = {value: Float64Array.from(value), grad: Float64Array.from(grad)};
      error.hidden = true;
      return;
    }
    const where = NODES[failed >= 0 ? failed : bad];
    error.textContent = (failed >= 0 ? "`" + where.text + "` has no finite value at these inputs"
      : "the gradient of `" + where.label + "` is not finite at these inputs")
      + " (run `scalargrad grad` there for the reason); showing the last values that worked.";
    error.hidden = false;
    if (state.last) {
      value.set(state.last.value);
      grad.set(state.last.grad);
    }
  }

  // -- the backward pass, step by step (scalargrad.explain.backward_steps) -------------
  function replay(upto) {
    running.fill(0);
    uses.fill(0);
    for (let k = 0; k <= upto; k++) {
      const step = DATA.steps[k];
      if (step[0] === "seed") running[step[1]] = 1;
      if (step[0] !== "pass") continue;
      running[step[2]] += product(grad[step[1]], local(step[1])[step[3]]);
      uses[step[2]] += 1;
    }
  }

  function stepText(k) {
    const step = DATA.steps[k];
    const node = NODES[step[1]];
    if (step[0] === "seed") return [node.grad_of + " = 1 (seed: " + node.d + "/" + node.d + ")", ""];
    if (step[0] === "visit") {
      const then = node.prev.length ? "passes it on to its operands" : "an input: nothing to pass on";
      return [node.label + ": grad " + fixed(grad[step[1]]) + " is complete; " + then, ""];
    }
    const target = NODES[step[2]];
    const d = local(step[1])[step[3]];
    const after = running[step[2]];
    const before = after - product(grad[step[1]], d);
    let text = target.grad_of + " += " + fixed(grad[step[1]]) + " * " + fixed(d) + " -> " + fixed(after);
    if (uses[step[2]] > 1) {
      text += "   (" + target.label + " is used again: += adds this share to the " + fixed(before)
        + " it already had)";
    }
    return [text, node.locals[step[3]] || ""];
  }

  // -- the chain rule in words (scalargrad.explain.equation and term_note) ------------
  function chainLine(i) {
    const node = NODES[i];
    if (node.status !== "chain") return node.line;
    let sum = 0;
    const numeric = node.terms.map(function (term) {
      const d = local(term[0])[term[1]];
      sum += product(grad[term[0]], d);
      return "(" + fixed(grad[term[0]]) + ")(" + (term[2] === null ? fixed(d) : term[2] + " = " + fixed(d)) + ")";
    });
    return dOf(DATA.of) + "/" + node.d + " = " + node.symbolic + " = " + numeric.join(" + ") + " = " + fixed(sum);
  }

  function dOf(i) {
    return NODES[i].d;
  }

  function notes(i) {
    const node = NODES[i];
    if (node.status !== "chain") return [];
    return node.terms.map(function (term) {
      if (!kink(term[0])) return term[3];
      return term[3] + " (not differentiable at this point: the table's value " + fixed(local(term[0])[term[1]])
        + " is used)";
    });
  }

  // -- scalargrad check's verdicts (the session's `check`) -----------------------------
  // A verdict holds at the values the check ran at: while any input differs from them, the
  // marks turn grey and say "was PASS", and the legend says where the check ran.
  // Each row: [node id, status, analytic, numeric, reason].
  const CHECK = DATA.check && DATA.check.of === DATA.of ? DATA.check : null;
  const verdicts = new Array(N).fill(null);
  if (CHECK) for (const row of CHECK.rows) verdicts[row[0]] = row;
  const SHOWN_VALUES = 4;  // values named in the legend before "and N more"

  function moved() {  // the inputs that are not at the check's values
    return DATA.inputs.filter((input) => input.value !== CHECK.values[input.name]);
  }

  function checkedAt(inputs, now) {  // "a = 2, b = -3" (with now: "a = 2 (now 2.5)")
    const named = inputs.slice(0, SHOWN_VALUES).map((input) => input.name + " = " + String(CHECK.values[input.name])
      + (now ? " (now " + String(input.value) + ")" : ""));
    const more = inputs.length - named.length;
    return named.join(", ") + (more > 0 ? " and " + more + " more" : "");
  }

  function significant(x) {  // as the check's table writes numbers: 10 significant digits
    return x === null ? "none" : String(Number(x.toPrecision(10)));
  }

  function verdictText(row) {
    return (state.checkStale ? "was " : "") + row[1];
  }

  // The marks: a word on each checked node (never colour alone) in a layer above the graph,
  // and the node's outline (solid: PASS, thick: FAIL, dashed: KINK, dotted grey: stale).
  function buildMarks() {
    const svg = document.querySelector("#sg-graph svg");
    if (!CHECK || !DATA.decorate || !svg) return;
    const layer = document.createElementNS(SVGNS, "g");
    layer.id = "sg-marks";
    for (let i = 0; i < N; i++) {
      const entry = view[i];
      if (!verdicts[i] || !entry.shape) continue;
      const box = entry.shape.getBBox();
      const mark = document.createElementNS(SVGNS, "g");
      mark.dataset.node = String(i);
      const rect = document.createElementNS(SVGNS, "rect");
      const text = document.createElementNS(SVGNS, "text");
      mark.append(rect, text);
      layer.appendChild(mark);
      entry.mark = {group: mark, rect: rect, text: text, right: box.x + box.width - 8, top: box.y};
    }
    if (!layer.firstChild) return;
    graphGroup(svg).appendChild(layer);
    // room above the top row for its marks, which sit astride the nodes' upper edges
    const box = svg.viewBox.baseVal;
    svg.setAttribute("viewBox", [box.x, box.y - 8, box.width, box.height + 8].join(" "));
    const height = svg.getAttribute("height");
    if (height && /pt$/.test(height)) svg.setAttribute("height", (parseFloat(height) + 8) + "pt");
  }

  function graphGroup(svg) {  // the group that holds the graph (Graphviz's graph0), in its coordinates
    return svg.querySelector("g.graph") || svg;
  }

  function placeMark(i) {
    const mark = view[i].mark;
    const status = verdicts[i][1].toLowerCase();
    mark.group.setAttribute("class", "sg-mark sg-" + status + (state.checkStale ? " sg-stale" : ""));
    mark.text.textContent = verdictText(verdicts[i]);
    const width = mark.text.getComputedTextLength() + 8;
    const attributes = {x: mark.right - width, y: mark.top - 7, width: width, height: 13, rx: 3};
    for (const name in attributes) mark.rect.setAttribute(name, String(attributes[name]));
    mark.text.setAttribute("x", String(mark.right - width / 2));
    mark.text.setAttribute("y", String(mark.top + 3.5));
    mark.text.setAttribute("text-anchor", "middle");
  }

  // Called by refresh: marks, table cells and legend follow whether the inputs are the check's.
  function showCheck() {
    if (!DATA.check) return;
    const legend = $("sg-check");
    legend.hidden = false;
    if (!CHECK) {
      legend.textContent = "scalargrad check ran on the gradients of " + NODES[DATA.check.of].label
        + "; this page shows those of " + DATA.of_label + ", so its verdicts are not marked (give dot the same --of).";
      return;
    }
    const away = moved();
    const stale = away.length > 0;
    if (stale !== state.checkStale) {
      state.checkStale = stale;
      for (let i = 0; i < N; i++) {
        if (!verdicts[i]) continue;
        if (view[i].mark) placeMark(i);
        if (view[i].group) {
          view[i].group.classList.add("sg-check-" + verdicts[i][1].toLowerCase());
          view[i].group.classList.toggle("sg-check-stale", stale);
        }
        const cell = view[i].row.cells[5];
        cell.textContent = verdictText(verdicts[i]);
        cell.className = "sg-" + verdicts[i][1].toLowerCase() + (stale ? " sg-stale" : "");
      }
    }
    const unchecked = NODES.filter((node, i) => !verdicts[i] && node.kind !== "const").length;
    const counts = {PASS: 0, FAIL: 0, KINK: 0};
    for (const row of CHECK.rows) counts[row[1]] += 1;
    legend.className = stale ? "sg-stale" : "";
    legend.title = CHECK.summary;  // with the step and tolerances used
    legend.textContent = stale
      ? "Stale: scalargrad check ran at " + checkedAt(away, true) + ". Its verdicts (grey, marked \u201cwas\u201d) held "
        + "there, not at these values: set the inputs back, or run scalargrad check here."
      : "scalargrad check ran at these values (" + checkedAt(DATA.inputs, false) + "): " + CHECK.rows.length
        + " checked, " + counts.PASS + " PASS, " + counts.FAIL + " FAIL, " + counts.KINK + " KINK."
        + " (PASS: the gradient agrees with finite differences; FAIL: it does not; KINK: not differentiable"
        + " there, the slopes either side differ.)"
        + (unchecked ? " Nodes without a mark were not checked (scalargrad check --all checks every node)." : "");
  }

  const view = [];  // per node: {data, grad, shape} in the picture, and its table cells
  function collect() {
    for (let i = 0; i < N; i++) {
      const entry = {};
      const group = document.getElementById("n" + i);
      if (group && group.closest("#sg-graph")) {
        const texts = group.getElementsByTagName("text");
        entry.group = group;
        entry.data = texts[texts.length - 2];
        entry.grad = NODES[i].kind === "const" ? null : texts[texts.length - 1];
        entry.shape = group.querySelector("path, polygon");
      }
      view.push(entry);
    }
    for (const text of document.querySelectorAll("#sg-graph text")) {
      if (text.textContent.startsWith("paler: smaller |grad|")) state.legend = text;
    }
  }

  function buildTable() {
    const body = document.querySelector("#sg-table tbody");
    const rows = document.createDocumentFragment();
    for (let i = 0; i < N; i++) {
      const row = document.createElement("tr");
      row.dataset.node = String(i);
      const node = NODES[i];
      const cells = [String(i), node.label, node.op ? node.symbol : node.kind, "", ""];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      }
      if (CHECK) row.appendChild(document.createElement("td"));
      view[i].row = row;
      rows.appendChild(row);
    }
    body.appendChild(rows);
    if (CHECK) {
      const head = document.createElement("th");
      head.textContent = "check";
      document.querySelector("#sg-table thead tr").appendChild(head);
    }
    if (!document.querySelector("#sg-graph svg")) $("sg-table-box").open = true;
  }

  function colour(g, largest) {
    const c = DATA.colours;
    if (g === 0 || largest === 0) return c.zero;
    const shades = g > 0 ? c.positive : c.negative;
    const ratio = Math.abs(g) / largest;
    return ratio >= c.strong ? shades[2] : ratio >= c.medium ? shades[1] : shades[0];
  }

  function refresh() {
    const stepping = state.step >= 0;
    if (stepping) replay(state.step);
    const shown = stepping ? running : grad;
    let largest = 0;
    for (let i = 0; i < N; i++) {
      if (view[i].shape && NODES[i].kind !== "const") largest = Math.max(largest, Math.abs(shown[i]));
    }
    for (let i = 0; i < N; i++) {
      const entry = view[i];
      const data = "data " + fixed(value[i]);
      const g = NODES[i].kind === "const" ? "const" : "grad " + fixed(shown[i]);
      if (entry.data) entry.data.textContent = data;
      if (entry.grad) entry.grad.textContent = g;
      if (entry.shape && DATA.decorate && NODES[i].kind !== "const") {
        entry.shape.setAttribute("fill", colour(shown[i], largest));
      }
      entry.row.cells[3].textContent = fixed(value[i]);
      entry.row.cells[4].textContent = NODES[i].kind === "const" ? "" : fixed(shown[i]);
    }
    if (state.legend) state.legend.textContent = "paler: smaller |grad| (largest " + fixed(largest) + ")";
    $("sg-output").textContent = NODES[DATA.output].label + " = " + fixed(value[DATA.output])
      + (DATA.of !== DATA.output ? "   (gradients of " + DATA.of_label + ")" : "");
    showStep();
    showCheck();
    if (state.selected) show(state.selected);
  }

  // -- what the panel shows -------------------------------------------------------------
  function line(parent, text, className) {
    const p = document.createElement("p");
    p.textContent = text;
    if (className) p.className = className;
    parent.appendChild(p);
  }

  function showNode(i) {
    const node = NODES[i];
    const info = $("sg-info");
    const what = node.kind === "input" ? "input" : node.kind === "const" ? "a number in the program"
      : "op " + node.symbol + (node.label !== node.text ? ": " + node.label + " = " + node.text : ": " + node.text);
    $("sg-info-title").textContent = "[" + i + "] " + node.label;
    line(info, what);
    const done = state.step >= 0 ? " (once the pass is done)" : "";
    line(info, "data " + fixed(value[i]) + (node.kind === "const" ? "" : "   grad " + fixed(grad[i]) + done), "sg-mono");
    if (node.prev.length) {
      const d = local(i);
      node.prev.forEach(function (p, position) {
        const text = node.locals[position] || node.d + "/" + NODES[p].d;
        line(info, "local derivative " + text + " = " + fixed(d[position]), "sg-mono");
      });
    }
    line(info, "chain rule: " + chainLine(i), "sg-mono sg-chain");
    for (const note of notes(i)) line(info, note, "sg-mono sg-dim");
    const row = CHECK ? verdicts[i] : null;
    if (row) {
      const where = state.checkStale ? "check at " + checkedAt(moved(), false) + ", not here: " : "check: ";
      line(info, where + verdictText(row) + "   analytic " + significant(row[2]) + "   numeric " + significant(row[3]),
        "sg-mono sg-verdict sg-" + row[1].toLowerCase() + (state.checkStale ? " sg-stale" : ""));
      if (row[4]) line(info, row[4], "sg-mono sg-dim");
    }
  }

  function showEdge(i, position) {
    const node = NODES[i];
    const operand = NODES[node.prev[position]];
    const d = local(i)[position];
    const info = $("sg-info");
    $("sg-info-title").textContent = operand.label + " \u2192 " + node.label;
    line(info, "operand " + "xy"[position] + " of " + node.text);
    line(info, "grad_out \u00d7 local = contribution", "sg-dim");
    const contribution = product(grad[i], d);
    line(info, fixed(grad[i]) + " \u00d7 " + fixed(d) + " = " + fixed(contribution), "sg-mono sg-chain");
    line(info, dOf(DATA.of) + "/" + node.d + " \u00d7 " + (node.locals[position] || node.d + "/" + operand.d)
      + (operand.kind === "const" ? "   (a number: it gets no gradient)" : ""), "sg-mono sg-dim");
  }

  function show(selected) {
    $("sg-info").textContent = "";
    if (selected.edge) showEdge(selected.node, selected.position);
    else showNode(selected.node);
  }

  function select(selected) {
    state.selected = selected;
    for (const old of document.querySelectorAll(".sg-selected")) old.classList.remove("sg-selected");
    const element = selected.edge ? $("e" + selected.node + "_" + selected.position) : view[selected.node].group;
    if (element) element.classList.add("sg-selected");
    show(selected);
  }

  function target(event) {
    const row = event.target.closest("tr[data-node], #sg-marks g[data-node]");  // a row, or a check mark
    if (row) return {node: Number(row.dataset.node)};
    const group = event.target.closest("#sg-graph g.node, #sg-graph g.edge");
    if (!group) return null;
    let match = /^n(\d+)(_op)?$/.exec(group.id);
    if (match) return {node: Number(match[1])};
    match = /^e(\d+)_(\d+)$/.exec(group.id);
    return match ? {node: Number(match[1]), position: Number(match[2]), edge: true} : null;
  }

  // -- stepping -----------------------------------------------------------------------------
  function showStep() {
    for (const old of document.querySelectorAll(".sg-current, .sg-target, .sg-active")) {
      old.classList.remove("sg-current", "sg-target", "sg-active");
    }
    const total = DATA.steps.length;
    if (state.step < 0) {
      $("sg-step-count").textContent = total + " steps. \u25B6 or \u2192 walks through them; every gradient is shown now.";
      $("sg-step-text").textContent = "";
      $("sg-step-local").textContent = "";
      return;
    }
    const step = DATA.steps[state.step];
    const texts = stepText(state.step);
    $("sg-step-count").textContent = "step " + (state.step + 1) + " of " + total + " (" + step[0] + ")";
    $("sg-step-text").textContent = texts[0];
    $("sg-step-local").textContent = texts[1];
    mark(view[step[1]].group, "sg-current");
    if (view[step[1]].row) view[step[1]].row.classList.add("sg-current");
    if (step[0] === "pass") {
      mark(view[step[2]].group, "sg-target");
      mark($("e" + step[1] + "_" + step[3]), "sg-active");
    }
  }

  function mark(element, name) {
    if (element) element.classList.add(name);
  }

  function go(step) {
    state.step = Math.max(-1, Math.min(DATA.steps.length - 1, step));
    refresh();
  }

  // -- inputs ---------------------------------------------------------------------------
  function buildInputs() {
    const box = $("sg-inputs");
    DATA.inputs.forEach(function (input, k) {
      const label = document.createElement("label");
      const name = document.createElement("span");
      name.textContent = input.name;
      const number = document.createElement("input");
      number.type = "number";
      number.step = "any";
      number.value = String(input.value);
      number.dataset.input = String(k);
      number.setAttribute("aria-label", input.name);
      const slider = document.createElement("input");
      slider.type = "range";
      const scale = Math.max(Math.abs(input.value), 1);
      slider.min = String(input.value - 2 * scale);
      slider.max = String(input.value + 2 * scale);
      slider.step = String(scale / 100);
      slider.value = String(input.value);
      slider.dataset.slider = String(k);
      slider.setAttribute("aria-label", input.name + " slider");
      function changed(source, other) {
        const x = Number(source.value);
        if (source.value === "" || !Number.isFinite(x)) return;
        input.value = x;
        if (other === slider && (x < Number(slider.min) || x > Number(slider.max))) {
          const reach = Math.max(Math.abs(x), 1);
          slider.min = String(x - 2 * reach);
          slider.max = String(x + 2 * reach);
        }
        other.value = String(x);
        run();
        refresh();
      }
      number.addEventListener("input", function () { changed(number, slider); });
      slider.addEventListener("input", function () { changed(slider, number); });
      label.append(name, number, slider);
      box.appendChild(label);
    });
  }

  // -- the chart of the session's steps ---------------------------------------------------
  function chart() {
    const history = DATA.history;
    if (!history.length) return;
    // each run: [steps before it, steps after it, output before, output after]
    const points = [[history[0][0], history[0][2]]].concat(history.map((h) => [h[1], h[3]]));
    const width = 480, height = 180, pad = 40;
    let low = Infinity, high = -Infinity;
    for (const p of points) { low = Math.min(low, p[1]); high = Math.max(high, p[1]); }
    if (high === low) { high += 1; low -= 1; }
    const left = 12 + 7 * Math.max(fixed(high).length, fixed(low).length);  // room for the y labels
    const first = points[0][0], last = points[points.length - 1][0];
    const x = (s) => left + (width - left - pad) * (s - first) / Math.max(last - first, 1);
    const y = (v) => height - pad + (2 * pad - height) * (v - low) / (high - low);
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", String(width));
    const path = document.createElementNS(SVGNS, "polyline");
    path.setAttribute("points", points.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" "));
    path.setAttribute("class", "sg-curve");
    svg.appendChild(path);
    const labels = [[left - 4, y(high) + 4, fixed(high), "end"], [left - 4, y(low) + 4, fixed(low), "end"],
      [x(first), height - pad + 16, "step " + first, "middle"], [x(last), height - pad + 16, "step " + last, "middle"]];
    for (const item of labels) {
      const text = document.createElementNS(SVGNS, "text");
      text.setAttribute("x", String(item[0]));
      text.setAttribute("y", String(item[1]));
      text.setAttribute("text-anchor", item[3]);
      text.textContent = item[2];
      svg.appendChild(text);
    }
    $("sg-chart").appendChild(svg);
    $("sg-chart").hidden = false;
  }

  // -- start ----------------------------------------------------------------------------
  function start() {
    for (let i = 0; i < N; i++) value[i] = NODES[i].data;  // numbers in the program keep theirs
    $("sg-source").textContent = DATA.source;
    collect();
    buildMarks();
    buildTable();
    buildInputs();
    chart();
    run();
    refresh();
    const graph = $("sg-graph");
    for (const area of [graph, $("sg-table")]) {
      area.addEventListener("mouseover", function (event) { const t = target(event); if (t) select(t); });
      area.addEventListener("click", function (event) { const t = target(event); if (t) select(t); });
    }
    $("sg-first").addEventListener("click", () => go(0));
    $("sg-prev").addEventListener("click", () => go(state.step - 1));
    $("sg-next").addEventListener("click", () => go(state.step + 1));
    $("sg-last").addEventListener("click", () => go(DATA.steps.length - 1));
    $("sg-done").addEventListener("click", () => go(-1));
    document.addEventListener("keydown", function (event) {
      if (event.target.closest && event.target.closest("input")) return;
      const moves = {ArrowRight: state.step + 1, ArrowLeft: state.step - 1, Home: 0,
        End: DATA.steps.length - 1, Escape: -1};
      if (!(event.key in moves)) return;
      event.preventDefault();
      go(moves[event.key]);
    });
  }

  // For a teacher's console and for the tests: the numbers at full precision.
  window.scalargrad = {
    nodes: NODES.map((node) => node.label),
    values: () => Array.from(value),
    grads: () => Array.from(grad),
    chainRule: chainLine,
    step: () => state.step,
    stepText: () => (state.step >= 0 ? stepText(state.step) : null),
  };
  start();
})();
