// The arithmetic of the convolution explorer (conv-explorer.js draws it): what
// torch.nn.functional's conv2d, conv_transpose2d, max_pool2d and avg_pool2d compute, written
// as the explicit sums the explorer shows a reader, cell by cell, in float64.
//
// Every operation goes through a Grid: the input as the window sees it, padding included
// (for a transposed convolution seen as a convolution, the input with zeros inserted). A
// cell's `kind` says what it is and `src` which input value it holds (-1 for none), so the
// explorer can highlight the real inputs under a window and the tests can compare those
// with torch's gradients. tests/test_explorer.py checks every output against torch.
(function () {
  "use strict";

  var X = 0, PAD = 1, ZERO = 2, BEYOND = 3;  // a cell: an input value, padding, an inserted zero, past the padding

  // mulberry32: a small, well-known 32-bit generator; the same seed gives the same numbers
  // in every browser (Math.random cannot be seeded).
  function generator(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) | 0;
      var t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // Small integers for the input (-3 ... 3) and the kernel (-2, -1, 1, 2: never zero, so
  // every input under a window has a non-zero gradient, which the tests compare with torch's).
  function seeded(seed, inputSize, weightSize) {
    var next = generator(seed), x = new Float64Array(inputSize), w = new Float64Array(weightSize);
    for (var i = 0; i < inputSize; i++) x[i] = Math.floor(next() * 7) - 3;
    for (i = 0; i < weightSize; i++) w[i] = [-2, -1, 1, 2][Math.floor(next() * 4)];
    return { x: x, w: w };
  }

  function grid(C, H, W) {
    var n = C * H * W;
    return { C: C, H: H, W: W, val: new Float64Array(n), kind: new Uint8Array(n), src: new Int32Array(n).fill(-1) };
  }

  // The input (C, H, W) padded by pads [[top, bottom], [left, right]] with `fill`, then
  // extended by `beyond` [rows, cols] of cells past the padding (where a ceil_mode pooling
  // window hangs over the edge). Grid cell (r, q) is input cell (r - top, q - left).
  function padded(x, C, H, W, pads, beyond, fill) {
    var top = pads[0][0], left = pads[1][0];
    var g = grid(C, H + pads[0][0] + pads[0][1] + beyond[0], W + pads[1][0] + pads[1][1] + beyond[1]);
    g.top = top; g.left = left;
    for (var c = 0; c < C; c++) {
      for (var r = 0; r < g.H; r++) {
        for (var q = 0; q < g.W; q++) {
          var i = (c * g.H + r) * g.W + q, y = r - top, z = q - left;
          if (y >= 0 && y < H && z >= 0 && z < W) {
            g.kind[i] = X; g.src[i] = (c * H + y) * W + z; g.val[i] = x[g.src[i]];
          } else {
            var past = y >= H + pads[0][1] || z >= W + pads[1][1];
            g.kind[i] = past ? BEYOND : PAD; g.val[i] = fill;
          }
        }
      }
    }
    return g;
  }

  // The input of the convolution that a transposed convolution equals: s - 1 zeros between
  // neighbouring inputs, q = d*(k - 1) - p cells of padding on each side (q < 0 crops), and
  // output_padding more on the bottom and right. s, q and op are [rows, cols].
  function stretched(x, C, H, W, s, q, op) {
    var L = [(H - 1) * s[0] + 1, (W - 1) * s[1] + 1];
    var g = grid(C, L[0] + 2 * q[0] + op[0], L[1] + 2 * q[1] + op[1]);
    g.top = q[0]; g.left = q[1];
    for (var c = 0; c < C; c++) {
      for (var r = 0; r < g.H; r++) {
        for (var t = 0; t < g.W; t++) {
          var i = (c * g.H + r) * g.W + t, a = r - q[0], b = t - q[1];
          if (a < 0 || a >= L[0] || b < 0 || b >= L[1]) {
            g.kind[i] = PAD;
          } else if (a % s[0] || b % s[1]) {
            g.kind[i] = ZERO;
          } else {
            g.kind[i] = X; g.src[i] = (c * H + a / s[0]) * W + b / s[1]; g.val[i] = x[g.src[i]];
          }
        }
      }
    }
    return g;
  }

  // A cross-correlation over a grid, as torch's conv2d computes it (no padding: the grid
  // holds it): y[o, i, j] = sum over the group's channels cl and taps (ky, kx) of
  // kernel(o, cl, ky, kx) * P[g*Cg + cl, i*sH + ky*dH, j*sW + kx*dW].
  // kernel(o, cl, ky, kx) returns [value, index of that value in the weight array].
  // terms(o, i, j) lists the products of one output cell; y holds every cell's sum.
  function correlate(P, O, G, kernel, KH, KW, stride, dil, outH, outW) {
    var Cg = P.C / G, Og = O / G;
    function terms(o, i, j) {
      var list = [], g = Math.floor(o / Og);
      for (var cl = 0; cl < Cg; cl++) {
        var c = g * Cg + cl;
        for (var ky = 0; ky < KH; ky++) {
          for (var kx = 0; kx < KW; kx++) {
            var r = i * stride[0] + ky * dil[0], q = j * stride[1] + kx * dil[1];
            var at = (c * P.H + r) * P.W + q, wt = kernel(o, cl, ky, kx);
            list.push({ c: c, r: r, q: q, cell: at, ky: ky, kx: kx, x: P.val[at], w: wt[0], wsrc: wt[1],
                        kind: P.kind[at], src: P.src[at] });
          }
        }
      }
      return list;
    }
    var y = new Float64Array(O * outH * outW);
    for (var o = 0; o < O; o++) {
      for (var i = 0; i < outH; i++) {
        for (var j = 0; j < outW; j++) {
          var sum = 0, list = terms(o, i, j);
          for (var n = 0; n < list.length; n++) sum += list[n].w * list[n].x;
          y[(o * outH + i) * outW + j] = sum;
        }
      }
    }
    return { y: y, terms: terms };
  }

  // Max or average pooling over a padded grid (pads at -inf for max, 0 for average; cells
  // past the padding never count). window(c, i, j) lists the cells of one window with its
  // value; for max pooling `winner` is the first largest input in row-major order, the one
  // torch sends the gradient to; the average divides by the cells inside the padded input
  // (torch's count_include_pad=True).
  function pool(P, op, KH, KW, stride, dil, outH, outW) {
    function window(c, i, j) {
      var cells = [], best = -Infinity, winner = null, sum = 0, count = 0;
      for (var ky = 0; ky < KH; ky++) {
        for (var kx = 0; kx < KW; kx++) {
          var r = i * stride[0] + ky * dil[0], q = j * stride[1] + kx * dil[1];
          var at = (c * P.H + r) * P.W + q, cell = { c: c, r: r, q: q, cell: at, kind: P.kind[at], src: P.src[at], x: P.val[at] };
          cells.push(cell);
          if (cell.kind === X) {
            if (cell.x > best) { best = cell.x; winner = cell; }
            sum += cell.x;
          }
          if (cell.kind !== BEYOND) count += 1;
        }
      }
      return { cells: cells, winner: winner, sum: sum, count: count, value: op === "max" ? best : sum / count };
    }
    var y = new Float64Array(P.C * outH * outW);
    for (var c = 0; c < P.C; c++) {
      for (var i = 0; i < outH; i++) {
        for (var j = 0; j < outW; j++) y[(c * outH + i) * outW + j] = window(c, i, j).value;
      }
    }
    return { y: y, window: window };
  }

  // A transposed convolution as torch defines it: each input x[c, i, j] adds x * w[c, ol, ky, kx]
  // to output (g*Og + ol, i*s - p + ky*d, j*s - p + kx*d); what lands outside the output
  // (inside the padding) is cropped. w: (C, O/G, KH, KW). sends(c, i, j) lists one input's
  // products, upto(n) the output after the first n inputs (in row-major order) have sent theirs.
  function scatter(x, C, H, W, w, O, G, KH, KW, stride, pads, dil, outH, outW) {
    var Cg = C / G, Og = O / G;
    function sends(c, i, j) {
      var list = [], g = Math.floor(c / Cg), xv = x[(c * H + i) * W + j];
      for (var ol = 0; ol < Og; ol++) {
        for (var ky = 0; ky < KH; ky++) {
          for (var kx = 0; kx < KW; kx++) {
            var Y = i * stride[0] - pads[0] + ky * dil[0], Z = j * stride[1] - pads[1] + kx * dil[1];
            var wi = ((c * Og + ol) * KH + ky) * KW + kx;
            list.push({ o: g * Og + ol, Y: Y, Z: Z, ky: ky, kx: kx, x: xv, w: w[wi], wsrc: wi,
                        inside: Y >= 0 && Y < outH && Z >= 0 && Z < outW });
          }
        }
      }
      return list;
    }
    function upto(n) {
      var y = new Float64Array(O * outH * outW);
      for (var t = 0; t < n; t++) {
        var c = Math.floor(t / (H * W)), i = Math.floor(t / W) % H, j = t % W;
        var list = sends(c, i, j);
        for (var m = 0; m < list.length; m++) {
          var e = list[m];
          if (e.inside) y[(e.o * outH + e.Y) * outW + e.Z] += e.x * e.w;
        }
      }
      return y;
    }
    return { y: upto(C * H * W), sends: sends, upto: upto };
  }

  // --- the checkerboard view ---------------------------------------------------------------
  // How many kernel taps land on each output cell: the output for an all-ones input and an
  // all-ones kernel (one channel), after `layers` layers of the same kind.
  function ones(n) { return new Float64Array(n).fill(1); }

  // A stack of transposed convolutions; next(H, W) gives the next layer's [H, W], or null
  // where the stack cannot go on (a size refused, or too large to draw).
  function overlapTransposed(H, W, k, s, p, d, op, layers, next) {
    var x = ones(H * W);
    for (var l = 0; l < layers; l++) {
      var out = next(H, W);
      if (!out) return null;
      x = scatter(x, 1, H, W, ones(k[0] * k[1]), 1, 1, k[0], k[1], [s, s], [p, p], [d, d], out[0], out[1]).y;
      H = out[0]; W = out[1];
    }
    return { H: H, W: W, y: x };
  }

  // A stack of "nearest-neighbour resize by s, then a convolution with padding='same'".
  function overlapResize(H, W, k, s, d, layers, limit) {
    var x = ones(H * W);
    for (var l = 0; l < layers; l++) {
      var UH = H * s, UW = W * s;
      if (UH > limit || UW > limit) return null;
      var up = new Float64Array(UH * UW);
      for (var r = 0; r < UH; r++) {
        for (var q = 0; q < UW; q++) up[r * UW + q] = x[Math.floor(r / s) * W + Math.floor(q / s)];
      }
      var pads = [0, 1].map(function (a) {
        var total = d * (k[a] - 1);
        return [Math.floor(total / 2), total - Math.floor(total / 2)];
      });
      var P = padded(up, 1, UH, UW, pads, [0, 0], 0);
      x = correlate(P, 1, 1, function () { return [1, -1]; }, k[0], k[1], [1, 1], [d, d], UH, UW).y;
      H = UH; W = UW;
    }
    return { H: H, W: W, y: x };
  }

  // A flat array of shape `shape` as nested lists (JSON for the data- attributes).
  function nested(flat, shape) {
    function build(offset, dim) {
      if (dim === shape.length) return flat[offset];
      var out = [], stride = 1;
      for (var i = dim + 1; i < shape.length; i++) stride *= shape[i];
      for (var j = 0; j < shape[dim]; j++) out.push(build(offset + j * stride, dim + 1));
      return out;
    }
    return build(0, 0);
  }

  window.cnnrefExplorerMath = {
    X: X, PAD: PAD, ZERO: ZERO, BEYOND: BEYOND,
    generator: generator, seeded: seeded, padded: padded, stretched: stretched, correlate: correlate,
    pool: pool, scatter: scatter, overlapTransposed: overlapTransposed, overlapResize: overlapResize,
    nested: nested,
  };
})();
