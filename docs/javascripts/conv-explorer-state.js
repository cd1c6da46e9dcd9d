// The state of the convolution explorer (conv-explorer.js draws it): the URL query, and what it
// means: evaluate(state) checks a configuration as cnnref does (the channels as cnnref.nn.Conv2d /
// ConvTranspose2d, the sizes with cnnref.shapes' rules from conv-rules.js) and returns either a
// refusal {ok: false, code, message} or a model: sizes, numbers (seeded, or typed in) and the
// computation (conv-explorer-math.js) of the chosen mode and view.
(function () {
  "use strict";

  var rules = window.cnnrefConvRules, M = window.cnnrefExplorerMath, TEXT = window.cnnrefExplorerWords;
  var MODES = ["conv", "transposed", "maxpool", "avgpool"];
  var KEYS = ["mode", "h", "w", "kh", "kw", "s", "p", "d", "g", "cin", "cout", "op", "ceil", "seed",
              "view", "flip", "layers", "at", "xv", "wv"];
  var DEFAULTS = { mode: "conv", h: "5", w: "5", kh: "3", kw: "3", s: "", p: "0", d: "1", g: "1", cin: "1",
                   cout: "1", op: "0", ceil: "0", seed: "1", view: "scatter", flip: "0", layers: "1", at: "0",
                   xv: "", wv: "" };
  // What the explorer draws (torch allows more; the page says so).
  var LIMITS = { size: 16, kernel: 7, channels: 4, out: 40, drawn: 64, heat: 64 };

  function words() { return TEXT[rules.language()]; }

  // --- state <-> query -------------------------------------------------------------------------
  function parseQuery(query) {
    var state = {}, params = new URLSearchParams(String(query || "").replace(/^\?/, ""));
    KEYS.forEach(function (key) { state[key] = params.has(key) ? params.get(key).trim() : DEFAULTS[key]; });
    return state;
  }

  function toQuery(state) {
    var parts = [];
    KEYS.forEach(function (key) {
      if (state[key] !== DEFAULTS[key]) parts.push(key + "=" + encodeURIComponent(state[key]));
    });
    return parts.join("&");
  }

  // --- evaluate: a state -> a model to draw, or a refusal ----------------------------------------
  function refused(code, message) { return { ok: false, code: code, message: message }; }

  // cnnref.nn.Conv2d / ConvTranspose2d's checks of in_channels, out_channels and groups, in its order.
  function channels(name, cin, cout, groups, T) {
    var named = [["in_channels", cin], ["out_channels", cout], ["groups", groups]], v = {};
    for (var i = 0; i < named.length; i++) {
      var n = rules.asInt(named[i][1]);
      if (n === undefined) {
        return refused("channelsNotInt", T.nn.channelsNotInt({ name: name, arg: named[i][0], value: named[i][1] }));
      }
      v[named[i][0]] = n;
    }
    var a = { name: name, cin: v.in_channels, cout: v.out_channels, g: v.groups };
    if (a.g < 1) return refused("groupsPositive", T.nn.groupsPositive(a));
    if (a.cin < 1 || a.cout < 1) return refused("channelsPositive", T.nn.channelsPositive(a));
    if (a.cin % a.g) return refused("inDivisible", T.nn.inDivisible(a));
    if (a.cout % a.g) return refused("outDivisible", T.nn.outDivisible(a));
    return { ok: true, cin: a.cin, cout: a.cout, g: a.g };
  }

  function numbers(text) {
    var list = String(text).split(",").map(function (t) { return t.trim() === "" ? NaN : Number(t); });
    return list.every(isFinite) ? list : null;
  }

  function evaluate(st) {
    var T = words();
    if (MODES.indexOf(st.mode) < 0) return refused("mode", T.errors.mode(st.mode));
    var conv = st.mode === "conv", transposed = st.mode === "transposed", pool = !conv && !transposed;
    var cin, cout, G;
    if (pool) {
      cin = rules.asInt(st.cin);
      if (cin === undefined || cin < 1) return refused("poolChannels", T.errors.poolChannels(st.cin));
      cout = cin; G = cin;
    } else {
      var ch = channels(transposed ? "ConvTranspose2d" : "Conv2d", st.cin, st.cout, st.g, T);
      if (!ch.ok) return ch;
      cin = ch.cin; cout = ch.cout; G = ch.g;
    }
    var ceil = false;
    if (pool) {
      if (st.ceil !== "0" && st.ceil !== "1") return refused("ceil", T.errors.ceil(st.ceil));
      ceil = st.ceil === "1";
    }
    var a = {
      size: [st.h, st.w], kernel_size: [st.kh, st.kw],
      padding: rules.asInt(st.p) !== undefined ? [st.p, st.p] : st.p,
      stride: st.s === "" ? (pool ? null : [1, 1]) : [st.s, st.s],
      dilation: st.mode === "avgpool" ? [1, 1] : [st.d, st.d],
    };
    var r;
    if (conv) r = rules.convOutput(a);
    else if (transposed) { a.output_padding = [st.op, st.op]; r = rules.transposedOutput(a); }
    else { a.ceil_mode = ceil; r = rules.poolOutput(a); }
    if (!r.ok) return refused(r.code, rules.message(r, T.shapes));

    var v = r.v, H = v.size[0], W = v.size[1], KH = v.kernel_size[0], KW = v.kernel_size[1];
    var m = {
      ok: true, mode: st.mode, H: H, W: W, KH: KH, KW: KW, s: v.stride, d: v.dilation, pads: r.pads,
      padText: typeof a.padding === "string" ? a.padding : v.padding[0], ceil: ceil,
      op: transposed ? v.output_padding : [0, 0], cin: cin, cout: cout, G: G, out: r.out,
    };
    // the largest grid drawn: the padded input, or a transposed convolution's zero-stuffed input
    var extent = [H + m.pads[0][0] + m.pads[0][1], W + m.pads[1][0] + m.pads[1][1]];
    if (transposed) extent = [Math.max(extent[0], m.out[0] + m.d[0] * (KH - 1)), Math.max(extent[1], m.out[1] + m.d[1] * (KW - 1))];
    if (H > LIMITS.size || W > LIMITS.size || KH > LIMITS.kernel || KW > LIMITS.kernel ||
        cin > LIMITS.channels || cout > LIMITS.channels || m.out[0] > LIMITS.out || m.out[1] > LIMITS.out ||
        extent[0] > LIMITS.drawn || extent[1] > LIMITS.drawn) {
      return refused("limits", T.errors.limits(LIMITS));
    }
    var seed = rules.asInt(st.seed);
    if (seed === undefined) return refused("seed", T.errors.seed(st.seed));
    if (conv && st.flip !== "0" && st.flip !== "1") return refused("flip", T.errors.flip(st.flip));
    m.flip = conv && st.flip === "1";
    if (transposed) {
      if (st.view !== "scatter" && st.view !== "gather") return refused("view", T.errors.view(st.view));
      m.layers = rules.asInt(st.layers);
      if (m.layers === undefined || m.layers < 1 || m.layers > 3) return refused("layers", T.errors.layers(st.layers));
    }
    m.view = transposed ? st.view : "gather";

    // the numbers: seeded, or the reader's own (xv, wv)
    m.wshape = conv ? [cout, cin / G, KH, KW] : transposed ? [cin, cout / G, KH, KW] : null;
    var wsize = m.wshape ? m.wshape.reduce(function (p, q) { return p * q; }, 1) : 0;
    var values = M.seeded(seed, cin * H * W, wsize);
    m.x = values.x; m.w = values.w;
    if (st.xv !== "") {
      var xs = numbers(st.xv);
      if (!xs || xs.length !== m.x.length) return refused("values", T.errors.values("xv", m.x.length));
      m.x = Float64Array.from(xs);
    }
    if (st.wv !== "" && m.wshape) {
      var ws = numbers(st.wv);
      if (!ws || ws.length !== m.w.length) return refused("values", T.errors.values("wv", m.w.length));
      m.w = Float64Array.from(ws);
    }
    compute(m);
    m.positions = m.view === "scatter" ? cin * H * W : m.yshape[0] * m.out[0] * m.out[1];
    var at = rules.asInt(st.at);
    m.at = Math.max(0, Math.min(at === undefined ? 0 : at, m.positions - 1));
    return m;
  }

  function compute(m) {
    var Ho = m.out[0], Wo = m.out[1], Cg = m.cin / m.G, Og = m.cout / m.G, KH = m.KH, KW = m.KW, w = m.w;
    if (m.mode === "conv") {
      m.P = M.padded(m.x, m.cin, m.H, m.W, m.pads, [0, 0], 0);
      m.kernel = function (o, cl, ky, kx) {
        var i = ((o * Cg + cl) * KH + (m.flip ? KH - 1 - ky : ky)) * KW + (m.flip ? KW - 1 - kx : kx);
        return [w[i], i];
      };
      m.run = M.correlate(m.P, m.cout, m.G, m.kernel, KH, KW, m.s, m.d, Ho, Wo);
    } else if (m.mode === "transposed" && m.view === "gather") {
      m.q = [m.d[0] * (KH - 1) - m.pads[0][0], m.d[1] * (KW - 1) - m.pads[1][0]];
      m.P = M.stretched(m.x, m.cin, m.H, m.W, m.s, m.q, m.op);
      m.kernel = function (o, cl, ky, kx) {   // w'[o, cl] = w[g*Cg + cl, o - g*Og] rotated by 180 degrees
        var g = Math.floor(o / Og), i = (((g * Cg + cl) * Og + (o - g * Og)) * KH + (KH - 1 - ky)) * KW + (KW - 1 - kx);
        return [w[i], i];
      };
      m.run = M.correlate(m.P, m.cout, m.G, m.kernel, KH, KW, [1, 1], m.d, Ho, Wo);
    } else if (m.mode === "transposed") {
      m.run = M.scatter(m.x, m.cin, m.H, m.W, w, m.cout, m.G, KH, KW, m.s, [m.pads[0][0], m.pads[1][0]], m.d, Ho, Wo);
    } else {
      var beyond = [0, 1].map(function (a) {
        var last = (m.out[a] - 1) * m.s[a] - m.pads[a][0] + ([m.KH, m.KW][a] - 1) * m.d[a];
        return Math.max(0, last - ([m.H, m.W][a] - 1 + m.pads[a][1]));
      });
      m.P = M.padded(m.x, m.cin, m.H, m.W, m.pads, beyond, m.mode === "maxpool" ? -Infinity : 0);
      m.run = M.pool(m.P, m.mode === "maxpool" ? "max" : "avg", KH, KW, m.s, m.d, Ho, Wo);
    }
    m.y = m.run.y;
    m.yshape = [m.mode === "conv" || m.mode === "transposed" ? m.cout : m.cin, Ho, Wo];
    if (m.mode === "transposed") checkerboard(m);
  }

  function checkerboard(m) {
    var k = [m.KH, m.KW], s = m.s[0], p = m.pads[0][0], d = m.d[0], op = m.op[0];
    m.overlap = M.overlapTransposed(m.H, m.W, k, s, p, d, op, m.layers, function (h, w) {
      var r = rules.transposedOutput({ size: [h, w], kernel_size: k, stride: [s, s], padding: [p, p],
                                       output_padding: [op, op], dilation: [d, d] });
      return r.ok && r.out[0] <= LIMITS.heat && r.out[1] <= LIMITS.heat ? r.out : null;
    });
    m.resize = M.overlapResize(m.H, m.W, k, s, d, m.layers, LIMITS.heat);
  }

  window.cnnrefExplorerState = {
    MODES: MODES, KEYS: KEYS, DEFAULTS: DEFAULTS, LIMITS: LIMITS,
    words: words, parseQuery: parseQuery, toQuery: toQuery, evaluate: evaluate,
  };
})();
