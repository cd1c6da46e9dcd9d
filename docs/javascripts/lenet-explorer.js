// The "Look inside LeNet-5" page (both languages): the LeNet-5 of cnnref.models, trained on the
// digits when the site is built (cnnref.lenet_asset.trained_lenet5; hooks/lenet_weights.py writes
// assets/lenet5/), runs here in plain JavaScript.
//
// - Drawing: a 32x32 bitmap (NIST's forms, the digits' source, were scanned into 32x32 bitmaps),
//   drawn with a mouse, a finger or a pen (pointer events). The example button loads a test digit.
// - Preprocessing and forward pass: lenet-model.js (the same steps as cnnref.images and cnnref.data:
//   crop to the ink, centre in a square, average to 8x8, enlarge as torch.nn.functional.interpolate
//   computes it, standardise in float32; then the layers of model.json).
// - Drawn: every layer's maps as heat maps with their shapes, the parameters on the edges between
//   layers, the probabilities, c1's filters, the receptive field of the position under the pointer.
// - For tests: the logits as JSON in data-logits of the .lenet-explorer element;
//   window.cnnref.input() (1, 32, 32), window.cnnref.activations() (layer -> nested arrays),
//   window.cnnref.bitmap() (the drawing, 32x32 of 0/1), window.cnnref.lenet (the pure functions).
(function () {
  "use strict";

  var SCRIPT = document.currentScript ? document.currentScript.src : "";
  var M = window.cnnref && window.cnnref.lenetModel;     // lenet-model.js, loaded before this file
  var DIGIT = M.DIGIT, digitFromInk = M.digitFromInk, prepareDigit = M.prepareDigit, forward = M.forward;
  var receptiveField = M.receptiveField, nest = M.nest, shapeText = M.shapeText;
  var GRID = 32;            // the drawing's bitmap
  var BRUSH = 1.6;          // radius of the pen, in cells of the bitmap
  var MAP_PX = [56, 72];    // about how large a feature map is drawn, in CSS pixels (narrow, wide)

  var MESSAGES = {
    zh: {
      loading: "正在加载网络的权重……",
      failed: "无法加载网络的权重：",
      clear: "清除",
      example: "示例",
      index: "序号",
      drawHint: "在上面的方格里写一个数字（鼠标、手指或触控笔）。",
      yourDrawing: "你写的数字",
      testDigit: function (k, label) { return "第 " + k + " 个测试数字（标签 " + label + "）"; },
      empty: "画布是空的：写一个数字，或者点“示例”。",
      // the prediction line: text before the class, the class (bold), text after it
      predicted: function (k, percent) { return ["预测：", String(k), "（概率 " + percent + "%）"]; },
      params: function (n) { return n === 0 ? "无参数" : n.toLocaleString("en-US") + " 个参数"; },
      input: "输入",
      filters: "c1 的 6 个卷积核",
      rf: function (name, c, i, j, r0, c0, size) {
        return name + "[" + c + ", " + i + ", " + j + "] 看到的输入区域：第 " + r0 + "–" + (r0 + size - 1) +
          " 行、第 " + c0 + "–" + (c0 + size - 1) + " 列（" + size + "×" + size + "）";
      },
      rfHint: "把指针停在（或用手指点）某一层的特征图上，输入中会标出该位置的感受野。",
    },
    en: {
      loading: "Loading the network's weights…",
      failed: "Could not load the network's weights: ",
      clear: "Clear",
      example: "Example",
      index: "no.",
      drawHint: "Write a digit in the square above (mouse, finger or pen).",
      yourDrawing: "your drawing",
      testDigit: function (k, label) { return "test digit " + k + " (label " + label + ")"; },
      empty: "The canvas is empty: write a digit, or press “Example”.",
      predicted: function (k, percent) { return ["prediction: ", String(k), " (probability " + percent + " %)"]; },
      params: function (n) { return n === 0 ? "no parameters" : n.toLocaleString("en-US") + " parameters"; },
      input: "input",
      filters: "the 6 filters of c1",
      rf: function (name, c, i, j, r0, c0, size) {
        return name + "[" + c + ", " + i + ", " + j + "] sees input rows " + r0 + "–" + (r0 + size - 1) +
          ", columns " + c0 + "–" + (c0 + size - 1) + " (" + size + "×" + size + ")";
      },
      rfHint: "Point at (or tap) a feature map: the receptive field of that position is marked on the input.",
    },
  };

  function messages() {
    var lang = (document.documentElement.getAttribute("lang") || "en").toLowerCase();
    return lang.indexOf("zh") === 0 ? MESSAGES.zh : MESSAGES.en;
  }

  // ------------------------------------------------------------------ drawing the maps

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // values -> RGBA: blue (negative) - white (0) - red (positive), scaled by max |v|; or grey
  // from black (min) to white (max).
  function paint(canvas, values, w, h, lo, hi, signed) {
    canvas.width = w;
    canvas.height = h;
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h), d = img.data;
    for (var i = 0; i < w * h; i++) {
      var v = values[i], r, g, b;
      if (signed) {
        var t = hi > 0 ? Math.max(-1, Math.min(1, v / hi)) : 0, fade = 255 * (1 - Math.abs(t));
        r = t >= 0 ? 255 : fade;
        g = fade;
        b = t >= 0 ? fade : 255;
      } else {
        r = g = b = hi > lo ? 255 * (v - lo) / (hi - lo) : 0;
      }
      d[4 * i] = r;
      d[4 * i + 1] = g;
      d[4 * i + 2] = b;
      d[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function range(data) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < data.length; i++) {
      if (data[i] < lo) lo = data[i];
      if (data[i] > hi) hi = data[i];
    }
    return [lo, hi];
  }

  // ------------------------------------------------------------------ the explorer

  function Explorer(root) {
    this.root = root;
    this.msg = messages();
    this.bitmap = new Float64Array(GRID * GRID);
    this.mode = "empty";        // "draw", "example" or "empty"
    this.pointer = null;
    this.last = null;
    this.frame = 0;
    this.result = null;
    root.setAttribute("data-state", "loading");
    root.textContent = this.msg.loading;
  }

  Explorer.prototype.load = function () {
    var self = this, base = new URL("../assets/lenet5/", SCRIPT || document.baseURI).href;
    function get(name, kind) {
      return fetch(base + name).then(function (r) {
        if (!r.ok) throw new Error(name + ": HTTP " + r.status);
        return kind === "json" ? r.json() : r.arrayBuffer();
      });
    }
    return get("model.json", "json").then(function (meta) {
      return Promise.all([get(meta.weights.file), get(meta.digits.file)]).then(function (buffers) {
        self.setup(meta, buffers[0], buffers[1]);
      });
    }).catch(function (err) {
      self.root.setAttribute("data-state", "error");
      self.root.textContent = self.msg.failed + err.message;
    });
  };

  Explorer.prototype.setup = function (meta, weights, digits) {
    var view = new DataView(weights), params = {}, counts = {};
    if (weights.byteLength !== 4 * meta.weights.count) throw new Error("weights.bin has the wrong size");
    meta.tensors.forEach(function (t) {
      var n = t.shape.reduce(function (a, b) { return a * b; }, 1), arr = new Float32Array(n);
      for (var i = 0; i < n; i++) arr[i] = view.getFloat32(4 * (t.offset + i), true);
      params[t.name] = arr;
      var layer = t.name.split(".")[0];
      counts[layer] = (counts[layer] || 0) + n;
    });
    this.meta = meta;
    this.model = { layers: meta.layers, params: params };
    this.counts = counts;
    this.digits = new Uint8Array(digits);
    this.build();
    this.root.setAttribute("data-state", "ready");
    this.showExample(0);
  };

  Explorer.prototype.build = function () {
    var self = this, msg = this.msg, root = this.root;
    root.textContent = "";
    var top = el("div", "le-top"), draw = el("div", "le-draw"), pred = el("div", "le-prediction");
    this.canvas = el("canvas", "le-canvas");
    this.canvas.width = this.canvas.height = GRID * 8;
    this.canvas.setAttribute("aria-label", msg.drawHint);
    draw.appendChild(this.canvas);
    var buttons = el("div", "le-buttons");
    var clear = el("button", "md-button le-clear", msg.clear);
    clear.type = "button";
    var label = el("label", "le-index");
    label.appendChild(el("span", "", msg.index + " "));
    this.index = el("input");
    this.index.type = "number";
    this.index.min = "0";
    this.index.max = String(this.meta.digits.shape[0] - 1);
    this.index.value = "0";
    this.index.name = "k";
    label.appendChild(this.index);
    var example = el("button", "md-button le-example", msg.example);
    example.type = "button";
    buttons.appendChild(example);
    buttons.appendChild(label);
    buttons.appendChild(clear);
    draw.appendChild(buttons);
    this.status = el("p", "le-status", msg.drawHint);
    draw.appendChild(this.status);
    this.predicted = el("p", "le-predicted");
    pred.appendChild(this.predicted);
    this.bars = el("div", "le-bars");
    this.barRows = [];
    for (var k = 0; k < this.meta.layers[this.meta.layers.length - 1].out_features; k++) {
      var row = el("div", "le-bar-row"), bar = el("span", "le-bar"), value = el("span", "le-bar-value");
      row.appendChild(el("span", "le-bar-label", String(k)));
      var track = el("span", "le-bar-track");
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(value);
      this.bars.appendChild(row);
      this.barRows.push({ row: row, bar: bar, value: value });
    }
    pred.appendChild(this.bars);
    top.appendChild(draw);
    top.appendChild(pred);
    root.appendChild(top);

    // the input beside the layers on a wide screen (it stays in view while the layers scroll by),
    // above them on a narrow one
    var layers = el("div", "le-layers"), inputColumn = el("div", "le-input-column"), stack = el("div", "le-stack");
    this.blocks = {};
    this.blocks.input = this.block(inputColumn, "input", msg.input, this.meta.input_size, true);
    this.rfText = el("p", "le-rf-text", msg.rfHint);
    inputColumn.appendChild(this.rfText);
    this.meta.layers.forEach(function (spec) {
      var edge = el("div", "le-edge"), n = self.counts[spec.name] || 0;
      edge.setAttribute("data-to", spec.name);
      edge.setAttribute("data-params", String(n));
      edge.textContent = "↓ " + spec.name + " · " + spec.type + " · " + msg.params(n);
      stack.appendChild(edge);
      self.blocks[spec.name] = self.block(stack, spec.name, spec.type, null, false);
    });
    layers.appendChild(inputColumn);
    layers.appendChild(stack);
    root.appendChild(layers);
    this.rf = el("div", "le-rf");
    this.rf.hidden = true;
    this.blocks.input.maps.style.position = "relative";
    this.blocks.input.maps.appendChild(this.rf);
    this.filters();

    clear.addEventListener("click", function () { self.clear(); });
    example.addEventListener("click", function () {
      var k = parseInt(self.index.value, 10);
      var n = self.meta.digits.shape[0];
      if (!(k >= 0 && k < n)) k = 0;
      self.showExample(k);
      self.index.value = String((k + 1) % n);
    });
    this.pointerEvents();
    layers.addEventListener("pointermove", function (e) { self.hover(e); });
    layers.addEventListener("pointerdown", function (e) { self.hover(e); });
    layers.addEventListener("pointerleave", function () { self.unhover(); });
  };

  Explorer.prototype.block = function (parent, name, type, shape, big) {
    var b = el("div", "le-layer");
    b.setAttribute("data-layer", name);
    var head = el("div", "le-head");
    head.appendChild(el("strong", "", name));
    head.appendChild(document.createTextNode(name === "input" ? " " : " · " + type + " "));
    var code = el("code", "le-shape", shape ? shapeText(shape) : "");
    head.appendChild(code);
    b.appendChild(head);
    var maps = el("div", "le-maps" + (big ? " le-maps-input" : ""));
    b.appendChild(maps);
    parent.appendChild(b);
    return { el: b, code: code, maps: maps, canvases: [] };
  };

  Explorer.prototype.filters = function () {
    var w = this.model.params["c1.weight"], spec = this.meta.layers[0];
    if (!w || spec.type !== "Conv2d") return;
    var box = el("div", "le-filters"), kh = spec.kernel_size[0], kw = spec.kernel_size[1], n = kh * kw;
    box.appendChild(el("div", "le-head", this.msg.filters + " " + shapeText([spec.out_channels, spec.in_channels, kh, kw])));
    var row = el("div", "le-maps"), lim = range(w), hi = Math.max(Math.abs(lim[0]), Math.abs(lim[1]));
    for (var o = 0; o < spec.out_channels; o++) {
      var c = el("canvas", "le-map");
      paint(c, w.subarray(o * spec.in_channels * n, o * spec.in_channels * n + n), kw, kh, -hi, hi, true);
      c.style.width = (kw * 12) + "px";
      row.appendChild(c);
    }
    box.appendChild(row);
    this.blocks[spec.name].el.appendChild(box);
  };

  Explorer.prototype.pointerEvents = function () {
    var self = this, canvas = this.canvas;
    function cell(e) {
      var r = canvas.getBoundingClientRect();
      return [(e.clientY - r.top) / r.height * GRID, (e.clientX - r.left) / r.width * GRID];
    }
    canvas.addEventListener("pointerdown", function (e) {
      if (e.button > 0) return;
      e.preventDefault();
      try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer cannot be captured */ }
      if (self.mode !== "draw") { self.bitmap.fill(0); self.mode = "draw"; }
      self.pointer = e.pointerId;
      self.last = cell(e);
      self.stroke(self.last, self.last);
      self.schedule();
    });
    canvas.addEventListener("pointermove", function (e) {
      if (self.pointer !== e.pointerId) return;
      e.preventDefault();
      var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      if (!events.length) events = [e];
      events.forEach(function (ev) {
        var p = cell(ev);
        self.stroke(self.last, p);
        self.last = p;
      });
      self.schedule();
    });
    function end(e) {
      if (self.pointer !== e.pointerId) return;
      self.pointer = null;
      self.update();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  };

  // Ink every cell whose centre lies within BRUSH of the segment a-b (points in cell units).
  Explorer.prototype.stroke = function (a, b) {
    var r0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - BRUSH)), r1 = Math.min(GRID - 1, Math.ceil(Math.max(a[0], b[0]) + BRUSH));
    var c0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - BRUSH)), c1 = Math.min(GRID - 1, Math.ceil(Math.max(a[1], b[1]) + BRUSH));
    var dy = b[0] - a[0], dx = b[1] - a[1], len2 = dy * dy + dx * dx;
    for (var r = r0; r <= r1; r++) {
      for (var c = c0; c <= c1; c++) {
        var py = r + 0.5 - a[0], px = c + 0.5 - a[1];
        var t = len2 > 0 ? Math.max(0, Math.min(1, (py * dy + px * dx) / len2)) : 0;
        var ey = py - t * dy, ex = px - t * dx;
        if (ey * ey + ex * ex <= BRUSH * BRUSH) this.bitmap[r * GRID + c] = 1;
      }
    }
  };

  Explorer.prototype.schedule = function () {
    var self = this;
    this.drawCanvas();
    if (this.frame) return;
    this.frame = requestAnimationFrame(function () { self.frame = 0; self.update(); });
  };

  Explorer.prototype.clear = function () {
    this.bitmap.fill(0);
    this.mode = "draw";
    this.update();
  };

  Explorer.prototype.showExample = function (k) {
    this.mode = "example";
    this.example = k;
    this.update();
  };

  Explorer.prototype.currentDigit = function () {
    if (this.mode === "example") {
      var d = new Float64Array(DIGIT * DIGIT), off = this.example * DIGIT * DIGIT;
      for (var i = 0; i < d.length; i++) d[i] = this.digits[off + i] / this.meta.digits.scale;
      return d;
    }
    return digitFromInk(this.bitmap, GRID, GRID);
  };

  Explorer.prototype.drawCanvas = function () {
    var ctx = this.canvas.getContext("2d"), cell = this.canvas.width / GRID;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.mode === "example") {                   // the 8x8 digit, 4x4 cells a pixel
      var off = this.example * DIGIT * DIGIT, scale = this.meta.digits.scale;
      for (var i = 0; i < DIGIT * DIGIT; i++) {
        var g = Math.round(255 * this.digits[off + i] / scale);
        ctx.fillStyle = "rgb(" + g + "," + g + "," + g + ")";
        ctx.fillRect((i % DIGIT) * 4 * cell, Math.floor(i / DIGIT) * 4 * cell, 4 * cell, 4 * cell);
      }
      return;
    }
    ctx.fillStyle = "#fff";
    for (var r = 0; r < GRID; r++) {
      for (var c = 0; c < GRID; c++) if (this.bitmap[r * GRID + c]) ctx.fillRect(c * cell, r * cell, cell, cell);
    }
  };

  // Preprocess, run the network, draw everything; synchronous, so a test reads the result at once.
  Explorer.prototype.update = function () {
    if (this.frame) { cancelAnimationFrame(this.frame); this.frame = 0; }
    this.updates = (this.updates || 0) + 1;
    this.root.setAttribute("data-source", (this.mode === "example" ? "example " + this.example : this.mode) + " #" + this.updates);
    var msg = this.msg, meta = this.meta, digit = this.currentDigit();
    this.drawCanvas();
    if (!digit) {
      this.result = null;
      this.root.removeAttribute("data-logits");
      this.root.removeAttribute("data-predicted");
      this.status.textContent = msg.empty;
      this.predicted.textContent = "";
      this.root.classList.add("le-empty");
      return;
    }
    this.root.classList.remove("le-empty");
    var size = meta.input_size[1], x = prepareDigit(digit, size, meta.mean, meta.std);
    var layers = forward(this.model, x, meta.input_size), logits = layers[layers.length - 1].data;
    this.result = { digit: digit, input: x, layers: layers };
    this.status.textContent = this.mode === "example"
      ? msg.testDigit(this.example, meta.digits.labels[this.example]) : msg.yourDrawing;
    var max = -Infinity, best = 0, sum = 0, p = [];
    for (var k = 0; k < logits.length; k++) if (logits[k] > max) { max = logits[k]; best = k; }
    for (k = 0; k < logits.length; k++) { p.push(Math.exp(logits[k] - max)); sum += p[k]; }
    this.root.setAttribute("data-logits", JSON.stringify(Array.from(logits)));
    this.root.setAttribute("data-predicted", String(best));
    this.predicted.textContent = "";
    var line = msg.predicted(best, (100 * p[best] / sum).toFixed(1));
    this.predicted.appendChild(document.createTextNode(line[0]));
    this.predicted.appendChild(el("strong", "", line[1]));
    this.predicted.appendChild(document.createTextNode(line[2]));
    for (k = 0; k < this.barRows.length; k++) {
      var share = p[k] / sum;
      this.barRows[k].bar.style.width = (100 * share).toFixed(1) + "%";
      this.barRows[k].value.textContent = (100 * share).toFixed(1) + (msg === MESSAGES.zh ? "%" : " %");
      this.barRows[k].row.classList.toggle("le-best", k === best);
    }
    this.drawLayer(this.blocks.input, { name: "input", shape: meta.input_size, data: x }, false);
    for (var l = 0; l < layers.length; l++) this.drawLayer(this.blocks[layers[l].name], layers[l], true);
  };

  Explorer.prototype.drawLayer = function (block, layer, signed) {
    var shape = layer.shape, lim = range(layer.data), hi = Math.max(Math.abs(lim[0]), Math.abs(lim[1]));
    var spatial = shape.length === 3 && shape[1] * shape[2] > 1;
    var count = spatial ? shape[0] : 1;
    block.code.textContent = shapeText(shape);
    block.el.setAttribute("data-shape", shapeText(shape));
    if (block.canvases.length !== count) {
      block.canvases.forEach(function (c) { c.remove(); });
      block.canvases = [];
      for (var i = 0; i < count; i++) {
        var c = el("canvas", "le-map");
        c.setAttribute("data-layer", layer.name);
        c.setAttribute("data-channel", String(i));
        block.maps.insertBefore(c, this.rf && block === this.blocks.input ? this.rf : null);
        block.canvases.push(c);
      }
    }
    if (spatial) {
      var wide = this.root.clientWidth >= 480 ? 1 : 0;
      var H = shape[1], W = shape[2], n = H * W, px = Math.max(1, Math.round(MAP_PX[wide] / Math.max(H, W)));
      if (layer.name === "input") px = Math.max(1, Math.round((wide ? 192 : 160) / Math.max(H, W)));
      for (i = 0; i < count; i++) {
        paint(block.canvases[i], layer.data.subarray(i * n, (i + 1) * n), W, H, signed ? -hi : lim[0], signed ? hi : lim[1], signed);
        block.canvases[i].style.width = (W * px) + "px";
      }
    } else {                                           // a vector (or C maps of 1x1): cells in rows
      var total = layer.data.length, cols = Math.min(total, 30), rows = Math.ceil(total / cols);
      var cells = new Float64Array(cols * rows);
      cells.set(layer.data);
      paint(block.canvases[0], cells, cols, rows, -hi, hi, true);
      block.canvases[0].style.width = (cols * 9) + "px";
      block.canvases[0].setAttribute("data-cols", String(cols));
    }
  };

  // The receptive field of the position under the pointer, marked on the input.
  Explorer.prototype.hover = function (e) {
    var t = e.target;
    if (!this.result || !t || t.tagName !== "CANVAS" || !t.hasAttribute("data-layer")) return;
    var name = t.getAttribute("data-layer");
    if (name === "input") return;
    var layer = null;
    for (var l = 0; l < this.result.layers.length; l++) if (this.result.layers[l].name === name) layer = this.result.layers[l];
    if (!layer || layer.shape.length !== 3) return;        // a vector after flatten has no map
    var r = t.getBoundingClientRect(), c, i, j;
    var fy = (e.clientY - r.top) / r.height, fx = (e.clientX - r.left) / r.width;
    if (layer.shape[1] * layer.shape[2] > 1) {
      c = parseInt(t.getAttribute("data-channel"), 10);
      i = Math.min(layer.shape[1] - 1, Math.max(0, Math.floor(fy * layer.shape[1])));
      j = Math.min(layer.shape[2] - 1, Math.max(0, Math.floor(fx * layer.shape[2])));
    } else {                                               // (C, 1, 1): the cell is the channel
      var cols = parseInt(t.getAttribute("data-cols"), 10), rows = Math.ceil(layer.shape[0] / cols);
      c = Math.min(rows - 1, Math.floor(fy * rows)) * cols + Math.min(cols - 1, Math.floor(fx * cols));
      if (c >= layer.shape[0]) return;
      i = j = 0;
    }
    var field = receptiveField(this.meta.layers, name), H = this.meta.input_size[1], W = this.meta.input_size[2];
    var r0 = i * field.jump + field.offset, c0 = j * field.jump + field.offset;
    var top = Math.max(0, r0), left = Math.max(0, c0);
    var bottom = Math.min(H, r0 + field.size), right = Math.min(W, c0 + field.size);
    var input = this.blocks.input.canvases[0];
    this.rf.hidden = false;
    this.rf.style.top = (input.offsetTop + top / H * input.offsetHeight) + "px";
    this.rf.style.left = (input.offsetLeft + left / W * input.offsetWidth) + "px";
    this.rf.style.height = ((bottom - top) / H * input.offsetHeight) + "px";
    this.rf.style.width = ((right - left) / W * input.offsetWidth) + "px";
    this.rf.setAttribute("data-rf", [r0, c0, field.size].join(","));
    this.rf.setAttribute("data-cell", [name, c, i, j].join(","));
    this.rfText.textContent = this.msg.rf(name, c, i, j, r0, c0, field.size);
  };

  Explorer.prototype.unhover = function () {
    this.rf.hidden = true;
    this.rf.removeAttribute("data-rf");
    this.rf.removeAttribute("data-cell");
    this.rfText.textContent = this.msg.rfHint;
  };

  // ------------------------------------------------------------------ set-up and test hooks

  var current = null;

  function initAll() {
    var roots = document.querySelectorAll(".lenet-explorer");
    for (var i = 0; i < roots.length; i++) {
      if (roots[i].getAttribute("data-state")) continue;
      current = new Explorer(roots[i]);
      current.load();
    }
  }

  var api = window.cnnref = window.cnnref || {};
  api.input = function () {
    return current && current.result ? nest(current.result.input, current.meta.input_size) : null;
  };
  api.activations = function () {
    if (!current || !current.result) return null;
    var out = {};
    current.result.layers.forEach(function (l) { out[l.name] = nest(l.data, l.shape); });
    return out;
  };
  api.bitmap = function () { return current ? nest(current.bitmap, [GRID, GRID]) : null; };
  api.digit = function () { return current && current.result ? nest(current.result.digit, [DIGIT, DIGIT]) : null; };
  api.lenet = {
    areaWeights: function (n, m) { return M.areaWeights(n, m).map(function (r) { return Array.from(r); }); },
    // ink: nested (H, W) -> {digit: 8x8 or null, input: (1, 32, 32) or null}
    prepareInk: function (ink) {
      var h = ink.length, w = ink[0].length, flat = new Float64Array(h * w);
      for (var r = 0; r < h; r++) for (var c = 0; c < w; c++) flat[r * w + c] = ink[r][c];
      var digit = digitFromInk(flat, h, w), meta = current.meta;
      if (!digit) return { digit: null, input: null };
      return { digit: nest(digit, [DIGIT, DIGIT]), input: nest(prepareDigit(digit, meta.input_size[1], meta.mean, meta.std), meta.input_size) };
    },
    receptiveField: function (upto) { return receptiveField(current.meta.layers, upto); },
  };

  window.cnnrefOnPage(initAll);
})();
