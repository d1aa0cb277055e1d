// scalargrad's quiz page (`scalargrad dot -o quiz.html --quiz`): backprop by hand, graded here.
// Written into the page by scalargrad/quiz_page.py. The page asks for each gradient in backward
// order, the output first, as `scalargrad quiz` does at a terminal, and grades alike: an answer
// is right within tolerance * max(1, |gradient|); each wrong one (or `?`, or an empty answer)
// shows the next of three hints, made in Python by scalargrad.quiz in explain's words (the rule,
// the chain-rule product, the answer); the third gives the answer and moves on. "any order" is
// `--order free`: every open box answers, and the product hint is joined from its pieces (each
// user's gradient where it is found, else "not found yet"), also made in Python. This script only
// compares numbers and reveals text: it computes no gradient, evaluates nothing, and sets every
// text with textContent. A gradient is shown (in the picture and the table) only once found or given.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("sq-data").textContent);
  const QUESTIONS = DATA.questions;  // backward order
  const $ = (id) => document.getElementById(id);
  const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;  // scalargrad.data's
  const NOT_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;
  const DECIMAL_HINT = "write a decimal number such as 2, -3.5 or 1e-3";
  const state = {free: false, stopped: false};
  const byId = new Map(QUESTIONS.map((q) => [q.id, q]));
  const rows = new Map();  // node id -> {row, field, buttons}
  for (const q of QUESTIONS) { q.attempts = []; q.hintsShown = 0; q.grade = "open"; }

  function clip(text, width) {  // as scalargrad.errors.clip
    return text.length <= width ? text : text.slice(0, width - 1) + "\u2026";
  }

  // The answer typed, as scalargrad.data.parse_number reads it: a number, null (a hint asked
  // for: `?` or nothing), or {error} in the terminal quiz's words.
  function read(text) {
    const t = text.trim();
    if (t === "" || t === "?") return null;
    const what = "the answer: `" + clip(text, 40) + "`";
    if (NOT_FINITE.test(t)) {
      const kind = /^[+-]?n/i.test(t) ? "is not a number (NaN)" : "is infinite";
      return {error: what + " " + kind + "; it must be a finite number", hint: DECIMAL_HINT};
    }
    if (!NUMBER.test(t)) {
      const near = nearMiss(t);
      return {error: what + " is not a number" + (near ? "; " + near[0] : ""), hint: near ? near[1] : DECIMAL_HINT};
    }
    const x = Number(t);
    if (!Number.isFinite(x)) {
      return {error: what + " is too large for a float (above about 1.8e308); it must be a finite number", hint: DECIMAL_HINT};
    }
    return x;
  }

  // The near misses a hand calculation makes most, worded as scalargrad.data's _NEAR_NUMBERS
  // words them (its first rows and its fractions); others get the plain hint. [reason, hint] or null.
  function nearMiss(t) {
    let m = /^([+-]?[0-9]+),([0-9]{1,2}|[0-9]{4,})$/.exec(t);
    if (m) return ["it has a decimal comma", "use a dot for decimals: " + m[1] + "." + m[2]];
    m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?))\s*\/\s*([0-9]+(?:\.[0-9]*)?)$/.exec(t);
    if (m) {
      const d = Number(m[2]);
      return ["fractions are not read", d ? "write the decimal: " + pyRepr(Number(m[1]) / d) : "the denominator is 0"];
    }
    m = /^([+-])\s+([0-9.]+(?:[eE][+-]?[0-9]+)?)$/.exec(t);
    if (m) return ["it has a space after the sign", "write " + m[1] + m[2]];
    return null;
  }

  function pyRepr(x) {  // Python's repr of a float: 0.5, 1.0, 0.3333333333333333, 1e-05
    if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
    const text = String(x);
    const m = /^(-?[0-9.]+)e([+-])([0-9]+)$/.exec(text);
    if (m) return m[1] + "e" + m[2] + (m[3].length < 2 ? "0" + m[3] : m[3]);
    if (Math.abs(x) < 1e-4) {  // JavaScript writes 0.00001 where Python writes 1e-05
      const e = x.toExponential().split("e");
      const sign = e[1][0] === "-" ? "-" : "+";
      const digits = e[1].replace(/^[+-]/, "");
      return e[0] + "e" + sign + (digits.length < 2 ? "0" + digits : digits);
    }
    return text;
  }

  function right(q, x) {  // scalargrad.quiz.Quiz.right
    return Math.abs(x - q.grad) <= DATA.tolerance * Math.max(1, Math.abs(q.grad));
  }

  // -- what the learner sees ---------------------------------------------------------------
  function say(q, typed, pieces) {  // one line of the log: the prompt and what was typed, then the reply
    const item = document.createElement("li");
    const asked = document.createElement("span");
    asked.className = "sq-asked";
    asked.textContent = q.prompt + " = " + typed;
    item.appendChild(asked);
    const reply = document.createElement("span");
    reply.className = "sq-reply";
    for (const piece of pieces) {
      const span = document.createElement("span");
      span.textContent = piece[0];
      if (piece[1]) span.className = piece[1];
      reply.appendChild(span);
    }
    item.appendChild(reply);
    $("sq-log").appendChild(item);
    item.scrollIntoView({block: "nearest"});
  }

  function picture(q) {  // the node's group in the SVG, if the page has a picture
    const group = document.getElementById("n" + q.id);
    return group && group.closest("#sq-graph") ? group : null;
  }

  function reveal(q) {  // the gradient, once found or given: in the table and the picture
    const entry = rows.get(q.id);
    entry.buttons.hidden = true;
    entry.field.replaceWith(Object.assign(document.createElement("span"), {textContent: q.shown, className: "sq-grad"}));
    entry.row.classList.add("sq-" + q.grade);
    entry.row.cells[5].textContent = DATA.grades[q.grade];
    const group = picture(q);
    if (group) {
      const texts = group.getElementsByTagName("text");
      const text = texts[texts.length - 1];
      // the field's width: the text is centred in the record's last field, which ends at its right edge
      const box = group.querySelector("polygon, path").getBBox();
      const room = 2 * (box.x + box.width - Number(text.getAttribute("x"))) - 8;
      text.textContent = "grad " + q.shown;
      if (text.getComputedTextLength() > room) {  // a longer number is pressed into the field's width
        text.setAttribute("textLength", String(room));
        text.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
      group.classList.add("sq-" + q.grade);
    }
  }

  // The question the page asks now (backward order): the first open one. In any order, the
  // learner picks a box; every open one is enabled, and the one with the focus is highlighted.
  function nextOpen() {
    return QUESTIONS.find((q) => q.grade === "open") || null;
  }

  function highlight(q) {
    for (const old of document.querySelectorAll(".sq-current")) old.classList.remove("sq-current");
    if (!q || q.grade !== "open" || state.stopped) return;
    rows.get(q.id).row.classList.add("sq-current");
    const group = picture(q);
    if (group) {
      group.classList.add("sq-current");
      const box = $("sq-graph"), at = group.getBoundingClientRect(), view = box.getBoundingClientRect();
      box.scrollLeft += (at.left + at.width / 2) - (view.left + view.width / 2);  // the node in sight, the page still
    }
  }

  function focus() {
    const ask = nextOpen();
    for (const q of QUESTIONS) {
      if (q.grade !== "open") continue;
      const entry = rows.get(q.id);
      const enabled = !state.stopped && (state.free || q === ask);
      entry.field.disabled = !enabled;
      entry.buttons.hidden = !enabled;
    }
    if (!ask || state.stopped) return;
    if (!state.free) {
      highlight(ask);
      rows.get(ask.id).field.focus({preventScroll: true});
    }
  }

  function summary() {  // scalargrad.quiz.QuizReport.summary_line
    const counts = {};
    for (const grade in DATA.grades) counts[grade] = 0;
    for (const q of QUESTIONS) counts[q.grade] += 1;
    return Object.keys(DATA.grades).map((grade) => DATA.grades[grade] + " " + counts[grade]).join(", ")
      + " (of " + QUESTIONS.length + ")";
  }

  function finish(stopped) {
    state.stopped = stopped;
    for (const entry of rows.values()) {
      if (entry.field.isConnected) entry.field.disabled = true;
      entry.buttons.hidden = true;
    }
    for (const old of document.querySelectorAll(".sq-current")) old.classList.remove("sq-current");
    $("sq-stop").disabled = true;
    $("sq-free").disabled = true;
    $("sq-summary").textContent = (stopped ? "stopped; so far: " : "") + summary();
    $("sq-summary").hidden = false;
  }

  // -- one turn: an answer, or a hint asked for (scalargrad.quiz.turn) ----------------------
  function turn(text, q) {
    q = q || nextOpen();
    if (!q || q.grade !== "open" || state.stopped || (!state.free && q !== nextOpen())) return;
    const x = read(text);
    if (x !== null && typeof x === "object") {  // not a number: said so, not graded
      say(q, text, [[x.error, "sq-warn"], ["; " + x.hint, "sq-dim"]]);
      rows.get(q.id).field.select();  // to type over, as a new line at a terminal would be
      return;
    }
    q.attempts.push(x);
    const field = rows.get(q.id).field;
    field.value = "";
    if (x !== null && right(q, x)) {
      q.grade = q.hintsShown ? "hinted" : "first";
      say(q, text, [["right", "sq-right"], [": " + q.right, ""]]);
    } else {
      const kind = DATA.kinds[q.hintsShown];
      const hint = kind === "product" ? product(q) : q.hints[q.hintsShown];
      q.hintsShown += 1;
      if (kind === "answer") {
        q.grade = "given";
        say(q, text, [["the answer", "sq-hint"], [": " + hint, ""]]);
      } else {
        const head = x !== null ? "not quite, hint" : "hint";
        say(q, text, [[head + " " + q.hintsShown + " of 3 (" + kind + ")", "sq-hint"], [": " + hint, ""]]);
        return;
      }
    }
    reveal(q);
    if (!nextOpen()) finish(false);
    else focus();
  }

  // The product hint, with the gradients of the node's users filled in where they are found
  // (scalargrad.quiz.product_text): in backward order all of them are, and it is q.hints[1].
  function product(q) {
    if (!q.product) return q.hints[1];
    return q.product[0] + q.product[1].map((t) => "(" + (byId.get(t[0]).grade !== "open" ? t[1] : t[2]) + ")(" + t[3] + ")")
      .join(" + ");
  }

  // -- start ------------------------------------------------------------------------------
  function buildTable() {
    const body = document.querySelector("#sq-table tbody");
    for (const node of DATA.nodes) {
      const row = document.createElement("tr");
      row.dataset.node = String(node.id);
      for (const text of [String(node.id), node.label, node.op, node.data]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      }
      row.cells[1].title = node.label;  // a long label is cut with an ellipsis in the table
      const gradCell = document.createElement("td");
      const gradeCell = document.createElement("td");
      row.append(gradCell, gradeCell);
      body.appendChild(row);
      const q = byId.get(node.id);
      if (!q) {
        gradCell.textContent = "const";
        gradCell.className = "sq-dim";
        continue;
      }
      const field = document.createElement("input");
      field.type = "text";
      field.inputMode = "decimal";
      field.autocomplete = "off";
      field.spellcheck = false;
      field.placeholder = "?";
      field.disabled = true;
      field.dataset.node = String(node.id);
      field.setAttribute("aria-label", q.prompt);
      field.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); turn(field.value, q); }
      });
      field.addEventListener("focus", () => highlight(q));
      const buttons = document.createElement("span");
      buttons.className = "sq-buttons";
      buttons.hidden = true;
      const check = Object.assign(document.createElement("button"), {type: "button", textContent: "check"});
      check.addEventListener("click", () => turn(field.value, q));
      const hint = Object.assign(document.createElement("button"), {type: "button", textContent: "hint",
        title: "the next hint (as ? does); it counts as a wrong answer would"});
      hint.addEventListener("click", () => turn("?", q));
      buttons.append(check, hint);
      gradCell.append(field, buttons);
      rows.set(node.id, {row: row, field: field, buttons: buttons});
    }
  }

  function start() {
    $("sq-source").textContent = DATA.source;
    const count = QUESTIONS.length;
    const title = () => "the gradients of " + DATA.of_label + " = " + DATA.of_data + ": "
      + (count === 1 ? "this gradient" : "these " + count + " gradients") + " by hand, "
      + (state.free ? "in any order" : "in backward order, the output first");  // QuizReport.how_to_answer's words
    $("sq-title").textContent = title();
    $("sq-how").textContent = "Type each gradient and press Enter; ? (or nothing) asks for a hint. A wrong answer "
      + "brings a hint, then a bigger one (the rule, then the chain-rule product with the gradients you found), "
      + "then the answer. Right is within " + DATA.tolerance + " \u00d7 max(1, |gradient|).";
    const stop = Object.assign(document.createElement("button"), {type: "button", id: "sq-stop",
      textContent: "stop here", title: "the summary so far, as Ctrl-C gives at a terminal"});
    stop.addEventListener("click", () => finish(true));
    $("sq-feedback").insertBefore(stop, $("sq-summary"));
    const free = $("sq-free");
    free.addEventListener("change", function () {  // as `scalargrad quiz --order free`
      state.free = free.checked;
      $("sq-title").textContent = title();
      focus();
      if (state.free) highlight(null);
    });
    buildTable();
    if (count) focus();
    else finish(false);
  }

  // For the tests and a teacher's console: the state of the quiz (never a gradient not yet shown).
  window.scalargradQuiz = {
    current: () => (nextOpen() && !state.stopped && !state.free ? nextOpen().prompt : null),
    answer: (text) => turn(text),
    grades: () => QUESTIONS.map((q) => [q.label, q.grade, q.attempts.slice()]),
    summary: summary,
  };
  start();
})();
