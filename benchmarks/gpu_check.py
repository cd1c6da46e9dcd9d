"""GPU checks for cnnref's training loop (run by hand on a CUDA machine; never part of the tests).

1. Throughput: training steps of VGG-11 (``cnnref.models.vgg11``) at 224x224 on synthetic data,
   through ``cnnref.train.train_one_epoch``, in float32 (TF32 off), TF32, and bfloat16 autocast
   with channels_last; timed with ``cnnref.timing.measure`` (median and spread of ``--repeat``
   runs of ``--steps`` steps each); prints images/s and the speed-up over float32.
2. The float16 + GradScaler path for a few steps (the loss stays finite, the scale is kept).
3. ``cnnref train`` end to end on the digits on the GPU, once whole and once killed (SIGKILL)
   after a few epochs and resumed with ``--resume``; both must end with the same test accuracy.
4. The NumPy reference convolution ``cnnref.functional.conv2d`` against
   ``torch.nn.functional.conv2d`` on CUDA (float64, and float32 with TF32 off).

Where there is no CUDA device it prints that it skipped and exits 0. Needs the package
installed (``pip install -e .``).

    python benchmarks/gpu_check.py [--steps 40] [--repeat 5] [--batch-size 64] [--compile]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cnnref.functional import conv2d
from cnnref.models import vgg11
from cnnref.timing import format_range, measure
from cnnref.train import make_optimizer, train_one_epoch

MODES = ("fp32", "tf32", "bf16 + channels_last")


def throughput(mode: str, steps: int, batch_size: int, repeat: int, compile_model: bool) -> tuple[float, float, float]:
    """Images per second of ``steps`` training steps: (median, slowest run, fastest run)."""
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
    losses = []

    def run():
        loss, _ = train_one_epoch(net, [(x, y)] * steps, optimizer, scaler, device, dtype, fmt)
        torch.cuda.synchronize()   # the GPU's work, not only its queueing, inside the timed run
        losses.append(loss)

    t = measure(run, repeat=repeat, warmup=1)   # the warm-up run holds cuDNN's autotuning and compilation
    assert all(np.isfinite(losses)), f"{mode}: losses {losses}"
    images = steps * batch_size
    return images / t.median, images / t.max, images / t.min


def check_fp16_scaler() -> str:
    device = torch.device("cuda")
    torch.manual_seed(0)
    model = vgg11(num_classes=10).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model.parameters(), "sgd", lr=0.01)
    scaler = torch.amp.GradScaler("cuda")
    x = torch.randn(16, 3, 224, 224, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (16,), device=device)
    loss, _ = train_one_epoch(model, [(x, y)] * 20, optimizer, scaler, device, torch.float16,
                              torch.channels_last, clip_grad=1.0)
    assert np.isfinite(loss) and scaler.get_scale() > 0, (loss, scaler.get_scale())
    return f"float16 + GradScaler: 20 steps, mean loss {loss:.3f}, scale {scaler.get_scale():.0f}"


def train_command(out: Path, epochs: int, device: str, compile_model: bool, resume: bool = False) -> list[str]:
    command = [sys.executable, "-m", "cnnref", "train", "--model", "lenet5", "--dataset", "digits",
               "--epochs", str(epochs), "--device", device, "--out", str(out), "--quiet"]
    return command + (["--compile"] if compile_model else []) + (["--resume"] if resume else [])


def kill_after(command: list[str], metrics: Path, epochs_done: int, timeout: float = 600) -> int:
    """Start ``command`` and SIGKILL it once ``metrics`` (metrics.jsonl) records ``epochs_done``
    epochs: a crash at an arbitrary moment of the next epoch. Returns the epochs recorded."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the run ended (status {process.returncode}) before it could be killed; "
                                   f"raise its epochs. stderr: {process.stderr.read().decode()[-500:]}")
            if metrics.exists() and len(metrics.read_text().splitlines()) >= epochs_done:
                break
            time.sleep(0.01)
        else:
            raise RuntimeError(f"no {epochs_done} epochs in {metrics} after {timeout:.0f} s")
    finally:
        process.kill()
        process.wait()
    return len(metrics.read_text().splitlines())


def check_kill_and_resume(device: str = "cuda", epochs: int = 8, compile_model: bool = False) -> list[str]:
    """``cnnref train`` whole, and killed then resumed: the same test accuracy (within 2 points;
    GPU kernels need not be deterministic, so bit-identical weights are not required)."""
    with tempfile.TemporaryDirectory() as tmp:
        whole, broken = Path(tmp, "whole"), Path(tmp, "broken")
        start = time.perf_counter()
        subprocess.run(train_command(whole, epochs, device, compile_model), check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        recorded = kill_after(train_command(broken, epochs, device, compile_model), broken / "metrics.jsonl", 3)
        subprocess.run(train_command(broken, epochs, device, compile_model, resume=True), check=True,
                       stdout=subprocess.DEVNULL)
        a, b = (json.loads((folder / "metrics.json").read_text()) for folder in (whole, broken))
    assert a["epochs"] == b["epochs"] == epochs, (a["epochs"], b["epochs"])
    assert abs(a["test_accuracy"] - b["test_accuracy"]) < 0.02, (a["test_accuracy"], b["test_accuracy"])
    return [f"cnnref train lenet5 on digits: {a['device']}, {a['precision']}, test accuracy {a['test_accuracy']:.2%} "
            f"after {a['epochs']} epochs, {elapsed:.1f} s with start-up",
            f"killed after {recorded} recorded epochs and resumed: test accuracy {b['test_accuracy']:.2%}"]


def check_numpy_conv() -> list[str]:
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
            theirs = torch.nn.functional.conv2d(*(torch.from_numpy(a.astype(dtype)).cuda() for a in (x, w, b)),
                                                stride=stride, padding=padding, dilation=dilation,
                                                groups=groups).cpu().numpy()
            assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
            err = float(np.max(np.abs(ours - theirs)) / max(1.0, np.max(np.abs(theirs))))
            assert err < tol, (stride, padding, dilation, groups, dtype, err)
            errors.append(err)
        case = f"stride={stride} padding={padding} dilation={dilation} groups={groups}"
        rows.append(f"{case:38s} {errors[0]:20.2e} {errors[1]:20.2e}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per precision")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step")
    parser.add_argument("--compile", action="store_true", help="also wrap the models in torch.compile")
    args = parser.parse_args(argv)

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this machine: skipped")
        return 0
    start = time.perf_counter()
    print(f"{torch.cuda.get_device_name()}  torch {torch.__version__}  CUDA {torch.version.cuda}  "
          f"bf16 supported: {torch.cuda.is_bf16_supported()}")
    print(f"\nVGG-11, 224x224, batch {args.batch_size}, {args.steps} steps per run (SGD), median (slowest-fastest) "
          f"of {args.repeat} runs, torch.compile: {args.compile}")
    print(f"{'precision':24s} {'images/s':>26s} {'vs fp32':>8s}")
    base = None
    for mode in MODES:
        median, low, high = throughput(mode, args.steps, args.batch_size, args.repeat, args.compile)
        base = base or median
        print(f"{mode:24s} {format_range(median, low, high):>26s} {median / base:7.2f}x", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

    print("\n" + check_fp16_scaler())
    for line in check_kill_and_resume(compile_model=args.compile):
        print(line)
    print()
    for line in check_numpy_conv():
        print(line)
    print(f"\ngpu_check: all checks passed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
