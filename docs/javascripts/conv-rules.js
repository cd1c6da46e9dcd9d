// The shape rules of cnnref.shapes in JavaScript, shared by the convolution calculator
// (conv-calculator.js, one spatial dimension) and the convolution explorer (conv-explorer.js,
// two): conv_output_size, conv_transpose_output_size and pool_output_size, with the same
// checks in the same order, so that a configuration is refused for the same reason.
//
// A refusal is an object {ok: false, code, type, args}; message(refusal, table) writes it with
// one of the message tables below. The mapping between the tables, by code:
//
//   code                     cnnref.shapes (SHAPES, exact text)                zh (calculator)
//   notInt                   "... {name} must be an int, got ..."             "{name} 必须是整数"
//   paddingString            "... padding must be an int, a tuple, 'same' ..."  "padding 必须是整数、'same' 或 'valid'"
//   paddingStringTransposed  "... padding must be an int or a tuple for ..."   "转置卷积的 padding 必须是整数"
//   positive                 "... {name} must be positive, got ..."          "{name} 必须是正数"
//   nonNegative              "... {name} must be non-negative, got ..."      "{name} 不能是负数"
//   sameStride               "... padding='same' is not supported for ..."   "padding='same' 只能配 stride 1"
//   kernelTooLarge           "... kernel_size ... is larger than the padded input size ..."
//                                                                             "卷积核（含空洞）覆盖 … 还大"
//   outputPadding            "... output_padding must be smaller than either stride or dilation ..."
//                                                                             "output_padding（…）必须小于 stride …"
//   transposedEmpty          "... output size would be {o} for size {n}; padding ... is too large ..."
//                                                                             "输出尺寸会是 …：padding 太大"
//   poolPadding              "... padding should be at most half of kernel_size ..."
//                                                                             "池化的 padding（…）最多是 kernel_size（…）的一半"
//   poolEmpty                "... output size would be {o} ...: the window is larger than the padded input"
//                                                                             "输出尺寸会是 …：窗口比填充后的输入还大"
//
// tests/test_explorer.py compares the English page with cnnref.shapes' messages and the
// Chinese page with these phrases; tests/test_browser.py compares the calculator's numbers.
// (cnnref.shapes also refuses tuples of different lengths; neither widget can pass one.)
(function () {
  "use strict";

  // Python's floor division (the arithmetic uses // on possibly negative numbers).
  function floorDiv(a, b) { return Math.floor(a / b); }

  var INTEGER = /^[+-]?\d+$/;

  // Python's repr() of what a widget passes on: an int, or the text typed when it is not one.
  function pyRepr(value) {
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : (isNaN(value) ? "nan" : String(value));
    var text = String(value);
    var quote = text.indexOf("'") >= 0 && text.indexOf('"') < 0 ? '"' : "'";
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var ch = text[i], code = text.charCodeAt(i);
      if (ch === "\\") out += "\\\\";
      else if (ch === quote) out += "\\" + quote;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (code < 32 || code === 127) out += "\\x" + (code < 16 ? "0" : "") + code.toString(16);
      else out += ch;
    }
    return quote + out + quote;
  }

  // cnnref.shapes' _fmt: one dimension prints as an int, several as a Python tuple.
  function fmt(values) { return values.length === 1 ? String(values[0]) : "(" + values.join(", ") + ")"; }

  // A widget value as an int, or undefined: a number that is an integer, or text that spells one.
  function asInt(value) {
    if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
    var text = String(value).trim();
    return INTEGER.test(text) ? parseInt(text, 10) : undefined;
  }

  function refusal(code, type, args) { return { ok: false, code: code, type: type, args: args }; }

  // _broadcast: every argument to a list of ints, in the order given; the first value that is
  // not an int is refused (a TypeError in Python).
  function ints(func, named) {
    var out = {};
    for (var i = 0; i < named.length; i++) {
      var name = named[i][0], values = named[i][1], list = [];
      for (var j = 0; j < values.length; j++) {
        var v = asInt(values[j]);
        if (v === undefined) return refusal("notInt", "TypeError", { func: func, name: name, value: values[j] });
        list.push(v);
      }
      out[name] = list;
    }
    return { ok: true, values: out };
  }

  function checks(func, a, rules) {
    for (var i = 0; i < rules.length; i++) {
      var name = rules[i][0], minimum = rules[i][1], values = a[name];
      for (var j = 0; j < values.length; j++) {
        if (values[j] < minimum) {
          return refusal(minimum === 1 ? "positive" : "nonNegative", "ValueError",
            { func: func, name: name, values: values.slice() });
        }
      }
    }
    return null;
  }

  var POSITIVE = [["size", 1], ["kernel_size", 1], ["stride", 1], ["dilation", 1], ["padding", 0]];

  // conv_output_size. a: {size, kernel_size, stride, padding, dilation}: lists of values (ints
  // or text), padding possibly a string. Returns {ok: true, out: [...], pads: [[lo, hi], ...]}:
  // pads are what torch adds before and after each dimension (padding="same" splits d*(k-1)
  // with the smaller half first, as torch does for an even kernel).
  function convOutput(a) {
    var func = "conv_output_size", mode = null, padding = a.padding;
    if (typeof padding === "string") {
      if (padding !== "same" && padding !== "valid") {
        return refusal("paddingString", "ValueError", { func: func, value: padding });
      }
      mode = padding;
      padding = a.size.map(function () { return 0; });
    }
    var r = ints(func, [["size", a.size], ["kernel_size", a.kernel_size], ["stride", a.stride],
                        ["padding", padding], ["dilation", a.dilation]]);
    if (!r.ok) return r;
    var v = r.values, bad = checks(func, v, POSITIVE);
    if (bad) return bad;
    var out = [], pads = [], i;
    if (mode === "same") {
      for (i = 0; i < v.stride.length; i++) {
        if (v.stride[i] !== 1) return refusal("sameStride", "ValueError", { func: func, stride: v.stride.slice() });
      }
      for (i = 0; i < v.size.length; i++) {
        var total = v.dilation[i] * (v.kernel_size[i] - 1);
        pads.push([floorDiv(total, 2), total - floorDiv(total, 2)]);
        out.push(v.size[i]);
      }
      return { ok: true, out: out, pads: pads, v: v };
    }
    for (i = 0; i < v.size.length; i++) {
      var n = v.size[i], k = v.kernel_size[i], s = v.stride[i], p = v.padding[i], d = v.dilation[i];
      var effective = d * (k - 1) + 1;
      if (n + 2 * p < effective) {
        return refusal("kernelTooLarge", "ValueError",
          { func: func, kernel: v.kernel_size.slice(), eff: effective, padded: n + 2 * p, n: n, p: p });
      }
      out.push(floorDiv(n + 2 * p - effective, s) + 1);
      pads.push([p, p]);
    }
    return { ok: true, out: out, pads: pads, v: v };
  }

  // conv_transpose_output_size. a: {size, kernel_size, stride, padding, output_padding, dilation}.
  function transposedOutput(a) {
    var func = "conv_transpose_output_size";
    if (typeof a.padding === "string") {
      return refusal("paddingStringTransposed", "ValueError", { func: func, value: a.padding });
    }
    var r = ints(func, [["size", a.size], ["kernel_size", a.kernel_size], ["stride", a.stride],
                        ["padding", a.padding], ["output_padding", a.output_padding], ["dilation", a.dilation]]);
    if (!r.ok) return r;
    var v = r.values, bad = checks(func, v, POSITIVE.concat([["output_padding", 0]]));
    if (bad) return bad;
    var out = [], pads = [];
    for (var i = 0; i < v.size.length; i++) {
      var n = v.size[i], k = v.kernel_size[i], s = v.stride[i], p = v.padding[i], d = v.dilation[i];
      var op = v.output_padding[i];
      if (op >= Math.max(s, d)) return refusal("outputPadding", "ValueError", { func: func, op: op, s: s, d: d });
      var o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
      if (o < 1) return refusal("transposedEmpty", "ValueError", { func: func, o: o, n: n, p: p, k: k, s: s });
      out.push(o);
      pads.push([p, p]);
    }
    return { ok: true, out: out, pads: pads, v: v };
  }

  // pool_output_size. a: {size, kernel_size, stride (null: the kernel), padding, dilation, ceil_mode}.
  function poolOutput(a) {
    var func = "pool_output_size";
    var padding = typeof a.padding === "string" ? a.size.map(function () { return a.padding; }) : a.padding;
    var r = ints(func, [["size", a.size], ["kernel_size", a.kernel_size],
                        ["stride", a.stride === null ? a.kernel_size : a.stride],
                        ["padding", padding], ["dilation", a.dilation]]);
    if (!r.ok) return r;
    var v = r.values, bad = checks(func, v, POSITIVE);
    if (bad) return bad;
    var out = [], pads = [];
    for (var i = 0; i < v.size.length; i++) {
      var n = v.size[i], k = v.kernel_size[i], s = v.stride[i], p = v.padding[i], d = v.dilation[i];
      if (p > floorDiv(k, 2)) return refusal("poolPadding", "ValueError", { func: func, p: p, k: k });
      var span = n + 2 * p - d * (k - 1) - 1;
      var o = floorDiv(span + (a.ceil_mode ? s - 1 : 0), s) + 1;
      if (a.ceil_mode && (o - 1) * s >= n + p) o -= 1; // torch drops a window that starts in the right padding
      if (o < 1) return refusal("poolEmpty", "ValueError", { func: func, o: o, n: n, k: k, d: d, p: p });
      out.push(o);
      pads.push([p, p]);
    }
    return { ok: true, out: out, pads: pads, v: v };
  }

  // --- messages ----------------------------------------------------------------------------
  // SHAPES: cnnref.shapes' exact words (the TypeError / ValueError text).
  var SHAPES = {
    notInt: function (a) { return a.func + ": " + a.name + " must be an int, got " + pyRepr(a.value); },
    paddingString: function (a) {
      return a.func + ": padding must be an int, a tuple, 'same' or 'valid', got " + pyRepr(a.value);
    },
    paddingStringTransposed: function (a) {
      return a.func + ": padding must be an int or a tuple for transposed convolutions, got " + pyRepr(a.value);
    },
    positive: function (a) { return a.func + ": " + a.name + " must be positive, got " + fmt(a.values); },
    nonNegative: function (a) { return a.func + ": " + a.name + " must be non-negative, got " + fmt(a.values); },
    sameStride: function (a) {
      return a.func + ": padding='same' is not supported for strided convolutions (stride=" + fmt(a.stride) + ")";
    },
    kernelTooLarge: function (a) {
      return a.func + ": kernel_size " + fmt(a.kernel) + " (dilated to " + a.eff + ") is larger than the padded input size " +
        a.padded + " (size " + a.n + " + 2*padding " + a.p + ")";
    },
    outputPadding: function (a) {
      return a.func + ": output_padding must be smaller than either stride or dilation, got output_padding=" + a.op +
        ", stride=" + a.s + ", dilation=" + a.d;
    },
    transposedEmpty: function (a) {
      return a.func + ": output size would be " + a.o + " for size " + a.n + "; padding " + a.p +
        " is too large for kernel_size " + a.k + " and stride " + a.s;
    },
    poolPadding: function (a) {
      return a.func + ": padding should be at most half of kernel_size, got padding=" + a.p + ", kernel_size=" + a.k;
    },
    poolEmpty: function (a) {
      return a.func + ": output size would be " + a.o + " for size " + a.n + ", kernel_size " + a.k + ", dilation " + a.d +
        ", padding " + a.p + ": the window is larger than the padded input";
    },
  };

  // The calculator's own words, in each language.
  var ZH = {
    notInt: function (a) { return a.name + " 必须是整数"; },
    paddingString: function (a) { return "padding 必须是整数、'same' 或 'valid'，当前为 " + pyRepr(a.value); },
    paddingStringTransposed: function (a) { return "转置卷积的 padding 必须是整数，当前为 " + pyRepr(a.value); },
    positive: function (a) { return a.name + " 必须是正数，当前为 " + fmt(a.values); },
    nonNegative: function (a) { return a.name + " 不能是负数，当前为 " + fmt(a.values); },
    sameStride: function (a) { return "padding='same' 只能配 stride 1，当前 stride 为 " + fmt(a.stride) + "：PyTorch 会报错"; },
    kernelTooLarge: function (a) {
      return "卷积核（含空洞）覆盖 " + a.eff + " 个像素，比填充后的输入 " + a.padded + " 还大：PyTorch 会报错";
    },
    outputPadding: function (a) {
      return "output_padding（" + a.op + "）必须小于 stride（" + a.s + "）或 dilation（" + a.d + "）：PyTorch 会报错";
    },
    transposedEmpty: function (a) { return "输出尺寸会是 " + a.o + "：padding 太大，PyTorch 会报错"; },
    poolPadding: function (a) {
      return "池化的 padding（" + a.p + "）最多是 kernel_size（" + a.k + "）的一半：PyTorch 会报错";
    },
    poolEmpty: function (a) { return "输出尺寸会是 " + a.o + "：窗口比填充后的输入还大，PyTorch 会报错"; },
  };

  var EN = {
    notInt: function (a) { return a.name + " must be a whole number"; },
    paddingString: function (a) { return "padding must be a whole number, 'same' or 'valid', got " + pyRepr(a.value); },
    paddingStringTransposed: function (a) {
      return "a transposed convolution's padding must be a whole number, got " + pyRepr(a.value);
    },
    positive: function (a) { return a.name + " must be positive, got " + fmt(a.values); },
    nonNegative: function (a) { return a.name + " must not be negative, got " + fmt(a.values); },
    sameStride: function (a) { return "padding='same' needs stride 1, got stride " + fmt(a.stride) + ": PyTorch refuses this"; },
    kernelTooLarge: function (a) {
      return "the kernel (dilated) covers " + a.eff + " pixels, more than the padded input " + a.padded +
        ": PyTorch refuses this";
    },
    outputPadding: function (a) {
      return "output_padding (" + a.op + ") must be smaller than stride (" + a.s + ") or dilation (" + a.d +
        "): PyTorch refuses this";
    },
    transposedEmpty: function (a) { return "the output size would be " + a.o + ": padding is too large, PyTorch refuses this"; },
    poolPadding: function (a) {
      return "pooling padding (" + a.p + ") must be at most half of kernel_size (" + a.k + "): PyTorch refuses this";
    },
    poolEmpty: function (a) {
      return "the output size would be " + a.o + ": the window is larger than the padded input, PyTorch refuses this";
    },
  };

  function message(r, table) { return table[r.code](r.args); }

  function language() {
    var lang = (document.documentElement.getAttribute("lang") || "en").toLowerCase();
    return lang.indexOf("zh") === 0 ? "zh" : "en";
  }

  window.cnnrefConvRules = {
    convOutput: convOutput, transposedOutput: transposedOutput, poolOutput: poolOutput,
    message: message, messages: { shapes: SHAPES, zh: ZH, en: EN },
    asInt: asInt, pyRepr: pyRepr, fmt: fmt, floorDiv: floorDiv, language: language,
  };
})();
