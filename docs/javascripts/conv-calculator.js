// The interactive convolution calculator of the conv-shapes page (both languages).
//
// compute() is the arithmetic of cnnref.shapes for one spatial dimension, with the same
// refusals: conv_output_size, conv_transpose_output_size, pool_output_size, and
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

  var MESSAGES = {
    zh: {
      notInt: function (n) { return n + " 必须是整数"; },
      positive: function (n, v) { return n + " 必须是正数，当前为 " + v; },
      nonNegative: function (n, v) { return n + " 不能是负数，当前为 " + v; },
      kernelTooLarge: function (eff, padded) {
        return "卷积核（含空洞）覆盖 " + eff + " 个像素，比填充后的输入 " + padded + " 还大：PyTorch 会报错";
      },
      outputPadding: function (op, s, d) {
        return "output_padding（" + op + "）必须小于 stride（" + s + "）或 dilation（" + d + "）：PyTorch 会报错";
      },
      transposedEmpty: function (o) { return "输出尺寸会是 " + o + "：padding 太大，PyTorch 会报错"; },
      poolPadding: function (p, k) {
        return "池化的 padding（" + p + "）最多是 kernel_size（" + k + "）的一半：PyTorch 会报错";
      },
      poolEmpty: function (o) { return "输出尺寸会是 " + o + "：窗口比填充后的输入还大，PyTorch 会报错"; },
      tooLarge: "尺寸太大，不画示意图",
      input: "输入",
      output: "输出",
    },
    en: {
      notInt: function (n) { return n + " must be a whole number"; },
      positive: function (n, v) { return n + " must be positive, got " + v; },
      nonNegative: function (n, v) { return n + " must not be negative, got " + v; },
      kernelTooLarge: function (eff, padded) {
        return "the kernel (dilated) covers " + eff + " pixels, more than the padded input " + padded +
          ": PyTorch refuses this";
      },
      outputPadding: function (op, s, d) {
        return "output_padding (" + op + ") must be smaller than stride (" + s + ") or dilation (" + d +
          "): PyTorch refuses this";
      },
      transposedEmpty: function (o) { return "the output size would be " + o + ": padding is too large, PyTorch refuses this"; },
      poolPadding: function (p, k) {
        return "pooling padding (" + p + ") must be at most half of kernel_size (" + k + "): PyTorch refuses this";
      },
      poolEmpty: function (o) {
        return "the output size would be " + o + ": the window is larger than the padded input, PyTorch refuses this";
      },
      tooLarge: "too large to draw",
      input: "input",
      output: "output",
    },
  };

  function messages() {
    var lang = (document.documentElement.getAttribute("lang") || "en").toLowerCase();
    return lang.indexOf("zh") === 0 ? MESSAGES.zh : MESSAGES.en;
  }

  // Python's floor division (the arithmetic uses // on possibly negative numbers).
  function floorDiv(a, b) { return Math.floor(a / b); }

  function refuse(text) { return { ok: false, error: text }; }

  // p: {mode: "conv" | "transposed" | "pool", size, kernel, stride, padding, dilation,
  //     output_padding, ceil_mode}; stride null in pool mode means stride = kernel.
  // Returns {ok: true, out, rf: {size, jump} or null} or {ok: false, error}.
  function compute(p, msg) {
    msg = msg || messages();
    var n = p.size, k = p.kernel, d = p.dilation, pad = p.padding;
    var s = p.stride === null && p.mode === "pool" ? k : p.stride;
    var names = ["size", "kernel_size", "stride", "dilation"], values = [n, k, s, d];
    var all = names.concat(["padding"]), vals = values.concat([pad]);
    if (p.mode === "transposed") { all.push("output_padding"); vals.push(p.output_padding); }
    for (var i = 0; i < all.length; i++) {
      if (!Number.isInteger(vals[i])) return refuse(msg.notInt(all[i]));
    }
    for (i = 0; i < names.length; i++) {
      if (values[i] < 1) return refuse(msg.positive(names[i], values[i]));
    }
    if (pad < 0) return refuse(msg.nonNegative("padding", pad));
    var rf = { size: d * (k - 1) + 1, jump: s };
    var out;
    if (p.mode === "conv") {
      var eff = d * (k - 1) + 1;
      if (n + 2 * pad < eff) return refuse(msg.kernelTooLarge(eff, n + 2 * pad));
      out = floorDiv(n + 2 * pad - eff, s) + 1;
    } else if (p.mode === "transposed") {
      var op = p.output_padding;
      if (op < 0) return refuse(msg.nonNegative("output_padding", op));
      if (op >= Math.max(s, d)) return refuse(msg.outputPadding(op, s, d));
      out = (n - 1) * s - 2 * pad + d * (k - 1) + op + 1;
      if (out < 1) return refuse(msg.transposedEmpty(out));
      rf = null;
    } else {
      if (pad > floorDiv(k, 2)) return refuse(msg.poolPadding(pad, k));
      var span = n + 2 * pad - d * (k - 1) - 1;
      out = floorDiv(span + (p.ceil_mode ? s - 1 : 0), s) + 1;
      if (p.ceil_mode && (out - 1) * s >= n + pad) out -= 1; // torch drops a window that starts in the right padding
      if (out < 1) return refuse(msg.poolEmpty(out));
    }
    return { ok: true, out: out, rf: rf, stride: s };
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

  if (typeof document$ !== "undefined") {
    document$.subscribe(initAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
