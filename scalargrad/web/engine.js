// scalargrad's engine in JavaScript, shared by the page and its training worker: the graph in
// typed arrays (per node: op, operands a and b, kind), forward and backward over the derivative
// table `OPS` (made from the JS columns of scalargrad/ops.py), the optimisers of
// scalargrad/optimizers.py with the very same arithmetic, and the learning rate as an expression
// of k read by a small parser (never evaluated as JavaScript). Loops only, never recursion.
"use strict";
var SG = (function () {
  function decode(text, Type) {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new Type(bytes.buffer);
  }

  // The graph of page.py's graph_data: {n, op, a, b, kind, rows}, and its starting values.
  function graph(data) {
    return {n: data.count, op: decode(data.op, Uint8Array), a: decode(data.a, Int32Array),
      b: decode(data.b, Int32Array), kind: decode(data.kind, Uint8Array), ops: data.ops};
  }

  function rows(g) {
    return g.ops.map((name) => OPS[name]);
  }

  // Recompute every operation node in order (or only the ids in `only`); the id of the first
  // node whose value is not finite, else -1. As scalargrad.engine.forward.
  function forward(g, table, value, only) {
    const op = g.op, a = g.a, b = g.b;
    const count = only ? only.length : g.n;
    for (let k = 0; k < count; k++) {
      const i = only ? only[k] : k;
      const x = a[i];
      if (x < 0) continue;
      const y = b[i];
      const out = y < 0 ? table[op[i]].forward(value[x]) : table[op[i]].forward(value[x], value[y]);
      if (!Number.isFinite(out)) return i;
      value[i] = out;
    }
    return -1;
  }

  // The gradients of node `of` into `grad`, as scalargrad.engine.backward (numbers get none);
  // the id of the first node whose gradient is not finite, else -1.
  function backward(g, table, value, grad, of) {
    const op = g.op, a = g.a, b = g.b, kind = g.kind;
    grad.fill(0);
    grad[of] = 1;
    for (let i = of; i >= 0; i--) {
      const x = a[i];
      const d = grad[i];
      if (x < 0 || d === 0) continue;
      const y = b[i];
      if (y < 0) {
        grad[x] += d * table[op[i]].local(value[i], value[x])[0];
      } else {
        const local = table[op[i]].local(value[i], value[x], value[y]);
        grad[x] += d * local[0];
        grad[y] += d * local[1];
      }
    }
    let bad = -1;
    for (let i = 0; i < g.n; i++) {
      if (kind[i] === 2) grad[i] = 0;
      else if (bad < 0 && !Number.isFinite(grad[i])) bad = i;
    }
    return bad;
  }

  // -- math.frexp and math.ldexp, exactly -------------------------------------------------
  function ldexp(x, e) {
    while (e > 1023) { x *= 8.98846567431158e307; e -= 1023; }  // 2**1023
    while (e < -1022) { x *= 2.2250738585072014e-308; e += 1022; }  // 2**-1022
    return x * Math.pow(2, e);
  }

  function exponent(x) {  // math.frexp(x)[1]
    if (x === 0 || !Number.isFinite(x)) return 0;
    let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
    let m = Math.abs(ldexp(x, -e));
    while (m < 0.5) { m *= 2; e -= 1; }
    while (m >= 1) { m /= 2; e += 1; }
    return e;
  }

  // -- the optimisers: scalargrad/optimizers.py's updates, the same operations in the same order
  const SAFE = 510;
  const SAFE_BELOW = Math.pow(2, SAFE);

  function optimizer(name, settings, count) {
    const slots = {velocity: new Float64Array(count), m: new Float64Array(count), v: new Float64Array(count),
      e: new Int32Array(count)};

    function meanOfSquares(j, g, decay) {  // _mean_of_squares: returns [v as computed, e]
      const v = slots.v, ex = slots.e;
      if (Math.abs(g) < SAFE_BELOW && ex[j] === 0) {
        v[j] = decay * v[j] + (1 - decay) * g * g;
        return [v[j], 0];
      }
      const before = ex[j];
      const e = Math.abs(g) >= SAFE_BELOW ? Math.max(before, exponent(g) - SAFE) : before;
      g = ldexp(g, -e);
      const scaled = decay * ldexp(v[j], 2 * (before - e)) + (1 - decay) * g * g;
      const headroom = 1 - exponent(1 - decay);
      const kept = scaled ? Math.max(0, e - Math.floor((1020 - headroom - exponent(scaled)) / 2)) : 0;
      v[j] = ldexp(scaled, 2 * (e - kept));
      ex[j] = kept;
      return [scaled, e];
    }

    // x: current values, g: the gradient of what falls, t: this step (1, 2, ...); new values into x
    const updates = {
      sgd(x, g, lr) {
        for (let j = 0; j < x.length; j++) x[j] = x[j] - lr * g[j];
      },
      momentum(x, g, lr) {
        const b = slots.velocity, momentum = settings.momentum;
        for (let j = 0; j < x.length; j++) {
          b[j] = momentum * b[j] + g[j];
          x[j] = x[j] - lr * b[j];
        }
      },
      adam(x, g, lr, t) {
        const beta1 = settings.beta1, beta2 = settings.beta2, eps = settings.eps, m = slots.m;
        const correction1 = 1 - Math.pow(beta1, t), correction2 = 1 - Math.pow(beta2, t);
        for (let j = 0; j < x.length; j++) {
          m[j] = beta1 * m[j] + (1 - beta1) * g[j];
          const [v, e] = meanOfSquares(j, g[j], beta2);
          if (e) {
            x[j] = x[j] - lr * (ldexp(m[j], -e) / correction1) / (Math.sqrt(v / correction2) + ldexp(eps, -e));
          } else {
            x[j] = x[j] - lr * (m[j] / correction1) / (Math.sqrt(v / correction2) + eps);
          }
        }
      },
      rmsprop(x, g, lr) {
        const alpha = settings.alpha, eps = settings.eps;
        for (let j = 0; j < x.length; j++) {
          const [v, e] = meanOfSquares(j, g[j], alpha);
          x[j] = x[j] - lr * ldexp(g[j], -e) / (Math.sqrt(v) + ldexp(eps, -e));
        }
      },
    };
    function finite() {
      for (const key of ["velocity", "m", "v"]) {
        for (let j = 0; j < count; j++) if (!Number.isFinite(slots[key][j])) return key;
      }
      return "";
    }
    return {update: updates[name], finite: finite, slots: slots};
  }

  // -- the learning rate: a number, or an expression of k --------------------------------
  // Tokens: numbers, k, the language's constants and functions, + - * / ** ( ) and commas.
  // Read into postfix by precedence (shunting-yard, no recursion); `-x**2` is -(x**2) and
  // `2**-k` is 2**(-k), as in the language. Evaluated with the table's own forward functions.
  const PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4};

  function rate(text, functions, constants) {
    const tokens = text.match(/\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/(),])|(\S))/g) || [];
    const out = [], stack = [];
    let expectOperand = true, called = "";  // called: a function's name, which `(` must follow
    const fail = (why) => { throw new Error(why); };
    for (const raw of tokens) {
      const token = raw.trim();
      if (called && token !== "(") fail("`" + called + "` is a function: write " + called + "(...)");
      called = "";
      if (/^(\d|\.\d)/.test(token)) {
        if (!expectOperand) fail("a number where an operator should be: `" + token + "`");
        out.push({number: Number(token)});
        expectOperand = false;
      } else if (/^[A-Za-z_]/.test(token)) {
        if (!expectOperand) fail("a name where an operator should be: `" + token + "`");
        if (token === "k") { out.push({k: true}); expectOperand = false; }
        else if (Object.prototype.hasOwnProperty.call(constants, token)) {
          out.push({number: constants[token]});
          expectOperand = false;
        } else if (Object.prototype.hasOwnProperty.call(functions, token)) {
          stack.push({fn: token, args: 1});
          called = token;
        } else fail("the learning rate may read only the step number k, not `" + token + "`");
      } else if (token === "(") {
        if (!expectOperand) fail("`(` where an operator should be");
        stack.push({open: true});
      } else if (token === "," || token === ")") {
        if (expectOperand) fail("`" + token + "` where a number should be");
        while (stack.length && !stack[stack.length - 1].open) out.push(stack.pop());
        if (!stack.length) fail("`" + token + "` without its `(`");
        const below = stack.length > 1 ? stack[stack.length - 2] : null;
        if (token === ",") {
          if (!below || !below.fn) fail("a comma outside a function's arguments");
          below.args += 1;
          expectOperand = true;
        } else {
          stack.pop();
          if (below && below.fn) out.push(stack.pop());
          expectOperand = false;
        }
      } else if (token in PRECEDENCE) {
        let name = token;
        if (expectOperand) {
          if (token === "+") continue;
          if (token !== "-") fail("`" + token + "` where a number should be");
          name = "neg";
        } else {
          const mine = PRECEDENCE[token];
          while (stack.length) {
            const top = stack[stack.length - 1];
            if (!top.op) break;
            const theirs = PRECEDENCE[top.op];
            if (theirs > mine || (theirs === mine && token !== "**")) out.push(stack.pop());
            else break;
          }
        }
        stack.push({op: name});
        expectOperand = true;
      } else fail("`" + token + "` cannot be read");
    }
    if (expectOperand) fail(called ? "`" + called + "` is a function: write " + called + "(...)"
      : "the expression ends where a number should be");
    while (stack.length) {
      const top = stack.pop();
      if (top.open) fail("a `(` is not closed");
      out.push(top);
    }
    for (const item of out) {
      if (item.fn) {
        const row = OPS[functions[item.fn][item.args]];
        if (!row) fail("`" + item.fn + "` does not take " + item.args + " argument" + (item.args > 1 ? "s" : ""));
        item.row = row;
      } else if (item.op) item.row = OPS[item.op];
    }
    return function at(k) {  // NaN as soon as a step is not finite, as forward refuses it
      const values = [];
      for (const item of out) {
        if (item.number !== undefined) values.push(item.number);
        else if (item.k) values.push(k);
        else if (item.row.arity === 2) { const y = values.pop(); values.push(item.row.forward(values.pop(), y)); }
        else values.push(item.row.forward(values.pop()));
        if (!Number.isFinite(values[values.length - 1])) return NaN;
      }
      return values[0];
    };
  }

  // -- Python's random.Random(seed): the Mersenne Twister, seeded as CPython seeds it from an
  // integer, random() from two draws of 32 bits, uniform and gauss as random.py writes them
  function pythonRandom(seed) {
    const mt = new Uint32Array(624);
    let index = 625;
    function init(s) {
      mt[0] = s >>> 0;
      for (let i = 1; i < 624; i++) {
        const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
        mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
      }
      index = 624;
    }
    function initByArray(key) {
      init(19650218);
      let i = 1, j = 0;
      for (let k = Math.max(624, key.length); k > 0; k--) {
        const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
        mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
        i++; j++;
        if (i >= 624) { mt[0] = mt[623]; i = 1; }
        if (j >= key.length) j = 0;
      }
      for (let k = 623; k > 0; k--) {
        const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
        mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
        i++;
        if (i >= 624) { mt[0] = mt[623]; i = 1; }
      }
      mt[0] = 0x80000000;
    }
    function next() {
      if (index >= 624) {
        for (let k = 0; k < 624; k++) {
          const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
          mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
        }
        index = 0;
      }
      let y = mt[index++];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      return y >>> 0;
    }
    // the key: |seed| in 32-bit words, least significant first ([0] for 0); seeds up to 2**53
    let n = Math.abs(seed);
    const key = [];
    do { key.push(n % 4294967296); n = Math.floor(n / 4294967296); } while (n > 0);
    initByArray(key);
    let gaussNext = null;
    function random() {
      const a = next() >>> 5, b = next() >>> 6;
      return (a * 67108864 + b) * (1 / 9007199254740992);
    }
    return {
      random: random,
      uniform: (low, high) => low + (high - low) * random(),
      gauss(mu, sigma) {
        let z = gaussNext;
        gaussNext = null;
        if (z === null) {
          const x2pi = random() * (2 * Math.PI);  // TWOPI
          const g2rad = Math.sqrt(-2 * Math.log(1 - random()));
          z = Math.cos(x2pi) * g2rad;
          gaussNext = Math.sin(x2pi) * g2rad;
        }
        return mu + z * sigma;
      },
    };
  }

  // The starting values the program's initialisers draw with `seed`: name -> value.
  function draw(initialisers, seed) {
    const made = pythonRandom(seed), values = {};
    for (const [kind, low, high, names] of initialisers) {
      for (const name of names) {
        values[name] = kind === "uniform" ? made.uniform(low, high) : kind === "normal" ? made.gauss(low, high) : 0;
      }
    }
    return values;
  }

  return {decode, graph, rows, forward, backward, ldexp, exponent, optimizer, rate, pythonRandom, draw};
})();
