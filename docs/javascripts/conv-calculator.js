// The interactive convolution calculator of the conv-shapes page (both languages).
//
// compute() is the arithmetic of cnnref.shapes for one spatial dimension, with the same
// refusals: conv_output_size, conv_transpose_output_size, pool_output_size (the rules live in
// conv-rules.js, shared with the convolution explorer), and
// receptive_field([(kernel, stride, dilation)]) for one layer. The browser tests compare it,
// and the numbers the widget shows, with cnnref.shapes over a grid of cases.
//
// Markup: <div class="conv-calc"> with inputs named mode, size, kernel, stride, padding,
// dilation, output_padding, ceil_mode, position; outputs marked data-out, data-rf-size,
// data-rf-jump, data-error, data-drawing. Material may swap pages without a reload
// (instant navigation), so every page emission of document$ (if defined) initialises the
// calculators on the new page.
(function () {
  "use strict";

  var rules = window.cnnrefConvRules;

  // The words of the refusals come from conv-rules.js (rules.messages.zh / .en); the labels
  // of the drawing are the calculator's own.
  var LABELS = {
    zh: { tooLarge: "尺寸太大，不画示意图", input: "输入", output: "输出" },
    en: { tooLarge: "too large to draw", input: "input", output: "output" },
  };

  function messages() {
    var lang = rules.language();
    var table = Object.create(rules.messages[lang]);
    for (var key in LABELS[lang]) table[key] = LABELS[lang][key];
    return table;
  }

  function refuse(text) { return { ok: false, error: text }; }

  // p: {mode: "conv" | "transposed" | "pool", size, kernel, stride, padding, dilation,
  //     output_padding, ceil_mode}; stride null in pool mode means stride = kernel.
  // Returns {ok: true, out, rf: {size, jump} or null} or {ok: false, error}. The checks and
  // the arithmetic are cnnref.shapes' (conv-rules.js), for one spatial dimension.
  function compute(p, msg) {
    msg = msg || messages();
    var a = {
      size: [p.size], kernel_size: [p.kernel], dilation: [p.dilation], padding: [p.padding],
      stride: p.stride === null && p.mode === "pool" ? null : [p.stride],
    };
    var r;
    if (p.mode === "conv") {
      r = rules.convOutput(a);
    } else if (p.mode === "transposed") {
      a.output_padding = [p.output_padding];
      r = rules.transposedOutput(a);
    } else {
      a.ceil_mode = !!p.ceil_mode;
      r = rules.poolOutput(a);
    }
    if (!r.ok) return refuse(rules.message(r, msg));
    var k = r.v.kernel_size[0], s = r.v.stride[0], d = r.v.dilation[0];
    var rf = p.mode === "transposed" ? null : { size: d * (k - 1) + 1, jump: s };
    return { ok: true, out: r.out[0], rf: rf, stride: s };
  }

  function parseInteger(text) {
    text = String(text).trim();
    return /^[+-]?\d+$/.test(text) ? parseInt(text, 10) : NaN;
  }

  // --- drawing ---------------------------------------------------------------------------
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_CELLS = 64;

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Cells from `first` to `last` (inclusive) in a row at height y; `real(i)` says whether
  // cell i is data (solid) or padding / cropped (dashed); `hot(i)` highlights it.
  function row(svg, geom, y, first, last, real, hot, label) {
    svg.appendChild(el("text", { x: 2, y: y + geom.cell * 0.68, "class": "cc-label" }, label));
    for (var i = first; i <= last; i++) {
      var x = geom.x(i);
      var cls = "cc-cell" + (real(i) ? "" : " cc-pad") + (hot(i) ? " cc-hot" : "");
      svg.appendChild(el("rect", { x: x + 1, y: y, width: geom.cell - 2, height: geom.cell, rx: 2, "class": cls }));
      if (real(i) && geom.cell >= 14) {
        svg.appendChild(el("text", { x: x + geom.cell / 2, y: y + geom.cell * 0.68, "class": "cc-index" }, String(i)));
      }
    }
  }

  // One spatial dimension. Convolution / pooling: input cell (padded coordinates) t = i*s - p + j*d
  // feeds output i. Transposed convolution: input i writes to output t = i*s - p + j*d.
  function draw(holder, p, r, position, msg) {
    holder.textContent = "";
    if (!r.ok) return;
    var s = r.stride, n = p.size, k = p.kernel, d = p.dilation, pad = p.padding;
    var topFirst, topLast, botFirst, botLast, topReal, botReal, taps, from, to, i;
    if (p.mode === "transposed") {
      var full = (n - 1) * s + d * (k - 1) + 1 + p.output_padding;
      from = position; to = [];
      for (i = 0; i < k; i++) to.push(position * s - pad + i * d);
      topFirst = 0; topLast = n - 1; topReal = function (t) { return true; };
      botFirst = Math.min(-pad, 0); botLast = Math.max(full - 1 - pad, r.out - 1);
      botReal = function (t) { return t >= 0 && t < r.out; };
      taps = function (t) { return t === from; };
    } else {
      to = [position]; from = [];
      for (i = 0; i < k; i++) from.push(position * s - pad + i * d);
      topFirst = -pad; topLast = Math.max(n - 1 + pad, from[from.length - 1]);
      topReal = function (t) { return t >= 0 && t < n; };
      botFirst = 0; botLast = r.out - 1; botReal = function (t) { return true; };
      taps = function (t) { return from.indexOf(t) >= 0; };
    }
    var first = Math.min(topFirst, botFirst), last = Math.max(topLast, botLast);
    var count = last - first + 1;
    if (count > MAX_CELLS) {
      holder.appendChild(document.createTextNode(msg.tooLarge));
      return;
    }
    // drawn at 28 px a cell, and scaled down (CSS max-width) where the page is narrower
    var cell = 28, left = 44, width = left + count * cell + 4;
    var geom = { cell: cell, x: function (t) { return left + (t - first) * cell; } };
    var top = 4, bottom = top + cell + 48, height = bottom + cell + 4;
    var svg = el("svg", {
      viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img", "class": "cc-svg",
    });
    row(svg, geom, top, topFirst, topLast, topReal, taps, msg.input);
    var outs = to;
    row(svg, geom, bottom, botFirst, botLast, botReal, function (t) {
      return p.mode === "transposed" ? outs.indexOf(t) >= 0 : t === position;
    }, msg.output);
    var lines = p.mode === "transposed"
      ? to.map(function (t) { return [from, t]; })
      : from.map(function (t) { return [t, position]; });
    lines.forEach(function (pair) {
      svg.appendChild(el("line", {
        x1: geom.x(pair[0]) + cell / 2, y1: top + cell, x2: geom.x(pair[1]) + cell / 2, y2: bottom,
        "class": "cc-line",
      }));
    });
    holder.appendChild(svg);
  }

  // --- the widget ------------------------------------------------------------------------
  function read(root) {
    function field(name) { return root.querySelector('[name="' + name + '"]'); }
    var mode = field("mode").value;
    var strideText = field("stride").value.trim();
    return {
      mode: mode,
      size: parseInteger(field("size").value),
      kernel: parseInteger(field("kernel").value),
      stride: mode === "pool" && strideText === "" ? null : parseInteger(strideText),
      padding: parseInteger(field("padding").value),
      dilation: parseInteger(field("dilation").value),
      output_padding: mode === "transposed" ? parseInteger(field("output_padding").value) : 0,
      ceil_mode: mode === "pool" && field("ceil_mode").checked,
    };
  }

  function update(root) {
    var msg = messages();
    var p = read(root);
    var r = compute(p, msg);
    root.setAttribute("data-mode", p.mode);
    var slider = root.querySelector('[name="position"]');
    var error = root.querySelector("[data-error]");
    root.querySelector("[data-out]").textContent = r.ok ? String(r.out) : "—";
    root.querySelector("[data-rf-size]").textContent = r.ok ? (r.rf ? String(r.rf.size) : "—") : "—";
    root.querySelector("[data-rf-jump]").textContent = r.ok ? (r.rf ? String(r.rf.jump) : "—") : "—";
    error.textContent = r.ok ? "" : r.error;
    error.hidden = r.ok;
    var positions = r.ok ? (p.mode === "transposed" ? p.size : r.out) : 1;
    slider.max = String(positions - 1);
    slider.disabled = !r.ok;
    var position = Math.min(parseInteger(slider.value) || 0, positions - 1);
    slider.value = String(position);
    draw(root.querySelector("[data-drawing]"), p, r, position, msg);
  }

  function init(root) {
    if (root.getAttribute("data-ready") === "1") return;
    root.setAttribute("data-ready", "1");
    root.addEventListener("input", function () { update(root); });
    root.addEventListener("change", function () { update(root); });
    update(root);
  }

  function initAll() {
    var roots = document.querySelectorAll(".conv-calc");
    for (var i = 0; i < roots.length; i++) init(roots[i]);
  }

  window.cnnrefConvCalculator = { compute: compute, parseInteger: parseInteger, initAll: initAll };

  window.cnnrefOnPage(initAll);
})();
