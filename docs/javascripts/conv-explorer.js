// The convolution explorer (docs/explorer.*.md): any configuration of a convolution, a
// transposed convolution or a pooling, stepped through cell by cell and drawn as SVG.
//
// The state is the page's URL query (mode, h, w, kh, kw, s, p, d, g, cin, cout, op, ceil, seed,
// and view, flip, layers, at, xv, wv); window.cnnrefExplorer.set(query) sets it like a new URL.
// A configuration is checked first as cnnref.nn.Conv2d / ConvTranspose2d check their channels,
// then with cnnref.shapes' rules (conv-rules.js); a refusal shows cnnref's message (English)
// or the calculator's Chinese words (conv-rules.js lists the mapping). The arithmetic lives in
// conv-explorer-math.js. For the tests the root element carries its state as JSON: data-input
// (C_in, H, W), data-weight (torch's layout), data-output, data-shape, data-cell (the current
// step's cell), data-field (the cells highlighted for it), data-winner (max pooling),
// data-overlap and data-resize-overlap (the checkerboard view), data-error(-code).
(function () {
  "use strict";

  var rules = window.cnnrefConvRules, M = window.cnnrefExplorerMath;
  var MODES = ["conv", "transposed", "maxpool", "avgpool"];
  var KEYS = ["mode", "h", "w", "kh", "kw", "s", "p", "d", "g", "cin", "cout", "op", "ceil", "seed",
              "view", "flip", "layers", "at", "xv", "wv"];
  var DEFAULTS = { mode: "conv", h: "5", w: "5", kh: "3", kw: "3", s: "", p: "0", d: "1", g: "1", cin: "1",
                   cout: "1", op: "0", ceil: "0", seed: "1", view: "scatter", flip: "0", layers: "1", at: "0",
                   xv: "", wv: "" };
  // What the explorer draws (torch allows more; the page says so).
  var LIMITS = { size: 16, kernel: 7, channels: 4, out: 40, drawn: 64, heat: 64 };
  var CELL = 26;
  var MINUS = "\u2212";

  // --- words ---------------------------------------------------------------------------------
  var TEXT = {
    zh: {
      modes: { conv: "卷积", transposed: "转置卷积", maxpool: "最大池化", avgpool: "平均池化" },
      views: { scatter: "散射：每个输入乘以卷积核", gather: "等价的普通卷积（插零后）" },
      fields: {
        mode: "运算", h: "输入高 H", w: "输入宽 W", kh: "核高 kH", kw: "核宽 kW", s: "步幅 stride",
        p: "填充 padding", d: "空洞 dilation", g: "分组 groups", cin: "输入通道 C_in", cout: "输出通道 C_out",
        op: "output_padding", ceil: "ceil_mode", seed: "随机种子 seed", flip: "翻转卷积核（数学上的卷积）",
        view: "转置卷积的画法", layers: "叠加层数（棋盘格）",
      },
      strideDefault: "默认 = 核大小", paddingHint: "整数、same 或 valid",
      input: "输入 x", padded: "，含填充", kernel: "卷积核", output: "输出 y", stretched: "插零并填充后的输入 z",
      window: "池化窗口", kernelOf: function (o) { return "输出通道 " + o + " 的卷积核 w[" + o + "]"; },
      kernelFrom: function (c) { return "输入通道 " + c + " 的卷积核 w[" + c + "]"; },
      flippedKernel: function (o) { return "翻转并交换通道后的卷积核 w′[" + o + "]"; },
      flippedNote: "已翻转（旋转 180°）：这是数学上的卷积，不是 torch 的 conv2d",
      channel: function (c) { return "通道 " + c; },
      back: "上一步", play: "播放", pause: "暂停", forward: "下一步", position: "位置",
      step: function (n, total) { return "第 " + n + " 步，共 " + total + " 步"; },
      keys: "用左右方向键逐步查看",
      legend: { pad: "填充", field: "感受野（参与计算的输入）", targets: "当前输入写入的输出", cur: "当前单元", zero: "插入的零", crop: "被 padding 裁掉", win: "最大值（梯度流向它）" },
      sumsSoFar: "输出中显示的是到这一步为止的累加和",
      cropped: "（落在被裁掉的边上）",
      maxNote: "取第一个最大值；反向传播时梯度只流向它",
      avgNote: function (n) { return "除以窗口在填充后输入中的格数 " + n + "（torch 默认 count_include_pad=True）"; },
      editHint: "数字可以直接修改",
      tooManyTerms: "乘积太多，不逐项编辑；缩小卷积核或通道数即可编辑",
      equiv: function (e) {
        return "同一个输出的两种算法。散射：每个输入单元把自己乘以卷积核，加到输出上，相邻输入单元之间隔 stride = " + e.s +
          " 格；padding = " + e.p + " 把输出的边裁掉。普通卷积：在输入单元之间插入 stride − 1 = " + (e.s - 1) +
          " 个零，四周填充 dilation·(k − 1) − padding = " + e.q[0] + "（行）、" + e.q[1] + "（列）" +
          (e.q[0] < 0 || e.q[1] < 0 ? "（负数表示裁掉）" : "") + "，在下方和右方再加 output_padding = " + e.op +
          " 行/列，然后用翻转并交换输入、输出通道的卷积核做步幅为 1、空洞为 " + e.d + " 的普通卷积：" +
          "conv_transpose2d(x, w) = conv2d(z, w′)。";
      },
      checker: "棋盘格：每个输出单元被卷积核覆盖的次数",
      checkerTransposed: function (l) { return (l > 1 ? l + " 层" : "") + "转置卷积（输入和卷积核全为 1）"; },
      checkerResize: function (l, s) { return "最近邻放大 " + s + " 倍，再做 padding='same' 的卷积" + (l > 1 ? "，叠加 " + l + " 层" : ""); },
      ruleEven: function (dim, k, s) { return dim + "：k = " + k + " 是 stride = " + s + " 的倍数，内部每格覆盖次数相同"; },
      ruleUneven: function (dim, k, s) { return dim + "：k = " + k + " 不是 stride = " + s + " 的倍数，覆盖次数交替变化（棋盘格）"; },
      ruleDilation: function (dim, d, s) { return dim + "：dilation = " + d + " 与 stride = " + s + " 有公因数，有些格子一次也不被覆盖"; },
      rows: "高", cols: "宽",
      resizeEven: "放大后再卷积：内部每格都被 kH·kW 个抽头覆盖，没有棋盘格",
      heatTooLarge: "叠加后的输出太大，不画",
      errors: {
        mode: function (v) { return "mode 必须是 conv、transposed、maxpool 或 avgpool，当前为 " + rules.pyRepr(v); },
        poolChannels: function (v) { return "C_in 必须是正整数，当前为 " + rules.pyRepr(v); },
        ceil: function (v) { return "ceil 必须是 0 或 1，当前为 " + rules.pyRepr(v); },
        flip: function (v) { return "flip 必须是 0 或 1，当前为 " + rules.pyRepr(v); },
        seed: function (v) { return "seed 必须是整数，当前为 " + rules.pyRepr(v); },
        view: function (v) { return "view 必须是 scatter 或 gather，当前为 " + rules.pyRepr(v); },
        layers: function (v) { return "layers 必须是 1、2 或 3，当前为 " + rules.pyRepr(v); },
        values: function (name, n) { return name + " 必须是 " + n + " 个用逗号分隔的数"; },
        limits: function (l) {
          return "这个演示器只画输入不超过 " + l.size + "×" + l.size + "、卷积核不超过 " + l.kernel + "×" + l.kernel +
            "、通道不超过 " + l.channels + " 个、输出不超过 " + l.out + "×" + l.out + " 的配置（PyTorch 本身允许更大的）";
        },
      },
      nn: {
        channelsNotInt: function (a) { return a.arg + " 必须是整数"; },
        groupsPositive: function (a) { return "groups 必须是正整数，当前为 " + a.g; },
        channelsPositive: function (a) { return "in_channels 和 out_channels 必须是正数，当前为 " + a.cin + "、" + a.cout; },
        inDivisible: function (a) { return "in_channels（" + a.cin + "）必须能被 groups（" + a.g + "）整除"; },
        outDivisible: function (a) { return "out_channels（" + a.cout + "）必须能被 groups（" + a.g + "）整除"; },
      },
      shapes: rules.messages.zh,
    },
    en: {
      modes: { conv: "convolution", transposed: "transposed convolution", maxpool: "max pooling", avgpool: "average pooling" },
      views: { scatter: "scatter: each input times the kernel", gather: "as a convolution (zeros inserted)" },
      fields: {
        mode: "operation", h: "input height H", w: "input width W", kh: "kernel height kH", kw: "kernel width kW",
        s: "stride", p: "padding", d: "dilation", g: "groups", cin: "input channels C_in", cout: "output channels C_out",
        op: "output_padding", ceil: "ceil_mode", seed: "random seed", flip: "flip the kernel (true convolution)",
        view: "transposed convolution shown as", layers: "layers stacked (checkerboard)",
      },
      strideDefault: "default = kernel", paddingHint: "a number, same or valid",
      input: "input x", padded: ", padded", kernel: "kernel", output: "output y", stretched: "input with zeros inserted, padded: z",
      window: "pooling window", kernelOf: function (o) { return "kernel of output channel " + o + ": w[" + o + "]"; },
      kernelFrom: function (c) { return "kernel of input channel " + c + ": w[" + c + "]"; },
      flippedKernel: function (o) { return "kernel flipped, channels swapped: w′[" + o + "]"; },
      flippedNote: "flipped (rotated 180°): this is the mathematical convolution, not torch's conv2d",
      channel: function (c) { return "channel " + c; },
      back: "back", play: "play", pause: "pause", forward: "forward", position: "position",
      step: function (n, total) { return "step " + n + " of " + total; },
      keys: "step with the left and right arrow keys",
      legend: { pad: "padding", field: "receptive field (the inputs used)", targets: "the outputs this input writes to", cur: "current cell", zero: "inserted zero", crop: "cropped by padding", win: "the maximum (gets the gradient)" },
      sumsSoFar: "the output shows the sums so far, up to this step",
      cropped: "(lands on the cropped border)",
      maxNote: "the first largest value; backpropagation sends the gradient to it alone",
      avgNote: function (n) { return "divided by the " + n + " cells of the window inside the padded input (torch's default count_include_pad=True)"; },
      editHint: "the numbers can be edited",
      tooManyTerms: "too many products to edit one by one; a smaller kernel or fewer channels makes them editable",
      equiv: function (e) {
        return "The same output two ways. Scatter: each input cell adds itself times the kernel to the output, its " +
          "neighbours stride = " + e.s + " cells apart; padding = " + e.p + " crops the output's border. As a convolution: " +
          "insert stride − 1 = " + (e.s - 1) + " zeros between the input cells, pad by dilation·(k − 1) − padding = " +
          e.q[0] + " (rows) and " + e.q[1] + " (columns)" + (e.q[0] < 0 || e.q[1] < 0 ? " (negative: cropped)" : "") +
          ", add output_padding = " + e.op + " more on the bottom and right, and run an ordinary convolution with stride 1 " +
          "and dilation " + e.d + " whose kernel is flipped and has its input and output channels swapped: " +
          "conv_transpose2d(x, w) = conv2d(z, w′).";
      },
      checker: "Checkerboard: how many kernel taps land on each output cell",
      checkerTransposed: function (l) { return (l > 1 ? l + " stacked transposed convolutions" : "transposed convolution") + " (all-ones input and kernel)"; },
      checkerResize: function (l, s) { return "nearest resize ×" + s + ", then a convolution with padding='same'" + (l > 1 ? ", " + l + " times" : ""); },
      ruleEven: function (dim, k, s) { return dim + ": k = " + k + " is a multiple of stride = " + s + ": every interior cell gets the same count"; },
      ruleUneven: function (dim, k, s) { return dim + ": k = " + k + " is not a multiple of stride = " + s + ": the counts alternate (a checkerboard)"; },
      ruleDilation: function (dim, d, s) { return dim + ": dilation = " + d + " and stride = " + s + " share a factor: some cells get no tap at all"; },
      rows: "height", cols: "width",
      resizeEven: "resize, then convolve: every interior cell gets kH·kW taps, no checkerboard",
      heatTooLarge: "the stacked output is too large to draw",
      errors: {
        mode: function (v) { return "mode must be conv, transposed, maxpool or avgpool, got " + rules.pyRepr(v); },
        poolChannels: function (v) { return "C_in must be a positive whole number, got " + rules.pyRepr(v); },
        ceil: function (v) { return "ceil must be 0 or 1, got " + rules.pyRepr(v); },
        flip: function (v) { return "flip must be 0 or 1, got " + rules.pyRepr(v); },
        seed: function (v) { return "seed must be a whole number, got " + rules.pyRepr(v); },
        view: function (v) { return "view must be scatter or gather, got " + rules.pyRepr(v); },
        layers: function (v) { return "layers must be 1, 2 or 3, got " + rules.pyRepr(v); },
        values: function (name, n) { return name + " must be " + n + " numbers separated by commas"; },
        limits: function (l) {
          return "the explorer draws inputs up to " + l.size + "×" + l.size + ", kernels up to " + l.kernel + "×" + l.kernel +
            ", up to " + l.channels + " channels and outputs up to " + l.out + "×" + l.out + " (PyTorch itself allows more)";
        },
      },
      // cnnref.nn.Conv2d / ConvTranspose2d's exact words for the channels
      nn: {
        channelsNotInt: function (a) { return a.name + ": " + a.arg + " must be an int, got " + rules.pyRepr(a.value); },
        groupsPositive: function (a) { return a.name + ": groups must be a positive integer, got " + a.g; },
        channelsPositive: function (a) {
          return a.name + ": in_channels and out_channels must be positive, got " + a.cin + ", " + a.cout;
        },
        inDivisible: function (a) { return a.name + ": in_channels=" + a.cin + " must be divisible by groups=" + a.g; },
        outDivisible: function (a) { return a.name + ": out_channels=" + a.cout + " must be divisible by groups=" + a.g; },
      },
      shapes: rules.messages.shapes,
    },
  };

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

  if (typeof document$ !== "undefined") {
    document$.subscribe(initAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
