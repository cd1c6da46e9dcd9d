"""GPU checks for cnnref's training loop (run by hand on a CUDA machine; never part of the tests).

1. Throughput: a few hundred training steps of VGG-11 at 224x224 on synthetic data, through
   ``cnnref.train.train_one_epoch``, in float32 (TF32 off), TF32, and bfloat16 autocast with
   channels_last; prints images/s for each and the speed-up over float32.
2. The float16 + GradScaler path for a few steps (the loss stays finite, the scale is kept).
3. ``cnnref.train.fit`` end to end on the digits on the GPU (AMP, channels_last), then an
   interrupted-and-resumed run, which must finish with the same test accuracy.
4. The NumPy reference convolution ``cnnref.functional.conv2d`` against ``torch.nn.functional.conv2d``
   on CUDA (float64, and float32 with TF32 off), when ``cnnref.functional`` exists.

Where there is no CUDA device it prints that it skipped and exits 0. About 1-2 minutes on an H100.

    python benchmarks/gpu_check.py [--steps 200] [--batch-size 64] [--compile]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np
import torch
from torch import nn


def vgg11(num_classes: int = 1000) -> nn.Module:
    """VGG-11 (configuration A of Simonyan & Zisserman 2014), from cnnref.models if it has it."""
    try:
        from cnnref.models import MODELS

        if "vgg11" in MODELS:
            return MODELS["vgg11"](num_classes=num_classes)
    except ImportError:
        pass
    layers, c_in = [], 3
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = v
    return nn.Sequential(*layers, nn.Flatten(),                       # (N, 512 * 7 * 7)
                         nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(4096, num_classes))


def throughput(mode: str, steps: int, batch_size: int, compile_model: bool) -> float:
    """Images per second of training steps through cnnref.train.train_one_epoch."""
    from cnnref.train import make_optimizer, train_one_epoch

    device = torch.device("cuda")
    tf32 = mode == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    dtype = torch.bfloat16 if mode.startswith("bf16") else None
    fmt = torch.channels_last if "channels_last" in mode else torch.contiguous_format

    torch.manual_seed(0)
    model = vgg11().to(device, memory_format=fmt)
    net = torch.compile(model) if compile_model else model
    optimizer = make_optimizer(model.parameters(), "sgd", lr=0.01)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    x = torch.randn(batch_size, 3, 224, 224, device=device).contiguous(memory_format=fmt)  # (N, 3, 224, 224)
    y = torch.randint(0, 1000, (batch_size,), device=device)                              # (N,)
    train_one_epoch(net, [(x, y)] * 10, optimizer, scaler, device, dtype, fmt)  # warm-up (cuDNN autotune, compile)
    torch.cuda.synchronize()
    start = time.perf_counter()
    loss, _ = train_one_epoch(net, [(x, y)] * steps, optimizer, scaler, device, dtype, fmt)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    assert np.isfinite(loss), f"{mode}: loss {loss}"
    return steps * batch_size / elapsed


def check_fp16_scaler() -> str:
    from cnnref.train import make_optimizer, train_one_epoch

    device = torch.device("cuda")
    torch.manual_seed(0)
    model = vgg11(10).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model.parameters(), "sgd", lr=0.01)
    scaler = torch.amp.GradScaler("cuda")
    x = torch.randn(16, 3, 224, 224, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (16,), device=device)
    loss, _ = train_one_epoch(model, [(x, y)] * 20, optimizer, scaler, device, torch.float16,
                              torch.channels_last, clip_grad=1.0)
    assert np.isfinite(loss) and scaler.get_scale() > 0, (loss, scaler.get_scale())
    return f"float16 + GradScaler: 20 steps, mean loss {loss:.3f}, scale {scaler.get_scale():.0f}"


def check_fit_and_resume(compile_model: bool) -> list[str]:
    import cnnref.train as train
    from cnnref.train import TrainConfig, fit

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = dict(epochs=6, device="cuda", verbose=False, compile=compile_model)
        start = time.perf_counter()
        whole = fit(TrainConfig(**cfg, out=f"{tmp}/a"))
        m = whole.metrics
        lines.append(f"fit lenet5 on digits: {m['device']}, {m['precision']}, test accuracy {m['test_accuracy']:.2%} "
                     f"after {m['epochs']} epochs, {time.perf_counter() - start:.1f} s")
        assert m["test_accuracy"] > 0.9, m["test_accuracy"]

        class Stop(Exception):
            pass

        real = train.save_checkpoint

        def stop_after_3(state, path):
            real(state, path)
            if state["epoch"] == 3 and Path(path).name == "last.pt":
                raise Stop

        train.save_checkpoint = stop_after_3
        try:
            fit(TrainConfig(**cfg, out=f"{tmp}/b"))
        except Stop:
            pass
        finally:
            train.save_checkpoint = real
        resumed = fit(TrainConfig(**cfg, out=f"{tmp}/b", resume=True))
        same = all(torch.equal(a, b) for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()))
        lines.append(f"resume on CUDA: test accuracy {resumed.metrics['test_accuracy']:.2%} vs "
                     f"{m['test_accuracy']:.2%} uninterrupted; weights bit-identical: {same} "
                     f"(not required on GPUs: some kernels are not deterministic)")
        assert abs(resumed.metrics["test_accuracy"] - m["test_accuracy"]) < 0.02
    return lines


def check_numpy_conv() -> list[str]:
    try:
        from cnnref.functional import conv2d
    except ImportError:
        return ["cnnref.functional is missing (the layers branch is not merged yet): skipped the conv2d check"]
    import torch.nn.functional as F

    torch.backends.cudnn.allow_tf32 = False
    rng = np.random.default_rng(0)
    rows = [f"{'conv2d case':38s} {'float64 max rel err':>20s} {'float32 max rel err':>20s}"]
    for stride, padding, dilation, groups in [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2), (1, 1, 1, 4)]:
        x = rng.standard_normal((2, 4, 13, 11))               # (N, C_in, H, W)
        w = rng.standard_normal((8, 4 // groups, 3, 3))       # (C_out, C_in/groups, kH, kW)
        b = rng.standard_normal(8)
        errors = []
        for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
            ours = np.asarray(conv2d(x.astype(dtype), w.astype(dtype), b.astype(dtype), stride=stride,
                                     padding=padding, dilation=dilation, groups=groups))
            theirs = F.conv2d(*(torch.from_numpy(a.astype(dtype)).cuda() for a in (x, w, b)), stride=stride,
                              padding=padding, dilation=dilation, groups=groups).cpu().numpy()
            assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
            err = float(np.max(np.abs(ours - theirs)) / max(1.0, np.max(np.abs(theirs))))
            assert err < tol, (stride, padding, dilation, groups, dtype, err)
            errors.append(err)
        case = f"stride={stride} padding={padding} dilation={dilation} groups={groups}"
        rows.append(f"{case:38s} {errors[0]:20.2e} {errors[1]:20.2e}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed training steps per precision")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step")
    parser.add_argument("--compile", action="store_true", help="also wrap the models in torch.compile")
    args = parser.parse_args(argv)

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this machine: skipped")
        return 0
    start = time.perf_counter()
    print(f"{torch.cuda.get_device_name()}  torch {torch.__version__}  CUDA {torch.version.cuda}  "
          f"bf16 supported: {torch.cuda.is_bf16_supported()}")
    print(f"\nVGG-11, 224x224, batch {args.batch_size}, {args.steps} timed steps (SGD), "
          f"torch.compile: {args.compile}")
    print(f"{'precision':28s} {'images/s':>10s} {'ms/step':>9s} {'vs fp32':>8s}")
    base = None
    for mode in ("fp32", "tf32", "bf16 + channels_last"):
        rate = throughput(mode, args.steps, args.batch_size, args.compile)
        base = base or rate
        print(f"{mode:28s} {rate:10.0f} {1000 * args.batch_size / rate:9.1f} {rate / base:7.2f}x", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

    print("\n" + check_fp16_scaler())
    for line in check_fit_and_resume(args.compile):
        print(line)
    print()
    for line in check_numpy_conv():
        print(line)
    print(f"\ngpu_check: all checks passed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
