// The words of the convolution explorer (conv-explorer.js), in Chinese and in English: labels,
// notes, and the refusals that are not cnnref.shapes' (conv-rules.js has those). The English
// words for a channel refusal are cnnref.nn's exact messages; tests/test_explorer.py compares them.
(function () {
  "use strict";

  var rules = window.cnnrefConvRules;

  window.cnnrefExplorerWords = {
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
})();
