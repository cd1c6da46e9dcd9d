"""The shape of the package: the NumPy half imports without torch, the training modules stay
small and keep their private names to themselves, and no module imports one that imports it back.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cnnref"
# The modules of training, fine-tuning and the command line (the NumPy modules have their own owners).
TRAINING = ["train", "config", "data", "device", "distributed", "seeding", "checkpoint", "resume", "rundir",
            "finetune", "cli"]

NO_TORCH = """
import sys
from importlib.abc import MetaPathFinder

class NoTorch(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is not installed (blocked by the test)")

sys.meta_path.insert(0, NoTorch())
import cnnref.numpy_train, cnnref.functional, cnnref.nn, cnnref.optim, cnnref.data, cnnref.rundir
import numpy as np
from cnnref.data import iterate_minibatches, load_digits
x, y = load_digits("train")
assert x.shape == (1347, 1, 8, 8) and len(list(iterate_minibatches(x, y, batch_size=500))) == 3
assert "torch" not in sys.modules
try:
    import torch
except ImportError:
    print("ok")
"""


def test_the_numpy_half_imports_without_torch():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", NO_TORCH], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_the_blocker_really_blocks_torch():
    """The test above can fail: a module that imports torch at the top is refused."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = NO_TORCH.replace("import cnnref.numpy_train,", "import cnnref.device, cnnref.numpy_train,")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0 and "torch is not installed (blocked by the test)" in result.stderr


def imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for every ``from cnnref... import name`` and ``import cnnref...`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnnref"):
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.startswith("cnnref")]
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("name", TRAINING)
def test_training_modules_are_small_and_import_no_private_name(name):
    path = PACKAGE / f"{name}.py"
    assert len(path.read_text().splitlines()) <= 500
    private = [f"{module}.{imported}" for module, imported in imports(path)
               if imported.startswith("_") or any(part.startswith("_") for part in module.split("."))]
    assert not private


def test_no_import_cycles():
    """Imports anywhere in a module count, those inside functions too."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for module, imported in imports(path):
            deps.add(f"{module}.{imported}" if f"{module}.{imported}" in modules else module)
        graph[name] = {d for d in deps if d in modules and d != name}
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            assert state.get(dep) != "open", "import cycle: " + " -> ".join(chain[chain.index(dep):] + [dep])
            if dep not in state:
                visit(dep, chain + [dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert {"cnnref.train", "cnnref.config", "cnnref.resume"} <= set(graph)
