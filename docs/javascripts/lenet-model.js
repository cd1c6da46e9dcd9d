// The numbers of the "Look inside LeNet-5" page, without any page: the preprocessing of
// cnnref.images and cnnref.data, and LeNet-5's layers (Conv2d, Tanh, AvgPool2d, Flatten, Linear as
// model.json lists them), accumulated in double precision from float32 weights. The page's
// explorer (lenet-explorer.js) draws what these compute; the browser tests compare them with torch
// and cnnref on the same inputs. Exposed as window.cnnref.lenetModel.
(function () {
  "use strict";

  var DIGIT = 8;            // the digits' 8x8 images (cnnref.images.DIGIT_SIZE)
  var INK_THRESHOLD = 0.25; // cnnref.images.INK_THRESHOLD

  // ------------------------------------------------------------------ preprocessing

  // cnnref.images.area_weights: (m rows of n) that average n pixels into m cells.
  function areaWeights(n, m) {
    var rows = [], width = n / m;
    for (var a = 0; a < m; a++) {
      var row = new Float64Array(n), lo = a * width, hi = (a + 1) * width;
      for (var i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
        row[i] = (Math.min(hi, i + 1) - Math.max(lo, i)) / width;
      }
      rows.push(row);
    }
    return rows;
  }

  // cnnref.images.digit_from_ink: ink (h*w, row-major, in [0, 1]) -> 8x8 (64), or null if no ink.
  function digitFromInk(ink, h, w) {
    var r0 = -1, r1 = -1, c0 = -1, c1 = -1;
    for (var r = 0; r < h; r++) {
      for (var c = 0; c < w; c++) {
        if (ink[r * w + c] >= INK_THRESHOLD) {
          if (r0 < 0) r0 = r;
          r1 = r;
          if (c0 < 0 || c < c0) c0 = c;
          if (c > c1) c1 = c;
        }
      }
    }
    if (r0 < 0) return null;
    var bh = r1 - r0 + 1, bw = c1 - c0 + 1, side = Math.max(bh, bw);
    var top = Math.floor((side - bh) / 2), left = Math.floor((side - bw) / 2);
    var square = new Float64Array(side * side);
    for (r = 0; r < bh; r++) {
      for (c = 0; c < bw; c++) square[(top + r) * side + left + c] = ink[(r0 + r) * w + c0 + c];
    }
    var W = areaWeights(side, DIGIT), tmp = new Float64Array(DIGIT * side), out = new Float64Array(DIGIT * DIGIT);
    for (var a = 0; a < DIGIT; a++) {          // tmp = W @ square
      for (c = 0; c < side; c++) {
        var s = 0;
        for (var i = 0; i < side; i++) s += W[a][i] * square[i * side + c];
        tmp[a * side + c] = s;
      }
    }
    for (a = 0; a < DIGIT; a++) {              // out = tmp @ W.T
      for (var b = 0; b < DIGIT; b++) {
        s = 0;
        for (i = 0; i < side; i++) s += tmp[a * side + i] * W[b][i];
        out[a * DIGIT + b] = Math.min(1, Math.max(0, s));
      }
    }
    return out;
  }

  // torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of one dimension:
  // for each output index, the two input indices and their weights (upsample_bilinear2d's rule).
  function linearIndices(inSize, outSize) {
    var scale = inSize / outSize, idx = [];
    for (var d = 0; d < outSize; d++) {
      var src = scale * (d + 0.5) - 0.5;
      if (src < 0) src = 0;
      var i0 = Math.min(Math.floor(src), inSize - 1);
      var l1 = Math.min(Math.max(src - i0, 0), 1);
      idx.push([i0, i0 < inSize - 1 ? i0 + 1 : i0, 1 - l1, l1]);
    }
    return idx;
  }

  // cnnref.data.enlarge_digits: 8x8 in [0, 1] -> size x size (bilinear to size-4, 2-pixel border, clip).
  function enlarge(digit, size) {
    var inner = size - 4, out = new Float64Array(size * size);
    var ys = linearIndices(DIGIT, inner), xs = linearIndices(DIGIT, inner);
    for (var y = 0; y < inner; y++) {
      var Y = ys[y];
      for (var x = 0; x < inner; x++) {
        var X = xs[x];
        var v = Y[2] * (X[2] * digit[Y[0] * DIGIT + X[0]] + X[3] * digit[Y[0] * DIGIT + X[1]]) +
                Y[3] * (X[2] * digit[Y[1] * DIGIT + X[0]] + X[3] * digit[Y[1] * DIGIT + X[1]]);
        out[(y + 2) * size + x + 2] = Math.min(1, Math.max(0, v));
      }
    }
    return out;
  }

  // cnnref.images.prepare_digit: float32, then (x - mean) / std in float32, as torch computes it.
  function prepareDigit(digit, size, mean, std) {
    var x = enlarge(digit, size), out = new Float32Array(x.length);
    var m = Math.fround(mean), s = Math.fround(std);
    for (var i = 0; i < x.length; i++) out[i] = Math.fround(Math.fround(Math.fround(x[i]) - m) / s);
    return out;
  }

  // ------------------------------------------------------------------ the network

  function conv2d(x, shape, spec, weight, bias) {
    var C = shape[0], H = shape[1], W = shape[2];
    var O = spec.out_channels, kh = spec.kernel_size[0], kw = spec.kernel_size[1];
    var sh = spec.stride[0], sw = spec.stride[1], ph = spec.padding[0], pw = spec.padding[1];
    if (C !== spec.in_channels) throw new Error(spec.name + ": input has " + C + " channels, expected " + spec.in_channels);
    var Ho = Math.floor((H + 2 * ph - kh) / sh) + 1, Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
    var out = new Float64Array(O * Ho * Wo);
    for (var o = 0; o < O; o++) {
      for (var i = 0; i < Ho; i++) {
        for (var j = 0; j < Wo; j++) {
          var s = bias ? bias[o] : 0;
          for (var c = 0; c < C; c++) {
            for (var u = 0; u < kh; u++) {
              var y = i * sh + u - ph;
              if (y < 0 || y >= H) continue;
              for (var v = 0; v < kw; v++) {
                var xx = j * sw + v - pw;
                if (xx < 0 || xx >= W) continue;
                s += weight[((o * C + c) * kh + u) * kw + v] * x[(c * H + y) * W + xx];
              }
            }
          }
          out[(o * Ho + i) * Wo + j] = s;
        }
      }
    }
    return { data: out, shape: [O, Ho, Wo] };
  }

  function avgPool2d(x, shape, spec) {
    var C = shape[0], H = shape[1], W = shape[2], kh = spec.kernel_size[0], kw = spec.kernel_size[1];
    var sh = spec.stride[0], sw = spec.stride[1];
    var Ho = Math.floor((H - kh) / sh) + 1, Wo = Math.floor((W - kw) / sw) + 1;
    var out = new Float64Array(C * Ho * Wo);
    for (var c = 0; c < C; c++) {
      for (var i = 0; i < Ho; i++) {
        for (var j = 0; j < Wo; j++) {
          var s = 0;
          for (var u = 0; u < kh; u++) {
            for (var v = 0; v < kw; v++) s += x[(c * H + i * sh + u) * W + j * sw + v];
          }
          out[(c * Ho + i) * Wo + j] = s / (kh * kw);
        }
      }
    }
    return { data: out, shape: [C, Ho, Wo] };
  }

  function linear(x, shape, spec, weight, bias) {
    var I = spec.in_features, O = spec.out_features;
    if (x.length !== I) throw new Error(spec.name + ": input has " + x.length + " features, expected " + I);
    var out = new Float64Array(O);
    for (var o = 0; o < O; o++) {
      var s = bias ? bias[o] : 0;
      for (var i = 0; i < I; i++) s += weight[o * I + i] * x[i];
      out[o] = s;
    }
    return { data: out, shape: [O] };
  }

  // model: {layers: [spec], params: {"c1.weight": Float32Array}}; x: Float32Array of inputSize.
  // Returns [{name, type, shape, data}] for every layer, in order.
  function forward(model, x, inputSize) {
    var data = x, shape = inputSize.slice(), out = [];
    model.layers.forEach(function (spec) {
      var w = model.params[spec.name + ".weight"], b = model.params[spec.name + ".bias"], r;
      if (spec.type === "Conv2d") r = conv2d(data, shape, spec, w, b);
      else if (spec.type === "AvgPool2d") r = avgPool2d(data, shape, spec);
      else if (spec.type === "Linear") r = linear(data, shape, spec, w, b);
      else if (spec.type === "Tanh") r = { data: data.map(Math.tanh), shape: shape };
      else if (spec.type === "Flatten") r = { data: data, shape: [data.length] };
      else throw new Error("lenet-explorer: layer type " + spec.type + " is not implemented");
      if (!(r.data instanceof Float64Array)) r.data = Float64Array.from(r.data);
      data = r.data;
      shape = r.shape;
      out.push({ name: spec.name, type: spec.type, shape: shape, data: data });
    });
    return out;
  }

  // The input rows (and columns) one position of a layer depends on: for the layers up to and
  // including `upto`, r = r + (k - 1) j, j = j s, offset = offset - p j (cnnref.shapes.receptive_field).
  function receptiveField(layers, upto) {
    var size = 1, jump = 1, offset = 0;
    for (var l = 0; l < layers.length; l++) {
      var s = layers[l];
      if (s.type === "Conv2d" || s.type === "AvgPool2d") {
        var pad = s.padding ? s.padding[0] : 0;
        offset -= pad * jump;
        size += (s.kernel_size[0] - 1) * jump;
        jump *= s.stride[0];
      }
      if (s.name === upto) break;
    }
    return { size: size, jump: jump, offset: offset };
  }

  function nest(data, shape) {
    if (shape.length === 1) return Array.from(data.subarray ? data.subarray(0, shape[0]) : data.slice(0, shape[0]));
    var step = data.length / shape[0], out = [];
    for (var i = 0; i < shape[0]; i++) out.push(nest(data.subarray(i * step, (i + 1) * step), shape.slice(1)));
    return out;
  }

  function shapeText(shape) {
    return "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")");
  }

  var api = window.cnnref = window.cnnref || {};
  api.lenetModel = {
    DIGIT: DIGIT, areaWeights: areaWeights, digitFromInk: digitFromInk, enlarge: enlarge,
    prepareDigit: prepareDigit, forward: forward, receptiveField: receptiveField, nest: nest, shapeText: shapeText,
  };
})();
