// The convolution explorer (docs/explorer.*.md): any configuration of a convolution, a
// transposed convolution or a pooling, stepped through cell by cell and drawn as SVG.
//
// The state is the page's URL query (mode, h, w, kh, kw, s, p, d, g, cin, cout, op, ceil, seed,
// and view, flip, layers, at, xv, wv); window.cnnrefExplorer.set(query) sets it like a new URL.
// conv-explorer-state.js reads and checks it (a refusal shows cnnref's message in English, the
// calculator's Chinese words on the zh page: conv-rules.js lists the mapping), the arithmetic
// lives in conv-explorer-math.js and the words in conv-explorer-words.js. For the tests the root element carries its state as JSON: data-input
// (C_in, H, W), data-weight (torch's layout), data-output, data-shape, data-cell (the current
// step's cell), data-field (the cells highlighted for it), data-winner (max pooling),
// data-overlap and data-resize-overlap (the checkerboard view), data-error(-code).
(function () {
  "use strict";

  var rules = window.cnnrefConvRules, M = window.cnnrefExplorerMath, S = window.cnnrefExplorerState;
  var MODES = S.MODES, KEYS = S.KEYS, words = S.words, parseQuery = S.parseQuery, toQuery = S.toQuery;
  var evaluate = S.evaluate;
  var CELL = 26;
  var MINUS = "\u2212";

  // --- drawing ---------------------------------------------------------------------------------
  var SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var a in attrs) if (attrs[a] !== undefined && attrs[a] !== null) e.setAttribute(a, attrs[a]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function html(name, attrs, children) {
    var e = document.createElement(name);
    for (var a in attrs || {}) if (attrs[a] !== undefined && attrs[a] !== null) e.setAttribute(a, attrs[a]);
    (children || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }

  function show(v) {
    if (v === -Infinity) return MINUS + "∞";
    if (v === Infinity) return "∞";
    var text = Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
    return text.replace("-", MINUS);
  }

  // One grid as an SVG: cell(r, q) -> {text, cls, data: {name: value}} for each cell.
  function gridSvg(rows, cols, cell, label, size) {
    size = size || CELL;
    var svg = el("svg", {
      viewBox: "0 0 " + (cols * size + 2) + " " + (rows * size + 2), width: cols * size + 2,
      height: rows * size + 2, role: "img", "aria-label": label, "class": "cx-svg",
    });
    var font = size >= 22 ? 11 : Math.max(6, Math.round(size * 0.45));
    for (var r = 0; r < rows; r++) {
      for (var q = 0; q < cols; q++) {
        var c = cell(r, q);
        if (!c) continue;
        var rect = el("rect", { x: q * size + 1.5, y: r * size + 1.5, width: size - 1, height: size - 1,
                                rx: 2, "class": "cx-cell " + (c.cls || ""), style: c.style });
        for (var key in c.data || {}) rect.setAttribute("data-" + key, c.data[key]);
        svg.appendChild(rect);
        if (c.text !== undefined && c.text !== "") {   // long numbers (-0.33) in a smaller type
          var fit = c.text.length > 3 ? Math.max(5, Math.floor(font * 3.4 / c.text.length)) : font;
          svg.appendChild(el("text", { x: q * size + 1 + size / 2, y: r * size + 1 + size * 0.62,
                                      "class": "cx-num", "font-size": fit }, c.text));
        }
      }
    }
    return svg;
  }

  function channelBox(title, svg) {
    return html("div", { "class": "cx-channel" }, [html("span", { "class": "cx-channel-title" }, [title]), svg]);
  }

  var KIND_CLASS = ["cx-x", "cx-pad", "cx-zero", "cx-beyond"];

  // (c, i, j) of a flat index into an array of shape (C, H, W)
  function unravel(n, H, W) { return [Math.floor(n / (H * W)), Math.floor(n / W) % H, n % W]; }

  // What the current step highlights: {grid cells under the window, real inputs, ...}.
  function focus(m) {
    var f = { taps: {}, hot: {}, outHot: {}, outTap: {}, win: null, cur: null, field: [] };
    if (m.view === "scatter") {
      f.cur = unravel(m.at, m.H, m.W);
      f.sends = m.run.sends(f.cur[0], f.cur[1], f.cur[2]);
      f.sends.forEach(function (e) {
        var key = e.o + "," + e.Y + "," + e.Z;
        if (e.inside) { f.outHot[key] = true; f.field.push([e.o, e.Y, e.Z]); } else f.outTap[key] = true;
      });
      return f;
    }
    f.cur = unravel(m.at, m.out[0], m.out[1]);
    var list;
    if (m.mode === "maxpool" || m.mode === "avgpool") {
      f.window = m.run.window(f.cur[0], f.cur[1], f.cur[2]);
      list = f.window.cells;
      if (f.window.winner && m.mode === "maxpool") f.win = f.window.winner.cell;
    } else {
      list = f.terms = m.run.terms(f.cur[0], f.cur[1], f.cur[2]);
    }
    list.forEach(function (t) {
      f.taps[t.cell] = true;
      if (t.kind === M.X) {
        f.hot[t.cell] = true;
        f.field.push(unravel(t.src, m.H, m.W));
      }
    });
    return f;
  }

  function inputPanel(m, f, T) {
    var P = m.P, boxes = [];
    if (m.view === "scatter") {   // the plain input; the current cell is the one sending
      for (var c = 0; c < m.cin; c++) {
        boxes.push(channelBox(T.channel(c), gridSvg(m.H, m.W, function (i, j) {
          var n = (c * m.H + i) * m.W + j, cur = f.cur[0] === c && f.cur[1] === i && f.cur[2] === j;
          return { text: show(m.x[n]), cls: "cx-x" + (cur ? " cx-cur" : ""),
                   data: { cell: c + "," + i + "," + j, pos: n } };
        }, T.input + " " + T.channel(c))));
      }
      return boxes;
    }
    // the channels the current cell reads: its group's (a convolution) or its own (pooling)
    var used = function (c) {
      return f.terms ? Math.floor(c / (m.cin / m.G)) === Math.floor(f.cur[0] / (m.cout / m.G)) : c === f.cur[0];
    };
    for (var ch = 0; ch < P.C; ch++) {
      boxes.push(channelBox(T.channel(ch), gridSvg(P.H, P.W, (function (c) {
        return function (r, q) {
          var n = (c * P.H + r) * P.W + q, kind = P.kind[n], cls = KIND_CLASS[kind], data = {};
          if (f.taps[n]) cls += " cx-tap";
          if (f.hot[n]) cls += " cx-hot";
          if (f.win === n) cls += " cx-win";
          if (kind === M.X) {
            var at = unravel(P.src[n], m.H, m.W);
            data.cell = at.join(",");
          }
          var text = kind === M.BEYOND ? "" : show(P.val[n]);
          return { text: text, cls: cls, data: data };
        };
      })(ch), T.input + " " + T.channel(ch))));
    }
    boxes.forEach(function (b, c) { if (!used(c)) b.classList.add("cx-unused"); });
    return boxes;
  }

  function kernelPanel(m, f, T) {
    var boxes = [], KH = m.KH, KW = m.KW;
    if (m.mode === "maxpool" || m.mode === "avgpool") {
      boxes.push(channelBox(KH + "×" + KW, gridSvg(KH, KW, function () { return { text: "", cls: "cx-window-cell" }; }, T.window)));
      return { title: T.window, boxes: boxes };
    }
    if (m.view === "scatter") {   // w[c]: (C_out/groups, kH, kW), what the current input multiplies
      var c = f.cur[0], Og = m.cout / m.G;
      for (var ol = 0; ol < Og; ol++) {
        boxes.push(channelBox("w[" + c + ", " + ol + "]", gridSvg(KH, KW, (function (o) {
          return function (ky, kx) {
            var i = ((c * Og + o) * KH + ky) * KW + kx;
            return { text: show(m.w[i]), cls: "cx-w cx-tap", data: { w: i } };
          };
        })(ol), T.kernel)));
      }
      return { title: T.kernelFrom(c), boxes: boxes };
    }
    var o = f.cur[0], Cg = m.cin / m.G;
    for (var cl = 0; cl < Cg; cl++) {
      boxes.push(channelBox("[" + o + ", " + cl + "]", gridSvg(KH, KW, (function (l) {
        return function (ky, kx) {
          var k = m.kernel(o, l, ky, kx);
          return { text: show(k[0]), cls: "cx-w cx-tap", data: { w: k[1] } };
        };
      })(cl), T.kernel)));
    }
    var title = m.mode === "transposed" ? T.flippedKernel(o) : T.kernelOf(o);
    return { title: title, boxes: boxes, note: m.flip ? T.flippedNote : null };
  }

  function outputPanel(m, f, T) {
    var boxes = [], Ho = m.out[0], Wo = m.out[1], C = m.yshape[0];
    if (m.view === "scatter") {   // the sums so far, on the full (uncropped) output
      var sums = m.run.upto(m.at + 1), p = [m.pads[0][0], m.pads[1][0]];
      var full = [(m.H - 1) * m.s[0] + m.d[0] * (m.KH - 1) + 1, (m.W - 1) * m.s[1] + m.d[1] * (m.KW - 1) + 1];
      var first = [Math.min(0, -p[0]), Math.min(0, -p[1])];
      var last = [Math.max(Ho - 1, full[0] - 1 - p[0]), Math.max(Wo - 1, full[1] - 1 - p[1])];
      for (var c = 0; c < C; c++) {
        boxes.push(channelBox(T.channel(c), gridSvg(last[0] - first[0] + 1, last[1] - first[1] + 1, (function (o) {
          return function (r, q) {
            var Y = r + first[0], Z = q + first[1], key = o + "," + Y + "," + Z;
            var inside = Y >= 0 && Y < Ho && Z >= 0 && Z < Wo;
            var cls = inside ? "cx-y" : "cx-crop", data = {};
            if (f.outHot[key]) cls += " cx-hot";
            if (f.outTap[key]) cls += " cx-tap";
            if (inside) data.cell = key;
            return { text: inside ? show(sums[(o * Ho + Y) * Wo + Z]) : "", cls: cls, data: data };
          };
        })(c), T.output + " " + T.channel(c))));
      }
      return { boxes: boxes, note: T.sumsSoFar };
    }
    for (var ch = 0; ch < C; ch++) {
      boxes.push(channelBox(T.channel(ch), gridSvg(Ho, Wo, (function (o) {
        return function (i, j) {
          var n = (o * Ho + i) * Wo + j, cur = f.cur[0] === o && f.cur[1] === i && f.cur[2] === j;
          return { text: show(m.y[n]), cls: "cx-y" + (cur ? " cx-cur" : ""), data: { cell: o + "," + i + "," + j, pos: n } };
        };
      })(ch), T.output + " " + T.channel(ch))));
    }
    return { boxes: boxes };
  }

  // --- the written-out arithmetic ----------------------------------------------------------------
  var EDITABLE_TERMS = 60;

  function valueBox(kind, index, value, label) {
    return html("input", { type: "number", step: "1", "class": "cx-edit", value: String(value),
                           "data-edit": kind + ":" + index, "aria-label": label });
  }

  function arithmetic(m, f, T) {
    var out = [], y = f.cur, name = "y[" + y.join(", ") + "]";
    if (m.view === "scatter") {
      var x0 = (y[0] * m.H + y[1]) * m.W + y[2], edit = f.sends.length <= EDITABLE_TERMS;
      out.push(html("p", {}, ["x[" + y.join(", ") + "] = ", valueBox("x", x0, m.x[x0], "x[" + y.join(", ") + "]")]));
      var items = f.sends.map(function (e) {
        var target = "y[" + e.o + ", " + e.Y + ", " + e.Z + "]";
        var wname = "w[" + y[0] + ", " + (e.o % (m.cout / m.G)) + ", " + e.ky + ", " + e.kx + "]";
        var parts = [target + " += " + show(e.x) + " × ", edit ? valueBox("w", e.wsrc, e.w, wname) : show(e.w),
                     " = " + show(e.x * e.w)];
        if (!e.inside) parts.push(" " + T.cropped);
        return html("li", { "class": e.inside ? "" : "cx-cropped" }, parts);
      });
      out.push(html("ul", { "class": "cx-terms" }, items));
      if (!edit) out.push(html("p", { "class": "cx-note" }, [T.tooManyTerms]));
      return out;
    }
    if (f.window) {
      var cells = f.window.cells.filter(function (t) { return t.kind !== M.BEYOND; });
      var edit2 = cells.length <= EDITABLE_TERMS;
      var line = [name + " = " + (m.mode === "maxpool" ? "max(" : "(")];
      cells.forEach(function (t, i) {
        if (i) line.push(m.mode === "maxpool" ? ", " : " + ");
        if (t.kind === M.X && edit2) line.push(valueBox("x", t.src, t.x, "x[" + unravel(t.src, m.H, m.W).join(", ") + "]"));
        else line.push(html("span", { "class": t.kind === M.X ? "" : "cx-padval" }, [show(t.x)]));
      });
      line.push(m.mode === "maxpool" ? ") = " : ") / " + f.window.count + " = ");
      line.push(html("strong", {}, [show(f.window.value)]));
      out.push(html("p", { "class": "cx-formula" }, line));
      out.push(html("p", { "class": "cx-note" }, [m.mode === "maxpool" ? T.maxNote : T.avgNote(f.window.count)]));
      return out;
    }
    var terms = f.terms, editable = terms.length <= EDITABLE_TERMS, sum = 0;
    var formula = [name + " = "];
    terms.forEach(function (t, i) {
      sum += t.w * t.x;
      if (i) formula.push(" + ");
      var wname = "w[" + (m.mode === "transposed" ? "…" : y[0] + ", " + (t.c % (m.cin / m.G)) + ", " + t.ky + ", " + t.kx) + "]";
      var term = html("span", { "class": "cx-term" }, [
        "(", editable ? valueBox("w", t.wsrc, t.w, wname) : show(t.w), ")×(",
        t.kind === M.X && editable ? valueBox("x", t.src, t.x, "x[" + unravel(t.src, m.H, m.W).join(", ") + "]")
          : html("span", { "class": t.kind === M.X ? "" : "cx-padval" }, [show(t.x)]),
        ")",
      ]);
      formula.push(term);
    });
    formula.push(" = ");
    formula.push(html("strong", {}, [show(sum)]));
    out.push(html("p", { "class": "cx-formula" }, formula));
    out.push(html("p", { "class": "cx-note" }, [editable ? T.editHint : T.tooManyTerms]));
    return out;
  }

  // --- checkerboard ------------------------------------------------------------------------------
  function gcd(a, b) { return b ? gcd(b, a % b) : a; }

  function heatSvg(map, label) {
    var max = 0, n;
    for (n = 0; n < map.y.length; n++) max = Math.max(max, map.y[n]);
    var size = Math.max(10, Math.min(CELL, Math.floor(560 / map.W)));
    return gridSvg(map.H, map.W, function (r, q) {
      var v = map.y[r * map.W + q];
      return { text: size >= 14 ? show(v) : "", cls: "cx-heat", style: "fill-opacity:" + (max ? 0.06 + 0.5 * v / max : 0).toFixed(3) };
    }, label, size);
  }

  function checkerPanel(m, T) {
    var parts = [html("p", { "class": "cx-subtitle" }, [html("strong", {}, [T.checker])])];
    var rule = [];
    [[T.rows, m.KH], [T.cols, m.KW]].forEach(function (dim) {
      var k = dim[1], s = m.s[0], d = m.d[0];
      if (gcd(d, s) > 1) rule.push(T.ruleDilation(dim[0], d, s));
      else rule.push((k % s === 0 ? T.ruleEven : T.ruleUneven)(dim[0], k, s));
    });
    parts.push(html("ul", { "class": "cx-rule" }, rule.map(function (t) { return html("li", {}, [t]); })));
    var maps = html("div", { "class": "cx-figures" });
    [[m.overlap, T.checkerTransposed(m.layers)], [m.resize, T.checkerResize(m.layers, m.s[0])]].forEach(function (pair) {
      var fig = html("figure", { "class": "cx-panel" }, [html("figcaption", {}, [pair[1]])]);
      fig.appendChild(pair[0] ? heatSvg(pair[0], pair[1]) : html("p", { "class": "cx-note" }, [T.heatTooLarge]));
      maps.appendChild(fig);
    });
    parts.push(maps);
    parts.push(html("p", { "class": "cx-note" }, [T.resizeEven]));
    return parts;
  }

  // --- the widget --------------------------------------------------------------------------------
  function field(T, key, input, cls) {
    var label = html("label", { "class": "cx-field " + (cls || "") }, [html("span", {}, [T.fields[key]]), input]);
    return label;
  }

  function skeleton(root) {
    var T = words();
    root.textContent = "";
    var form = html("form", { "class": "cx-controls", autocomplete: "off" });
    var mode = html("select", { name: "mode" }, MODES.map(function (m) { return html("option", { value: m }, [T.modes[m]]); }));
    form.appendChild(field(T, "mode", mode, "cx-wide"));
    // text boxes, not type="number": they show whatever the URL holds ("abc" included), and the
    // refusal below them says what is wrong with it
    function number(key, cls, extra) {
      var attrs = { type: "text", name: key, inputmode: "numeric", spellcheck: "false", "class": "cx-text" };
      for (var a in extra || {}) attrs[a] = extra[a];
      form.appendChild(field(T, key, html("input", attrs), cls));
    }
    number("h"); number("w"); number("kh"); number("kw");
    number("s", "", { placeholder: "1" });
    form.appendChild(field(T, "p", html("input", { type: "text", name: "p", spellcheck: "false",
                                                   placeholder: T.paddingHint, "class": "cx-text" })));
    number("d", "cx-not-avgpool");
    number("cin");
    number("cout", "cx-convlike");
    number("g", "cx-convlike");
    number("op", "cx-only-transposed");
    number("seed");
    form.appendChild(field(T, "ceil", html("input", { type: "checkbox", name: "ceil" }), "cx-check cx-pool"));
    form.appendChild(field(T, "flip", html("input", { type: "checkbox", name: "flip" }), "cx-check cx-only-conv cx-wide"));
    var view = html("select", { name: "view" }, ["scatter", "gather"].map(function (v) { return html("option", { value: v }, [T.views[v]]); }));
    form.appendChild(field(T, "view", view, "cx-only-transposed cx-wide"));
    number("layers", "cx-only-transposed");
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    root.appendChild(form);

    root.appendChild(html("p", { "class": "cx-error", role: "alert", hidden: "" }));
    var body = html("div", { "class": "cx-body" });
    body.appendChild(html("p", { "class": "cx-call" }, [html("code", {})]));
    var player = html("div", { "class": "cx-player" }, [
      html("button", { type: "button", "data-act": "back", "class": "md-button" }, ["◀ " + T.back]),
      html("button", { type: "button", "data-act": "play", "class": "md-button", "aria-pressed": "false" }, ["▶ " + T.play]),
      html("button", { type: "button", "data-act": "forward", "class": "md-button" }, [T.forward + " ▶"]),
      html("label", { "class": "cx-pos" }, [html("span", {}, [T.position]), html("input", { type: "range", name: "at", min: "0", step: "1" })]),
      html("output", { "class": "cx-where", "aria-live": "polite" }),
    ]);
    body.appendChild(player);
    var figures = html("div", { "class": "cx-figures cx-main", tabindex: "0", "aria-label": T.keys });
    ["input", "kernel", "output"].forEach(function (role) {
      figures.appendChild(html("figure", { "class": "cx-panel", "data-role": role }, [
        html("figcaption", {}), html("div", { "class": "cx-grids" }), html("p", { "class": "cx-note", hidden: "" })]));
    });
    body.appendChild(figures);
    body.appendChild(legend(T));
    body.appendChild(html("div", { "class": "cx-arith" }));
    body.appendChild(html("p", { "class": "cx-equiv" }));
    body.appendChild(html("div", { "class": "cx-checker" }));
    root.appendChild(body);
  }

  function legend(T) {
    var items = [["pad", "cx-pad"], ["field", "cx-x cx-tap cx-hot"], ["targets", "cx-y cx-tap cx-hot"],
                 ["cur", "cx-y cx-cur"], ["zero", "cx-zero"], ["crop", "cx-crop"], ["win", "cx-x cx-tap cx-hot cx-win"]];
    return html("ul", { "class": "cx-legend" }, items.map(function (item) {
      var svg = el("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" });
      svg.appendChild(el("rect", { x: 1, y: 1, width: 12, height: 12, rx: 2, "class": "cx-cell " + item[1] }));
      return html("li", { "class": "cx-legend-" + item[0] }, [svg, " " + T.legend[item[0]]]);
    }));
  }

  function syncForm(root, st) {
    var form = root.querySelector(".cx-controls");
    KEYS.forEach(function (key) {
      var input = form.querySelector('[name="' + key + '"]');
      if (!input) return;
      if (input.type === "checkbox") input.checked = st[key] === "1";
      else if (input.value !== st[key]) input.value = st[key];
    });
    var s = form.querySelector('[name="s"]');
    s.placeholder = st.mode === "maxpool" || st.mode === "avgpool" ? words().strideDefault : "1";
  }

  function readForm(root, st) {
    var form = root.querySelector(".cx-controls"), next = {};
    KEYS.forEach(function (key) {
      var input = form.querySelector('[name="' + key + '"]');
      next[key] = !input ? st[key] : input.type === "checkbox" ? (input.checked ? "1" : "0") : input.value.trim();
    });
    // values typed by the reader belong to one shape of input / kernel
    if (["h", "w", "cin", "seed"].some(function (k) { return next[k] !== st[k]; })) next.xv = "";
    if (["kh", "kw", "cin", "cout", "g", "mode", "seed"].some(function (k) { return next[k] !== st[k]; })) next.wv = "";
    next.at = st.at;
    return next;
  }

  function json(value) { return JSON.stringify(value); }

  function setData(root, name, value) {
    if (value === null || value === undefined) root.removeAttribute("data-" + name);
    else root.setAttribute("data-" + name, value);
  }

  function render(root) {
    var T = words(), st = root._state;
    syncForm(root, st);
    root.setAttribute("data-mode", st.mode);
    var m = evaluate(st), error = root.querySelector(".cx-error"), body = root.querySelector(".cx-body");
    root._model = m;
    ["input", "weight", "output", "shape", "cell", "field", "winner", "overlap", "resize-overlap", "error", "error-code",
     "positions", "at", "view"].forEach(function (name) { setData(root, name, null); });
    if (!m.ok) {
      error.textContent = m.message;
      error.hidden = false;
      body.hidden = true;
      setData(root, "error", m.message);
      setData(root, "error-code", m.code);
      stop(root);
      return;
    }
    error.hidden = true;
    body.hidden = false;
    root.setAttribute("data-view", m.view);
    setData(root, "input", json(M.nested(m.x, [m.cin, m.H, m.W])));
    setData(root, "weight", m.wshape ? json(M.nested(m.w, m.wshape)) : null);
    setData(root, "output", json(M.nested(Array.from(m.y, function (v) { return isFinite(v) ? v : null; }), m.yshape)));
    setData(root, "shape", json(m.yshape));
    setData(root, "positions", String(m.positions));
    setData(root, "at", String(m.at));

    var f = focus(m);
    setData(root, "cell", json(f.cur));
    setData(root, "field", json(f.field));
    if (m.mode === "maxpool") setData(root, "winner", json(f.win === null ? null : unravel(m.P.src[f.win], m.H, m.W)));

    root.querySelector(".cx-call code").textContent = call(m);
    var slider = root.querySelector('[name="at"]');
    slider.max = String(m.positions - 1);
    slider.value = String(m.at);
    root.querySelector(".cx-where").textContent = T.step(m.at + 1, m.positions) + " · " +
      (m.view === "scatter" ? "x[" : "y[") + f.cur.join(", ") + "]";

    var panels = {
      input: { title: m.mode === "transposed" && m.view === "gather" ? T.stretched + " " + shape([m.cin, m.P.H, m.P.W])
                      : T.input + " " + shape([m.cin, m.H, m.W]) + (m.P && m.pads[0][0] + m.pads[0][1] + m.pads[1][0] + m.pads[1][1] ? T.padded : ""),
               boxes: inputPanel(m, f, T) },
      kernel: kernelPanel(m, f, T),
      output: outputPanel(m, f, T),
    };
    panels.output.title = T.output + " " + shape(m.yshape);
    ["input", "kernel", "output"].forEach(function (role) {
      var fig = root.querySelector('.cx-main [data-role="' + role + '"]'), p = panels[role];
      fig.querySelector("figcaption").textContent = p.title;
      var grids = fig.querySelector(".cx-grids");
      grids.textContent = "";
      p.boxes.forEach(function (b) { grids.appendChild(b); });
      var note = fig.querySelector(".cx-note");
      note.textContent = p.note || "";
      note.hidden = !p.note;
    });

    var arith = root.querySelector(".cx-arith"), focused = document.activeElement;
    var refocus = focused && arith.contains(focused) ? focused.getAttribute("data-edit") : null;
    arith.textContent = "";
    arithmetic(m, f, T).forEach(function (node) { arith.appendChild(node); });
    if (refocus) {
      var again = arith.querySelector('[data-edit="' + refocus + '"]');
      if (again) again.focus();
    }

    var equiv = root.querySelector(".cx-equiv"), checker = root.querySelector(".cx-checker");
    equiv.textContent = "";
    checker.textContent = "";
    if (m.mode === "transposed") {
      equiv.textContent = T.equiv({ s: m.s[0], p: m.pads[0][0], d: m.d[0], op: m.op[0],
                                    q: [m.d[0] * (m.KH - 1) - m.pads[0][0], m.d[1] * (m.KW - 1) - m.pads[1][0]] });
      checkerPanel(m, T).forEach(function (node) { checker.appendChild(node); });
      setData(root, "overlap", m.overlap ? json(M.nested(m.overlap.y, [m.overlap.H, m.overlap.W])) : "null");
      setData(root, "resize-overlap", m.resize ? json(M.nested(m.resize.y, [m.resize.H, m.resize.W])) : "null");
    }
  }

  function shape(dims) { return "(" + dims.join(", ") + ")"; }

  function call(m) {
    var pad = typeof m.padText === "string" ? "'" + m.padText + "'" : String(m.padText);
    var s = m.s[0], d = m.d[0], k = "(" + m.KH + ", " + m.KW + ")";
    var text;
    if (m.mode === "conv") {
      text = "F.conv2d(x, " + (m.flip ? "w.flip(-1, -2)" : "w") + ", stride=" + s + ", padding=" + pad + ", dilation=" + d + ", groups=" + m.G + ")";
    } else if (m.mode === "transposed") {
      text = "F.conv_transpose2d(x, w, stride=" + s + ", padding=" + pad + ", output_padding=" + m.op[0] +
        ", groups=" + m.G + ", dilation=" + d + ")";
    } else if (m.mode === "maxpool") {
      text = "F.max_pool2d(x, " + k + ", stride=" + s + ", padding=" + pad + ", dilation=" + d + ", ceil_mode=" + (m.ceil ? "True" : "False") + ")";
    } else {
      text = "F.avg_pool2d(x, " + k + ", stride=" + s + ", padding=" + pad + ", ceil_mode=" + (m.ceil ? "True" : "False") + ")";
    }
    var shapes = "x " + shape([m.cin, m.H, m.W]) + (m.wshape ? ", w " + shape(m.wshape) : "") + " → y " + shape(m.yshape);
    return text + "   # " + shapes;
  }

  // the URL follows the state; replaceState is coalesced (Chromium throttles a flood of them)
  function remember(root) {
    if (root._urlPending) return;
    root._urlPending = true;
    setTimeout(function () {
      root._urlPending = false;
      var q = toQuery(root._state);
      var url = location.pathname + (q ? "?" + q : "") + location.hash;
      if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, "", url);
    }, 50);
  }

  function setState(root, st) {
    root._state = st;
    render(root);
    remember(root);
  }

  function step(root, delta) {
    var m = root._model;
    if (!m || !m.ok) return;
    var next = (m.at + delta + m.positions) % m.positions;
    var st = Object.assign({}, root._state, { at: String(next) });
    setState(root, st);
  }

  function stop(root) {
    if (root._timer) clearInterval(root._timer);
    root._timer = null;
    var button = root.querySelector('[data-act="play"]');
    if (button) {
      button.setAttribute("aria-pressed", "false");
      button.textContent = "▶ " + words().play;
    }
  }

  function play(root) {
    if (root._timer) { stop(root); return; }
    var button = root.querySelector('[data-act="play"]');
    button.setAttribute("aria-pressed", "true");
    button.textContent = "⏸ " + words().pause;
    root._timer = setInterval(function () {
      if (!document.body.contains(root)) { stop(root); return; }
      step(root, 1);
    }, 700);
  }

  function init(root) {
    if (root.getAttribute("data-ready") === "1") return;
    root.setAttribute("data-ready", "1");
    skeleton(root);
    var form = root.querySelector(".cx-controls");
    function changed() { stop(root); setState(root, readForm(root, root._state)); }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    root.querySelector('[name="at"]').addEventListener("input", function (e) {
      setState(root, Object.assign({}, root._state, { at: e.target.value }));
    });
    root.querySelector(".cx-player").addEventListener("click", function (e) {
      var act = e.target.closest("[data-act]");
      if (!act) return;
      var name = act.getAttribute("data-act");
      if (name === "play") play(root);
      else { stop(root); step(root, name === "back" ? -1 : 1); }
    });
    root.querySelector(".cx-main").addEventListener("keydown", function (e) {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      stop(root);
      step(root, e.key === "ArrowLeft" ? -1 : 1);
    });
    root.querySelector(".cx-main").addEventListener("click", function (e) {   // a click on a cell goes there
      var target = e.target.closest("[data-pos]");
      if (target) { stop(root); setState(root, Object.assign({}, root._state, { at: target.getAttribute("data-pos") })); }
    });
    root.querySelector(".cx-arith").addEventListener("change", function (e) {
      var box = e.target.closest("[data-edit]");
      if (!box) return;
      var m = root._model, value = Number(box.value), parts = box.getAttribute("data-edit").split(":");
      if (!m.ok || box.value.trim() === "" || !isFinite(value)) { render(root); return; }
      var array = Array.from(parts[0] === "x" ? m.x : m.w);
      array[Number(parts[1])] = value;
      var patch = {};
      patch[parts[0] === "x" ? "xv" : "wv"] = array.join(",");
      setState(root, Object.assign({}, root._state, patch));
    });
    // Material's search.highlight links a search result as page/?h=words and marks those words;
    // here h is the input height. A lone h that is not a number came from the search: the
    // explorer ignores it. An h of ours: the marks it causes are taken out again.
    var params = new URLSearchParams(location.search), keys = Array.from(params.keys());
    var fromSearch = keys.length === 1 && keys[0] === "h" && rules.asInt(params.get("h")) === undefined;
    if (params.has("h") && !fromSearch) unmark(root);
    root._state = parseQuery(fromSearch ? "" : location.search);
    render(root);
  }

  // Undo the marks Material's search.highlight puts around the value of ?h= (once the search
  // index has loaded). It rebuilds each text node that holds a match from HTML-escaped text, and
  // the rebuilt nodes show the escapes ("&#39;" for an apostrophe): unwrap the marks, decode the
  // escapes of the nodes it added, and redraw the explorer (its nodes were among them).
  function unmark(root) {
    var article = root.closest("article") || document.body;
    var decoder = document.createElement("textarea");
    var observer = new MutationObserver(function (records) {
      var count = 0;
      records.forEach(function (record) {
        var added = Array.prototype.slice.call(record.addedNodes);
        if (!added.some(function (n) { return n.nodeType === 1 && n.matches("mark[data-md-highlight]"); })) return;
        added.forEach(function (node) {
          if (!node.parentNode) return;
          var text = node.nodeType === 1 ? node.textContent : node.nodeValue;
          decoder.innerHTML = text;
          node.parentNode.replaceChild(document.createTextNode(decoder.value), node);
          count += node.nodeType === 1 ? 1 : 0;
        });
        if (record.target.normalize) record.target.normalize();
      });
      if (count) {
        root.setAttribute("data-unmarked", String(count + Number(root.getAttribute("data-unmarked") || 0)));
        if (root._state) render(root);
      }
    });
    observer.observe(article, { childList: true, subtree: true });
  }

  function roots() { return Array.prototype.slice.call(document.querySelectorAll(".cnnref-explorer")); }

  function initAll() { roots().forEach(init); }

  window.cnnrefExplorer = {
    // Set the state from a query string, as if the page had been opened with it; returns the root.
    set: function (query) {
      var root = roots()[0];
      stop(root);
      setState(root, parseQuery(query));
      return root;
    },
    parseQuery: parseQuery, toQuery: toQuery, evaluate: evaluate, initAll: initAll,
  };

  window.cnnrefOnPage(initAll);
})();
