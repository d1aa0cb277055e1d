// scalargrad's interactive page: forward and backward in the browser, the chain rule in
// words, the backward pass step by step, `scalargrad check`'s verdicts if it has run, arrays
// as heat maps, zoom, pan and search, and training (`scalargrad step` in a Web Worker made
// from the page's own text, with the decision boundary, a dropped CSV, the state in the link).
// Written into every page by scalargrad/page.py, after `OPS` (the derivative table, made from
// the JS columns of scalargrad/ops.py) and `SG` (engine.js: the graph's typed arrays, forward,
// backward, the optimisers, the learning rate's reader, Python's random).
// Loops only, never recursion; text from the program or a file is set with textContent only.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("sg-data").textContent);
  const G = SG.graph(DATA.graph);  // the graph in typed arrays: op, operands a and b, kind
  const TABLE = SG.rows(G);
  const START = SG.decode(DATA.graph.value, Float64Array);
  const LABEL = SG.decode(DATA.graph.label, Int32Array);
  const N = G.n;
  const DETAIL = DATA.nodes !== null;  // the chain rule's words and the backward steps (small graphs)
  const KINDS = ["op", "input", "const"];
  // A node as the panel shows it: the page's words for it on a small graph, else what the
  // typed arrays say (made when asked, never one object per node up front).
  const NODES_DETAIL = DATA.nodes;
  function nodeAt(i) {
    if (DETAIL) return NODES_DETAIL[i];
    const label = DATA.graph.labels[LABEL[i]];
    const prev = G.a[i] < 0 ? [] : G.b[i] < 0 ? [G.a[i]] : [G.a[i], G.b[i]];
    const op = prev.length ? G.ops[G.op[i]] : "";
    return {label: label, text: label, kind: KINDS[G.kind[i]], op: op, symbol: op ? OPS[op].symbol : "",
      prev: prev, d: "d" + (/^[A-Za-z_][A-Za-z_0-9]*$/.test(label) ? label : "(" + label + ")"),
      grad_of: label + ".grad", status: "big", locals: prev.map(() => null),
      line: "(the chain rule's words are in pages of up to 5,000 nodes: scalargrad explain names them for any node)"};
  }
  const STEPS = DETAIL ? DATA.steps : [];
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
    return SG.forward(G, TABLE, value);
  }

  function local(i) {
    const op = TABLE[G.op[i]];
    return G.b[i] >= 0 ? op.local(value[i], value[G.a[i]], value[G.b[i]]) : op.local(value[i], value[G.a[i]]);
  }

  function kink(i) {
    const op = TABLE[G.op[i]];
    if (!op.kink) return false;
    return G.b[i] >= 0 ? op.kink(value[G.a[i]], value[G.b[i]]) : op.kink(value[G.a[i]]);
  }

  function backward() {
    return SG.backward(G, TABLE, value, grad, DATA.of);
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
    const where = nodeAt(failed >= 0 ? failed : bad);
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
      const step = STEPS[k];
      if (step[0] === "seed") running[step[1]] = 1;
      if (step[0] !== "pass") continue;
      running[step[2]] += product(grad[step[1]], local(step[1])[step[3]]);
      uses[step[2]] += 1;
    }
  }

  function stepText(k) {
    const step = STEPS[k];
    const node = nodeAt(step[1]);
    if (step[0] === "seed") return [node.grad_of + " = 1 (seed: " + node.d + "/" + node.d + ")", ""];
    if (step[0] === "visit") {
      const then = node.prev.length ? "passes it on to its operands" : "an input: nothing to pass on";
      return [node.label + ": grad " + fixed(grad[step[1]]) + " is complete; " + then, ""];
    }
    const target = nodeAt(step[2]);
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
    const node = nodeAt(i);
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
    return nodeAt(i).d;
  }

  function notes(i) {
    const node = nodeAt(i);
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
      legend.textContent = "scalargrad check ran on the gradients of " + nodeAt(DATA.check.of).label
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
        if (!view[i].row) continue;
        const cell = view[i].row.cells[5];
        cell.textContent = verdictText(verdicts[i]);
        cell.className = "sg-" + verdicts[i][1].toLowerCase() + (stale ? " sg-stale" : "");
      }
    }
    let unchecked = 0;
    for (let i = 0; i < N; i++) if (!verdicts[i] && G.kind[i] !== 2) unchecked += 1;
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
  let visible = [];  // the nodes the page shows anywhere (picture or table): refresh updates only these
  let pictured = [];
  function collect() {
    const picture = document.querySelector("#sg-graph svg");
    for (let i = 0; i < N; i++) {
      const entry = {};
      const group = picture ? document.getElementById("n" + i) : null;
      if (group && group.closest("#sg-graph")) {
        pictured.push(i);
        const texts = group.getElementsByTagName("text");
        entry.group = group;
        entry.data = texts[texts.length - 2];
        entry.grad = G.kind[i] === 2 ? null : texts[texts.length - 1];
        entry.shape = group.querySelector("path, polygon");
      }
      view.push(entry);
    }
    for (const text of document.querySelectorAll("#sg-graph text")) {
      if (text.textContent.startsWith("paler: smaller |grad|")) state.legend = text;
    }
  }

  // The table lists every node of a small graph; of a big one (past DETAIL_NODES), the named
  // ones and those the search box finds, at most TABLE_ROWS.
  const TABLE_ROWS = 300;
  function tableIds(found) {
    if (DETAIL && !found) return Array.from({length: N}, (_, i) => i);
    if (found) return found.slice(0, TABLE_ROWS);
    const ids = [DATA.output].concat(DATA.named.filter((i) => i !== DATA.output));
    for (const input of DATA.inputs) if (ids.length < TABLE_ROWS && !/\[/.test(input.name)) ids.push(input.id);
    return ids.slice(0, TABLE_ROWS);
  }

  function buildTable(found) {
    const body = document.querySelector("#sg-table tbody");
    for (const i of visible) if (view[i].row) view[i].row = null;
    body.textContent = "";
    const rows = document.createDocumentFragment();
    const ids = tableIds(found);
    for (const i of ids) {
      const row = document.createElement("tr");
      row.dataset.node = String(i);
      const node = nodeAt(i);
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
    visible = Array.from(new Set(pictured.concat(ids))).sort((x, y) => x - y);
    const note = $("sg-table-note");
    note.hidden = DETAIL && !found;
    note.textContent = found ? found.length + " nodes found" + (found.length > ids.length ? ", the first " + ids.length + " listed" : "")
      : "The graph has " + N.toLocaleString("en") + " nodes: the table lists the named ones; the search box finds any node.";
    if (found) {
      state.checkStale = null;
      refresh();
      return;
    }
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
    for (const i of pictured) {
      if (G.kind[i] !== 2) largest = Math.max(largest, Math.abs(shown[i]));
    }
    for (const i of visible) {
      const entry = view[i];
      const data = "data " + fixed(value[i]);
      const g = G.kind[i] === 2 ? "const" : "grad " + fixed(shown[i]);
      if (entry.data) entry.data.textContent = data;
      if (entry.grad) entry.grad.textContent = g;
      if (entry.shape && DATA.decorate && G.kind[i] !== 2) {
        entry.shape.setAttribute("fill", colour(shown[i], largest));
      }
      if (!entry.row) continue;
      entry.row.cells[3].textContent = fixed(value[i]);
      entry.row.cells[4].textContent = G.kind[i] === 2 ? "" : fixed(shown[i]);
    }
    if (state.legend) state.legend.textContent = "paler: smaller |grad| (largest " + fixed(largest) + ")";
    $("sg-output").textContent = nodeAt(DATA.output).label + " = " + fixed(value[DATA.output])
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
    const node = nodeAt(i);
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
        const text = node.locals[position] || node.d + "/" + nodeAt(p).d;
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
    const node = nodeAt(i);
    const operand = nodeAt(node.prev[position]);
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
    const total = STEPS.length;
    if (!DETAIL) {
      $("sg-steps").hidden = true;
      $("sg-step-count").textContent = "The backward pass step by step is in pages of up to 5,000 nodes (this graph has "
        + N.toLocaleString("en") + "): scalargrad explain walks through any node's.";
      return;
    }
    if (state.step < 0) {
      $("sg-step-count").textContent = total + " steps. \u25B6 or \u2192 walks through them; every gradient is shown now.";
      $("sg-step-text").textContent = "";
      $("sg-step-local").textContent = "";
      return;
    }
    const step = STEPS[state.step];
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
    state.step = Math.max(-1, Math.min(STEPS.length - 1, step));
    refresh();
  }

  // -- inputs ---------------------------------------------------------------------------
  const fields = [];  // per input: its number field and slider, once made
  const inArray = new Set();  // ids of inputs that are elements of an array (grouped, collapsed)
  for (const array of DATA.arrays) if (array.role === "input") for (const id of array.ids) inArray.add(id);

  function buildInputs() {
    const box = $("sg-inputs");
    DATA.inputs.forEach(function (input, k) {
      if (!inArray.has(input.id)) box.appendChild(inputControl(input, k));
    });
  }

  function showInput(k) {  // a field and slider follow the input's value (training moved it)
    const input = DATA.inputs[k];
    const made = fields[k];
    if (!made) return;
    made.number.value = String(input.value);
    if (input.value < Number(made.slider.min) || input.value > Number(made.slider.max)) {
      const reach = Math.max(Math.abs(input.value), 1);
      made.slider.min = String(input.value - 2 * reach);
      made.slider.max = String(input.value + 2 * reach);
    }
    made.slider.value = String(input.value);
  }

  function inputControl(input, k) {
    {
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
        inputMoved(k);
      }
      number.addEventListener("input", function () { changed(number, slider); });
      slider.addEventListener("input", function () { changed(slider, number); });
      label.append(name, number, slider);
      fields[k] = {number: number, slider: slider};
      return label;
    }
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

  // -- arrays: heat-mapped boxes, per-element detail on hover, sliders grouped and collapsed --
  const heatmaps = [];  // {array, canvas, columns, rows}
  const inputIndex = new Map();  // node id -> index in DATA.inputs
  DATA.inputs.forEach((input, k) => inputIndex.set(input.id, k));

  function heat(x, largest) {  // blue for positive, red for negative, paler nearer 0
    const r = largest > 0 ? Math.min(1, Math.abs(x) / largest) : 0;
    const fade = (c) => Math.round(255 - (255 - c) * r);
    return x >= 0 ? "rgb(" + fade(33) + "," + fade(102) + "," + fade(172) + ")"
      : "rgb(" + fade(178) + "," + fade(24) + "," + fade(43) + ")";
  }

  function buildArrays() {
    const box = $("sg-arrays");
    for (const array of DATA.arrays) {
      if (array.role === "data") continue;
      const holder = document.createElement("div");
      holder.className = "sg-array";
      const title = document.createElement("p");
      title.className = "sg-array-name";
      const shape = array.shape.join("\u00d7");
      title.textContent = array.name + " (" + shape + (array.role === "input" ? ", inputs" : "") + ")";
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = "sliders";
      const canvas = document.createElement("canvas");
      const columns = array.shape.length === 2 ? array.shape[1] : Math.min(array.shape[0], 25);
      const rows = Math.ceil(array.ids.length / columns);
      const cell = Math.max(6, Math.min(16, Math.floor(320 / Math.max(columns, rows))));
      canvas.width = columns * cell;
      canvas.height = rows * cell;
      canvas.setAttribute("aria-label", array.name + " as a heat map");
      canvas.dataset.array = array.name;
      const entry = {array: array, canvas: canvas, columns: columns, rows: rows, cell: cell};
      heatmaps.push(entry);
      const tip = document.createElement("p");
      tip.className = "sg-mono sg-tip";
      canvas.addEventListener("mousemove", function (event) {
        const rect = canvas.getBoundingClientRect();
        const c = Math.floor((event.clientX - rect.left) / rect.width * columns);
        const r = Math.floor((event.clientY - rect.top) / rect.height * rows);
        const i = array.ids[r * columns + c];
        if (i === undefined) return;
        tip.textContent = nodeAt(i).label + " = " + fixed(value[i]) + "   grad " + fixed(grad[i]);
        select({node: i});
      });
      const sliders = document.createElement("div");
      sliders.className = "sg-array-sliders";
      details.addEventListener("toggle", function () {
        if (!details.open || sliders.firstChild || array.role !== "input") return;
        for (const id of array.ids) sliders.appendChild(inputControl(DATA.inputs[inputIndex.get(id)], inputIndex.get(id)));
      });
      holder.append(title, canvas, tip);
      if (array.role === "input") {
        details.append(summary, sliders);
        holder.appendChild(details);
      }
      box.appendChild(holder);
      box.hidden = false;
    }
  }

  function paintArrays() {
    for (const entry of heatmaps) {
      const context = entry.canvas.getContext("2d");
      let largest = 0;
      for (const i of entry.array.ids) largest = Math.max(largest, Math.abs(value[i]));
      entry.array.ids.forEach(function (i, k) {
        context.fillStyle = heat(value[i], largest);
        context.fillRect((k % entry.columns) * entry.cell, Math.floor(k / entry.columns) * entry.cell,
          entry.cell - 1, entry.cell - 1);
      });
    }
  }

  // -- zoom, pan and search on the graph ----------------------------------------------------
  const zoom = {svg: null, home: null, box: null, drag: null};

  function setBox(box) {
    zoom.box = box;
    zoom.svg.setAttribute("viewBox", box.join(" "));
  }

  function zoomBy(factor, cx, cy) {
    if (!zoom.svg) return;
    const b = zoom.box;
    const x = cx === undefined ? b[0] + b[2] / 2 : cx, y = cy === undefined ? b[1] + b[3] / 2 : cy;
    setBox([x - (x - b[0]) * factor, y - (y - b[1]) * factor, b[2] * factor, b[3] * factor]);
  }

  function svgPoint(event) {
    const rect = zoom.svg.getBoundingClientRect();
    const b = zoom.box;
    return [b[0] + (event.clientX - rect.left) / rect.width * b[2], b[1] + (event.clientY - rect.top) / rect.height * b[3]];
  }

  function buildZoom() {
    zoom.svg = document.querySelector("#sg-graph svg");
    const tools = $("sg-tools");
    if (!zoom.svg) {
      for (const button of tools.querySelectorAll(".sg-zoom button")) button.disabled = true;
      return;
    }
    const b = zoom.svg.viewBox.baseVal;
    zoom.home = [b.x, b.y, b.width, b.height];
    zoom.box = zoom.home.slice();
    $("sg-zoom-in").addEventListener("click", () => zoomBy(1 / 1.25));
    $("sg-zoom-out").addEventListener("click", () => zoomBy(1.25));
    $("sg-zoom-fit").addEventListener("click", () => setBox(zoom.home.slice()));
    zoom.svg.addEventListener("wheel", function (event) {
      if (!event.ctrlKey && !event.metaKey && !event.altKey) return;  // plain wheel scrolls the page
      event.preventDefault();
      const p = svgPoint(event);
      zoomBy(event.deltaY > 0 ? 1.15 : 1 / 1.15, p[0], p[1]);
    }, {passive: false});
    zoom.svg.addEventListener("pointerdown", function (event) {
      zoom.drag = {x: event.clientX, y: event.clientY, box: zoom.box.slice(), moved: false};
    });
    window.addEventListener("pointermove", function (event) {
      const drag = zoom.drag;
      if (!drag) return;
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true;
      const rect = zoom.svg.getBoundingClientRect();
      setBox([drag.box[0] - dx / rect.width * drag.box[2], drag.box[1] - dy / rect.height * drag.box[3],
        drag.box[2], drag.box[3]]);
    });
    window.addEventListener("pointerup", function () { zoom.drag = null; });
  }

  function find(text) {  // the nodes whose label holds `text` (exact matches first)
    const wanted = text.trim().toLowerCase();
    if (!wanted) return null;
    const labels = DATA.graph.labels;
    const exact = new Set(), partial = new Set();
    labels.forEach(function (label, k) {
      const lower = label.toLowerCase();
      if (lower === wanted) exact.add(k);
      else if (lower.includes(wanted)) partial.add(k);
    });
    const first = [], then = [];
    for (let i = 0; i < N; i++) {
      if (exact.has(LABEL[i])) first.push(i);
      else if (partial.has(LABEL[i])) then.push(i);
    }
    return first.concat(then);
  }

  function goTo(i) {
    select({node: i});
    const entry = view[i];
    if (entry && entry.group && zoom.svg) {
      const box = entry.group.getBBox();
      const shift = graphGroup(zoom.svg).transform.baseVal.consolidate();  // Graphviz's translate of the graph
      const e = shift ? shift.matrix.e : 0, f = shift ? shift.matrix.f : 0;
      const width = Math.max(box.width * 6, zoom.home[2] / 8), height = width * zoom.home[3] / zoom.home[2];
      setBox([box.x + e + box.width / 2 - width / 2, box.y + f + box.height / 2 - height / 2, width, height]);
      entry.group.scrollIntoView({block: "nearest"});
    }
  }

  function buildSearch() {
    const field = $("sg-search");
    field.addEventListener("input", function () {
      const found = find(field.value);
      $("sg-search-note").textContent = found === null ? "" : found.length ? found.length + " found" : "no node has that name";
      if (!DETAIL) buildTable(found && found.length ? found : null);
      if (found && found.length) goTo(found[0]);
    });
    field.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      const found = find(field.value);
      if (found && found.length) {
        goTo(found[0]);
        $("sg-table-box").open = true;
      }
    });
  }

  // -- training: scalargrad step in a Web Worker --------------------------------------------
  const TRAIN = DATA.training;
  const FIT = DATA.fit;
  const train = {worker: null, version: 0, t: 0, losses: [], waiting: {}, asked: 0, playing: false, timing: null, map: null,
    box: null, error: "", drawn: false};
  const MAP_SIZE = 48;

  function params() {
    return Int32Array.from(DATA.inputs.map((input) => input.id));
  }

  function settings() {
    const name = $("sg-train-optimizer").value;
    return {optimizer: name, settings: TRAIN.optimizers[name], lr: $("sg-train-lr").value,
      functions: TRAIN.functions, constants: TRAIN.constants, descend: $("sg-train-descend").checked};
  }

  function checkRate(text) {  // the rate read now, so that a mistake is said before any step
    try {
      const at = SG.rate(text, TRAIN.functions, TRAIN.constants);
      const first = at(0);
      if (!Number.isFinite(first)) return "lr: the learning rate has no finite value at k = 0";
      if (!(first > 0)) return "lr: the learning rate is " + first + " at k = 0: it must be positive";
      return "";
    } catch (error) {
      return "lr: " + error.message;
    }
  }

  function trainError(text) {  // the worker names a node as {node 12}: here, by its text
    text = text.replace(/\{node (\d+)\}/g, (match, id) => "`" + nodeAt(Number(id)).text + "`");
    train.error = text;
    $("sg-train-error").textContent = text;
    $("sg-train-error").hidden = !text;
  }

  function mapBox() {  // the data's extent, with a margin, as [x low, x high, y low, y high]
    const columns = FIT.columns.map((name) => FIT.data[name].map((i) => value[i]));
    const range = (xs) => {
      let low = Math.min.apply(null, xs), high = Math.max.apply(null, xs);
      const pad = (high - low || 1) * 0.15;
      return [low - pad, high + pad];
    };
    if (columns.length === 2) return range(columns[0]).concat(range(columns[1]));
    const target = FIT.target ? FIT.data[FIT.target].map((i) => value[i]) : [0, 1];
    return range(columns[0]).concat(range(target));
  }

  function send(message) {  // each message carries the version of the inputs it knows
    if (train.worker) train.worker.postMessage(Object.assign({version: train.version}, message));
  }

  function startWorker() {
    const source = new Blob([$("sg-worker").textContent], {type: "text/javascript"});
    const url = URL.createObjectURL(source);
    train.worker = new Worker(url);
    URL.revokeObjectURL(url);
    train.worker.onmessage = received;
    train.box = FIT ? mapBox() : null;
    const message = Object.assign({type: "init", graph: {n: G.n, op: G.op, a: G.a, b: G.b, kind: G.kind, ops: G.ops},
      value: Float64Array.from(value), params: params(), of: DATA.output,
      fit: FIT ? {columns: FIT.columns, ids: FIT.ids, sub: Int32Array.from(FIT.sub),
        inputs: FIT.columns.map((name) => FIT.data[name][0])} : null,
      map: FIT ? {size: MAP_SIZE, box: train.box} : null}, settings());
    train.worker.postMessage(message);
  }

  function received(event) {
    const message = event.data;
    if (message.type === "timing") {
      train.timing = {steps: message.steps, seconds: message.seconds};
      return;
    }
    if (message.version !== train.version) {  // values from before the sliders last moved
      answer(message);
      return;
    }
    const first = message.t - message.losses.length + 1;
    if (first === 0) train.losses = [];  // from the start: after a reset
    message.losses.forEach((loss, j) => { train.losses[first + j] = loss; });
    train.t = message.t;
    train.playing = message.playing;
    if (message.map) train.map = message.map;
    DATA.inputs.forEach(function (input, k) { input.value = message.values[k]; });
    trainError(message.error);
    run();  // the numbers now (scalargrad.values() agrees with the step count), the drawing at the next frame
    if (!train.drawn) {
      train.drawn = true;
      requestAnimationFrame(function () {
        train.drawn = false;
        refresh();
        DATA.inputs.forEach((input, k) => showInput(k));
        showTraining();
      });
    }
    saveFragment();
    answer(message);
  }

  function answer(message) {
    if (message.reply !== null && train.waiting[message.reply]) {
      const resolve = train.waiting[message.reply];
      delete train.waiting[message.reply];
      resolve(message.t);
    }
  }

  function showTraining() {
    const parts = ["step " + train.t, nodeAt(DATA.output).label + " = " + fixed(value[DATA.output])];
    for (const i of DATA.named.slice(0, 8)) if (i !== DATA.output) parts.push(nodeAt(i).label + " = " + fixed(value[i]));
    $("sg-train-status").textContent = parts.join("   ");
    $("sg-train-play").textContent = train.playing ? "\u275A\u275A pause" : "\u25B6 play";
    drawLoss();
    drawMap();
    paintArrays();
  }

  function drawLoss() {
    const canvas = $("sg-loss");
    const context = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height, left = 64, pad = 18;
    context.clearRect(0, 0, width, height);
    const points = train.losses;
    if (!points.length) return;
    let low = Infinity, high = -Infinity;
    for (const y of points) { if (y !== undefined) { low = Math.min(low, y); high = Math.max(high, y); } }
    const log = low > 0 && high / low > 100;
    const f = log ? Math.log10 : (v) => v;
    let a = f(low), b = f(high);
    if (a === b) { a -= 1; b += 1; }
    const x = (k) => left + (width - left - pad) * k / Math.max(points.length - 1, 1);
    const y = (v) => height - pad - (height - 2 * pad) * (f(v) - a) / (b - a);
    context.strokeStyle = "#0969da";
    context.lineWidth = 2;
    context.beginPath();
    points.forEach((v, k) => { if (k === 0) context.moveTo(x(k), y(v)); else context.lineTo(x(k), y(v)); });
    context.stroke();
    context.fillStyle = "#59636e";
    context.font = "11px system-ui, sans-serif";
    context.textAlign = "right";
    context.fillText(fixed(high), left - 4, y(high) + 4);
    context.fillText(fixed(low), left - 4, y(low) + 4);
    context.textAlign = "center";
    context.fillText("step " + (points.length - 1) + (log ? "  (log scale)" : ""), width / 2, height - 3);
  }

  function drawMap() {
    if (!FIT) return;
    const canvas = $("sg-map");
    const context = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height, box = train.box, map = train.map;
    context.clearRect(0, 0, width, height);
    const px = (v) => (v - box[0]) / (box[1] - box[0]) * width;
    const py = (v) => height - (v - box[2]) / (box[3] - box[2]) * height;
    if (map && FIT.columns.length === 2) {
      let largest = 0;
      for (const v of map) largest = Math.max(largest, Math.abs(v));
      const cw = width / (MAP_SIZE - 1), ch = height / (MAP_SIZE - 1);
      for (let r = 0; r < MAP_SIZE; r++) {
        for (let c = 0; c < MAP_SIZE; c++) {
          context.fillStyle = heat(map[r * MAP_SIZE + c], largest * 0.6);
          context.fillRect(c * cw - cw / 2, r * ch - ch / 2, cw + 1, ch + 1);
        }
      }
    }
    const xs = FIT.data[FIT.columns[0]];
    const ys = FIT.columns.length === 2 ? FIT.data[FIT.columns[1]] : FIT.target ? FIT.data[FIT.target] : null;
    const labels = FIT.columns.length === 2 && FIT.target ? FIT.data[FIT.target] : null;
    if (ys) {
      xs.forEach(function (id, k) {
        context.beginPath();
        context.arc(px(value[id]), py(value[ys[k]]), 4, 0, 2 * Math.PI);
        context.fillStyle = labels ? (value[labels[k]] > 0 ? "#2166ac" : "#b2182b") : "#59636e";
        context.strokeStyle = "#fff";
        context.lineWidth = 1;
        context.fill();
        context.stroke();
      });
    }
    if (map && FIT.columns.length === 1) {
      context.strokeStyle = "#0969da";
      context.lineWidth = 2;
      context.beginPath();
      for (let c = 0; c < map.length; c++) {
        const xv = box[0] + (box[1] - box[0]) * c / (map.length - 1);
        if (c === 0) context.moveTo(px(xv), py(map[c])); else context.lineTo(px(xv), py(map[c]));
      }
      context.stroke();
    }
  }

  function configure(restart) {
    const problem = checkRate($("sg-train-lr").value);
    if (problem) {
      trainError(problem);
      return false;
    }
    trainError("");
    send(Object.assign({type: "config", restart: restart}, settings()));
    saveFragment();
    return true;
  }

  // Step `count` times in the worker; resolves once done (for the buttons and the tests).
  function steps(count) {
    if (!train.worker || train.error.startsWith("lr:")) return Promise.resolve(0);
    return ask({type: "step", count: count});
  }

  function reset() {
    train.losses = [];
    return ask({type: "reset"});
  }

  function ask(message) {  // a request to the worker, and a promise of its answer (the step count)
    return new Promise(function (resolve) {
      train.asked += 1;
      train.waiting[train.asked] = resolve;
      send(Object.assign({id: train.asked}, message));
    });
  }

  function inputMoved(k) {  // a slider moved an input: the new starting point of training (from step 0)
    if (!train.worker) return;
    const input = DATA.inputs[k];
    train.version += 1;
    send({type: "set", ids: [input.id], values: [input.value], start: true});
    if (train.t > 0) {  // a new starting point: training starts again from it, so a link replays it exactly
      train.losses = [];
      send({type: "reset"});
    }
    train.moved = train.moved || {};
    train.moved[input.name] = input.value;
    saveFragment();
  }

  function bindings() {  // the trained values as `scalargrad step --bindings` reads them
    const out = {};
    const done = new Set();
    for (const array of DATA.arrays) {
      if (array.role !== "input") continue;
      const flat = array.ids.map((i) => value[i]);
      out[array.name] = array.shape.length === 2
        ? Array.from({length: array.shape[0]}, (_, r) => flat.slice(r * array.shape[1], (r + 1) * array.shape[1])) : flat;
      for (const i of array.ids) done.add(i);
    }
    for (const input of DATA.inputs) if (!done.has(input.id)) out[input.name] = input.value;
    return out;
  }

  // The command that continues in a terminal from the saved values: the rate's k counted on
  // from the steps taken (`k` read as `(k + t)`), so SGD continues exactly.
  function continuation() {
    const lr = $("sg-train-lr").value.trim();
    const shifted = train.t ? lr.replace(/[A-Za-z_][A-Za-z_0-9]*/g, (name) => (name === "k" ? "(k + " + train.t + ")" : name)) : lr;
    const optimizer = $("sg-train-optimizer").value;
    let command = "scalargrad step --bindings bindings.json" + (FIT ? " --bindings DATA.csv" : "")
      + ($("sg-train-descend").checked ? " --descend" : "") + " --lr \"" + shifted + "\""
      + (optimizer !== "sgd" ? " --optimizer " + optimizer : "");
    const note = optimizer === "sgd" ? " (with the program as you gave it to dot; it continues exactly)"
      : " (with the program as you gave it to dot; " + optimizer + "'s state starts again there: the file holds values only)";
    return "continue in a terminal: " + command + note;
  }

  function save() {
    $("sg-train-continue").textContent = continuation();
    $("sg-train-continue").hidden = false;
    const text = JSON.stringify(bindings(), null, 1) + "\n";
    const url = URL.createObjectURL(new Blob([text], {type: "application/json"}));
    const link = document.createElement("a");
    link.href = url;
    link.download = "bindings.json";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // A CSV file with the same columns, read here: nothing leaves the page, its text is only data.
  function readCsv(text, name) {
    const lines = text.split(/\r\n|\n|\r/).filter((line) => line.trim() !== "");
    if (!lines.length) return name + " is empty";
    const separator = lines[0].includes("\t") ? "\t" : lines[0].includes(";") ? ";" : ",";
    const header = lines[0].split(separator).map((cell) => cell.trim().replace(/^"(.*)"$/, "$1"));
    const odd = header.findIndex((cell) => !/^[A-Za-z_][A-Za-z_0-9]*$/.test(cell));
    if (odd >= 0) return name + ", line 1: column " + (odd + 1) + " of the header is not a name";
    const columns = Object.keys(FIT.data);
    const missing = columns.filter((column) => !header.includes(column));
    if (missing.length) return name + " has no column " + missing.join(", ") + " (its columns: " + header.join(", ") + ")";
    const rows = FIT.data[columns[0]].length;
    if (lines.length - 1 !== rows) {
      return name + " has " + (lines.length - 1) + " rows; this page's graph holds " + rows
        + ": write a page of your data with scalargrad dot --bindings " + name + " -o page.html";
    }
    const ids = [], values = [];
    for (let r = 1; r < lines.length; r++) {
      const cells = lines[r].split(separator);
      for (const column of columns) {
        const cell = (cells[header.indexOf(column)] || "").trim();
        const x = Number(cell);
        if (cell === "" || !Number.isFinite(x)) {
          return name + ", line " + (r + 1) + ", column " + column + ": `" + cell.slice(0, 40) + "` is not a number";
        }
        ids.push(FIT.data[column][r - 1]);
        values.push(x);
      }
    }
    ids.forEach((id, j) => { value[id] = values[j]; });
    train.version += 1;
    train.box = mapBox();
    send({type: "map", map: {size: MAP_SIZE, box: train.box}});
    send({type: "set", ids: ids, values: values, start: true});
    return "";
  }

  // -- the state in the URL fragment: step, lr, optimizer, seed, descend, the moved inputs --
  let fragmentTimer = null;
  const PROGRAM = (function () {  // FNV-1a of the program's text: a link's state is only for its program
    let hash = 0x811c9dc5;
    for (let i = 0; i < DATA.source.length; i++) {
      hash ^= DATA.source.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(16);
  })();
  function saveFragment() {
    if (!TRAIN || fragmentTimer !== null) return;
    fragmentTimer = setTimeout(function () {
      fragmentTimer = null;
      const moved = Object.keys(train.moved || {}).length;
      if (!train.t && !moved && train.seed === TRAIN.seed && $("sg-train-lr").value === TRAIN.lr && $("sg-train-optimizer").value === "sgd"
          && $("sg-train-descend").checked && !location.hash) return;  // the page as written: nothing to say
      const state = new URLSearchParams();
      state.set("program", PROGRAM);
      state.set("step", String(train.t));
      state.set("lr", $("sg-train-lr").value);
      state.set("optimizer", $("sg-train-optimizer").value);
      if (train.seed !== null) state.set("seed", String(train.seed));
      if (!$("sg-train-descend").checked) state.set("descend", "0");
      for (const name in train.moved || {}) state.set("set." + name, String(train.moved[name]));
      if (location.protocol === "about:") return;  // a frame of its text (Jupyter's srcdoc) has no link to keep a state in
      try {
        history.replaceState(null, "", "#" + state.toString());
      } catch (error) {
        // a document whose origin is opaque (a sandboxed frame) may not set its link: nothing to keep
      }
    }, 150);
  }

  function readFragment() {  // the state a link or a reload carries; the number of steps to replay
    const state = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (state.get("program") !== PROGRAM) {  // a state of another program (or none) is not this page's
      if (location.hash.length > 1) trainError("the link's state is of another program: this page starts as written");
      return 0;
    }
    if (state.has("lr")) $("sg-train-lr").value = state.get("lr");
    if (state.has("optimizer") && TRAIN.optimizers[state.get("optimizer")]) {
      $("sg-train-optimizer").value = state.get("optimizer");
    }
    if (state.get("descend") === "0") $("sg-train-descend").checked = false;
    const seed = state.get("seed");
    if (seed !== null && String(TRAIN.seed) !== seed) {
      if (!reseed(Number(seed))) trainError("the link's seed " + seed + " is not a whole number the page can draw with");
    }
    const byName = new Map(DATA.inputs.map((input, k) => [input.name, k]));
    for (const [key, text] of state) {
      if (!key.startsWith("set.") || !byName.has(key.slice(4))) continue;
      const x = Number(text);
      if (text === "" || !Number.isFinite(x)) continue;
      const k = byName.get(key.slice(4));
      DATA.inputs[k].value = x;
      train.moved = train.moved || {};
      train.moved[key.slice(4)] = x;
    }
    const count = Number(state.get("step"));
    return Number.isInteger(count) && count > 0 ? Math.min(count, 1e6) : 0;
  }

  // New starting values: the initialisers' draws with `seed`, as `--seed` draws them (Python's
  // Mersenne Twister, engine.js); the inputs moved by hand are drawn over. False for a bad seed.
  function reseed(seed) {
    if (!Number.isSafeInteger(seed) || !TRAIN.initialisers.length) return false;
    const values = SG.draw(TRAIN.initialisers, seed);
    DATA.inputs.forEach(function (input, k) {
      if (!(input.name in values)) return;
      input.value = values[input.name];
      showInput(k);
    });
    train.seed = seed;
    train.moved = {};
    $("sg-train-seed").value = String(seed);
    return true;
  }

  let caption = "";
  function buildTraining() {
    if (!TRAIN) return;
    train.seed = TRAIN.seed;
    if (TRAIN.initialisers.length) {
      $("sg-train-seed-box").hidden = false;
      $("sg-train-seed").value = TRAIN.seed === null ? "" : String(TRAIN.seed);
      $("sg-train-seed").placeholder = "as given";
      $("sg-train-seed").title = TRAIN.seed === null ? "the starting values came from a session or a file: a seed draws new ones"
        : "the --seed of the starting values: another draws new ones, as scalargrad --seed N does";
    }
    $("sg-train").hidden = false;
    if (!zoom.svg) $("sg-tools").before($("sg-train"));  // no picture: training comes first
    $("sg-train-what").textContent = "(" + DATA.inputs.length + " inputs; as scalargrad step, off the main thread)";
    const select = $("sg-train-optimizer");
    for (const name in TRAIN.optimizers) {
      const option = document.createElement("option");
      option.value = name;
      const given = Object.entries(TRAIN.optimizers[name]).map((pair) => pair[0] + " " + pair[1]).join(", ");
      option.textContent = name + (given ? " (" + given + ")" : "");
      select.appendChild(option);
    }
    $("sg-train-lr").value = TRAIN.lr;
    if (!FIT) $("sg-train-csv").closest("label").hidden = true;
    else {
      $("sg-map-box").hidden = false;
      caption = FIT.columns.length === 2
        ? FIT.name + " over " + FIT.columns.join(" and ") + (FIT.target ? ", the points coloured by " + FIT.target : "")
        : FIT.name + " over " + FIT.columns[0] + (FIT.target ? ", with the points (" + FIT.columns[0] + ", " + FIT.target + ")" : "");
      $("sg-map-caption").textContent = caption;
    }
    if (FIT) {  // the model's value under the pointer, read off the map
      $("sg-map").addEventListener("mousemove", function (event) {
        const map = train.map, box = train.box;
        if (!map) return;
        const rect = this.getBoundingClientRect();
        const fx = (event.clientX - rect.left) / rect.width, fy = (event.clientY - rect.top) / rect.height;
        const x = box[0] + (box[1] - box[0]) * fx, y = box[3] - (box[3] - box[2]) * fy;
        if (FIT.columns.length === 2) {
          const c = Math.round(fx * (MAP_SIZE - 1)), r = Math.round(fy * (MAP_SIZE - 1));
          $("sg-map-caption").textContent = FIT.columns[0] + " = " + fixed(x) + ", " + FIT.columns[1] + " = " + fixed(y)
            + ": " + FIT.name + " = " + fixed(map[r * MAP_SIZE + c]);
        } else {
          const c = Math.round(fx * (map.length - 1));
          $("sg-map-caption").textContent = FIT.columns[0] + " = " + fixed(x) + ": " + FIT.name + " = " + fixed(map[c]);
        }
      });
      $("sg-map").addEventListener("mouseleave", () => { $("sg-map-caption").textContent = caption; });
    }
    const replay = readFragment();
    run();
    startWorker();
    paintArrays();
    $("sg-train-step").addEventListener("click", () => steps(1));
    $("sg-train-play").addEventListener("click", function () {
      if (train.playing) send({type: "pause"});
      else if (configure(false)) send({type: "play"});
    });
    $("sg-train-reset").addEventListener("click", reset);
    $("sg-train-lr").addEventListener("change", () => configure(false));
    $("sg-train-optimizer").addEventListener("change", () => configure(true));
    $("sg-train-descend").addEventListener("change", () => configure(false));
    $("sg-train-save").addEventListener("click", save);
    $("sg-train-seed").addEventListener("change", function () {
      const seed = Number(this.value);
      if (this.value === "" || !reseed(seed)) {
        trainError("the seed must be a whole number, such as 1337");
        return;
      }
      trainError("");
      run();
      refresh();
      train.version += 1;
      train.losses = [];
      send({type: "reset", value: Float64Array.from(value)});
      saveFragment();
    });
    $("sg-train-csv").addEventListener("change", function () {
      const file = this.files[0];
      if (!file) return;
      train.dropped = file.text().then(function (text) {
        const problem = readCsv(text, file.name);
        trainError(problem);
        run();
        refresh();
        return problem;
      });
    });
    const problem = checkRate($("sg-train-lr").value);
    if (problem) trainError(problem);
    else if (replay) steps(replay);
  }

  // -- start ----------------------------------------------------------------------------
  function start() {
    value.set(START);  // numbers in the program keep theirs
    $("sg-source").textContent = DATA.source;
    collect();
    buildMarks();
    buildTable();
    buildInputs();
    buildArrays();
    buildZoom();
    buildSearch();
    chart();
    run();
    refresh();
    paintArrays();
    buildTraining();
    const graph = $("sg-graph");
    for (const area of [graph, $("sg-table")]) {
      area.addEventListener("mouseover", function (event) { const t = target(event); if (t) select(t); });
      area.addEventListener("click", function (event) { const t = target(event); if (t) select(t); });
    }
    $("sg-first").addEventListener("click", () => go(0));
    $("sg-prev").addEventListener("click", () => go(state.step - 1));
    $("sg-next").addEventListener("click", () => go(state.step + 1));
    $("sg-last").addEventListener("click", () => go(STEPS.length - 1));
    $("sg-done").addEventListener("click", () => go(-1));
    document.addEventListener("keydown", function (event) {
      if (event.target.closest && event.target.closest("input, select, textarea")) return;  // typing, not stepping
      const moves = {ArrowRight: state.step + 1, ArrowLeft: state.step - 1, Home: 0,
        End: STEPS.length - 1, Escape: -1};
      if (!(event.key in moves)) return;
      event.preventDefault();
      go(moves[event.key]);
    });
  }

  // For a teacher's console and for the tests: the numbers at full precision.
  window.scalargrad = {
    nodes: {length: N},
    label: (i) => nodeAt(i).label,
    values: () => Array.from(value),
    grads: () => Array.from(grad),
    chainRule: chainLine,
    step: () => state.step,
    stepText: () => (state.step >= 0 ? stepText(state.step) : null),
    train: {
      steps: steps,
      reset: reset,
      seed: () => train.seed,
      dropped: () => train.dropped,  // the last CSV file read: a promise of what was wrong with it ("" if nothing)
      fragment: (part) => new Promise(function (resolve) {  // the link once it holds `part`
        const wait = () => (location.hash.includes(part) ? resolve(location.hash) : setTimeout(wait, 20));
        wait();
      }),
      configure: configure,
      t: () => train.t,
      params: () => DATA.inputs.map((input) => input.value),
      names: () => DATA.inputs.map((input) => input.name),
      losses: () => train.losses.slice(),
      timing: () => train.timing,
      error: () => train.error,
      bindings: bindings,
      map: () => (train.map ? Array.from(train.map) : null),
      box: () => train.box,
    },
  };
  start();
})();
