// The page's training, off the main thread: `scalargrad step` in a Web Worker. Each step is
// the CLI's: backward of the output, every input moved by the optimiser (against the gradient
// when descending) at the rate of its k, then forward. After OPS and SG (engine.js).
"use strict";
(function () {
  let g, table, start, value, grad, params, x, old, falling, of, fit, scratch;
  let opt = null, at = null, descend = true, t = 0, playing = false, losses = [];
  let settings = {name: "sgd", settings: {}};

  function configure(message) {
    settings = {name: message.optimizer, settings: message.settings};
    at = message.at === null ? null : SG.rate(message.lr, message.functions, message.constants);
    descend = message.descend;
  }

  function reset() {
    value.set(start);
    t = 0;
    losses = [];
    opt = SG.optimizer(settings.name, settings.settings, params.length);
    const bad = SG.forward(g, table, value);
    losses.push(value[of]);
    return bad;
  }

  function stepOnce() {  // step t + 1; a message when it cannot be taken (nothing changes then)
    const lr = at(t);
    if (!Number.isFinite(lr)) return "the learning rate has no finite value at k = " + t;
    if (!(lr > 0)) return "the learning rate is " + lr + " at k = " + t + ": it must be a finite, positive number at every step";
    const bad = SG.backward(g, table, value, grad, of);
    if (bad >= 0) return "the gradient of {node " + bad + "} is not finite at step " + (t + 1);
    for (let j = 0; j < params.length; j++) {
      x[j] = value[params[j]];
      falling[j] = descend ? grad[params[j]] : -grad[params[j]];
    }
    opt.update(x, falling, lr, t + 1);
    const slot = opt.finite();
    if (slot) return "the optimiser's `" + slot + "` is no longer finite at step " + (t + 1);
    for (let j = 0; j < params.length; j++) {
      if (!Number.isFinite(x[j])) return "an input is no longer a finite number at step " + (t + 1);
    }
    for (let j = 0; j < params.length; j++) {
      old[j] = value[params[j]];
      value[params[j]] = x[j];
    }
    const failed = SG.forward(g, table, value);
    if (failed >= 0) {  // as the CLI: a step that fails is not taken
      for (let j = 0; j < params.length; j++) value[params[j]] = old[j];
      SG.forward(g, table, value);
      return "{node " + failed + "} has no finite value after step " + (t + 1) + ": the step is not taken";
    }
    t += 1;
    losses.push(value[of]);
    return "";
  }

  // The score over a grid of the two data columns (the decision boundary), or over a line of one.
  function map(size, box) {
    if (!fit) return null;
    scratch.set(value);
    const columns = fit.columns, out = fit.ids[0];
    const ids = fit.inputs;
    const result = new Float64Array(columns.length === 2 ? size * size : size);
    const span = (low, high, i, count) => low + (high - low) * i / (count - 1);
    if (columns.length === 2) {
      for (let r = 0; r < size; r++) {
        scratch[ids[1]] = span(box[3], box[2], r, size);
        for (let c = 0; c < size; c++) {
          scratch[ids[0]] = span(box[0], box[1], c, size);
          SG.forward(g, table, scratch, fit.sub);
          result[r * size + c] = scratch[out];
        }
      }
    } else {
      for (let c = 0; c < size; c++) {
        scratch[ids[0]] = span(box[0], box[1], c, size);
        SG.forward(g, table, scratch, fit.sub);
        result[c] = scratch[out];
      }
    }
    return result;
  }

  let reply = null;  // the id of the request being answered, echoed in its report
  let version = 0;  // the version of the inputs the page last sent
  function report(error, extra) {
    const moved = new Float64Array(params.length);
    for (let j = 0; j < params.length; j++) moved[j] = value[params[j]];
    const message = {type: "state", t: t, values: moved, losses: losses, playing: playing, error: error || "",
      reply: reply, version: version};
    reply = null;
    losses = [];
    if (extra && extra.map) message.map = map(extra.map.size, extra.map.box);
    postMessage(message);
  }

  let mapRequest = null;
  let mapped = 0;  // when the map was last drawn
  function play() {
    if (!playing) return;
    const began = performance.now();
    let error = "";
    while (!error && performance.now() - began < 100) error = stepOnce();
    if (error) playing = false;
    const now = performance.now();
    const drawMap = !playing || now - mapped > 250;  // the map a few times a second: steps come first
    if (drawMap) mapped = now;
    report(error, {map: drawMap ? mapRequest : null});
    if (playing) setTimeout(play, 0);
  }

  onmessage = function (event) {
    const message = event.data;
    reply = message.id === undefined ? null : message.id;
    if (message.version !== undefined) version = message.version;
    if (message.type === "init") {
      g = message.graph;
      table = SG.rows(g);
      start = message.value;
      value = Float64Array.from(start);
      scratch = new Float64Array(g.n);
      grad = new Float64Array(g.n);
      params = message.params;
      x = new Float64Array(params.length);
      old = new Float64Array(params.length);
      falling = new Float64Array(params.length);
      of = message.of;
      fit = message.fit;
      mapRequest = message.map || null;
      configure(message);
      reset();
      report("", {map: mapRequest});
    } else if (message.type === "config") {
      configure(message);
      if (message.restart) reset();
      report("", {map: mapRequest});
    } else if (message.type === "reset") {
      if (message.value) start = message.value;
      playing = false;
      const bad = reset();
      report(bad >= 0 ? "{node " + bad + "} has no finite value at the start" : "", {map: mapRequest});
    } else if (message.type === "set") {  // the sliders moved an input, or a drop-in CSV the data
      for (let j = 0; j < message.ids.length; j++) {
        value[message.ids[j]] = message.values[j];
        if (message.start) start[message.ids[j]] = message.values[j];
      }
      const bad = SG.forward(g, table, value);
      report(bad >= 0 ? "{node " + bad + "} has no finite value here" : "", {map: mapRequest});
    } else if (message.type === "step") {
      playing = false;
      const began = performance.now();
      let error = "", done = 0;
      while (!error && done < message.count) {
        error = stepOnce();
        if (!error) done += 1;
      }
      const seconds = (performance.now() - began) / 1000;
      postMessage({type: "timing", steps: done, seconds: seconds});
      report(error, {map: mapRequest});
    } else if (message.type === "play") {
      playing = true;
      play();
    } else if (message.type === "pause") {
      playing = false;
      report("", {map: mapRequest});
    } else if (message.type === "map") {
      mapRequest = message.map;
      report("", {map: mapRequest});
    }
  };
})();
