"""cnnref.optim against torch.optim: the same trajectories over 120 steps, every option."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits
from hypothesis import given, settings, strategies as st

from cnnref import optim
from tests.compare import OPTIONS, assert_close


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: BLAS / OpenMP threads only add overhead (a lot of it on a busy machine)."""
    with threadpool_limits(1):
        yield

STEPS = 120
SHAPES = [(3, 4), (5,), (2, 1, 3)]


def quadratic_problem(seed, dtype, sign=1.0):
    """grad_i(p) = sign * (A_i p - b_i + noise_t): a well-conditioned quadratic bowl (a hill
    with sign=-1, for maximize) plus per-step noise, computed in NumPy for both sides."""
    rng = np.random.default_rng(seed)
    terms = []
    for shape in SHAPES:
        n = int(np.prod(shape))
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        a = q @ np.diag(rng.uniform(0.1, 2.0, n)) @ q.T  # eigenvalues in [0.1, 2]
        terms.append((a, rng.standard_normal(n), 0.3 * rng.standard_normal((STEPS, n))))

    def grad(i, t, p):
        a, b, noise = terms[i]
        return (sign * (a @ p.ravel().astype(np.float64) - b + noise[t])).reshape(p.shape).astype(dtype)

    init = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    return init, grad


def make_pair(name, defaults, override, init):
    """Ours and torch's optimizer on twin parameters: params 0 and 1 in group 0 (defaults),
    param 2 in group 1 (with `override`)."""
    ours = [SimpleNamespace(data=x.copy(), grad=None) for x in init]
    theirs = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in init]

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], **override}]

    return ours, getattr(optim, name)(groups(ours), **defaults), theirs, getattr(torch.optim, name)(groups(theirs), **defaults)


def run(name, defaults, override, *, seed=0, dtype=np.float64, reload_at=None):
    sign = -1.0 if defaults.get("maximize") else 1.0
    init, grad = quadratic_problem(seed, dtype, sign)
    ours, opt, theirs, topt = make_pair(name, defaults, override, init)
    for t in range(STEPS):
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            skip = i == 1 and t % 7 == 3  # a parameter without a gradient is skipped
            p.grad = None if skip else grad(i, t, p.data)
            tp.grad = None if skip else torch.from_numpy(grad(i, t, tp.detach().numpy()))
        opt.step()
        topt.step()
        if t == reload_at:  # state_dict round trip into a fresh optimizer, mid-run
            saved = opt.state_dict()
            opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:]}], **defaults)
            opt.load_state_dict(saved)
    for p, tp in zip(ours, theirs):
        assert np.all(np.isfinite(p.data))
        assert_close(p.data, tp)
    return opt, topt


# options a second parameter group overrides (maximize stays the group default: it flips the problem)
GROUP_KEYS = {"SGD": ["lr", "momentum", "weight_decay"], "RMSprop": ["lr", "alpha", "centered", "momentum"],
              "Rprop": ["lr", "etas", "step_sizes"], "Adam": ["lr", "betas", "amsgrad", "weight_decay"]}


@pytest.mark.parametrize("name", list(OPTIONS))
@settings(deadline=None, max_examples=40)
@given(data=st.data())
def test_matches_torch_over_many_steps_with_param_groups_and_a_reload(name, data):
    defaults = data.draw(OPTIONS[name](), label="defaults")
    other = data.draw(OPTIONS[name](), label="group 1")
    keys = data.draw(st.sets(st.sampled_from(GROUP_KEYS[name])), label="overridden")
    override = {k: other[k] for k in keys}
    if name == "SGD" and defaults["nesterov"]:
        override.pop("momentum", None)  # nesterov needs momentum in every group
    reload_at = data.draw(st.one_of(st.none(), st.integers(0, STEPS - 2)), label="reload_at")
    run(name, defaults, override, seed=data.draw(st.integers(0, 2**16)), reload_at=reload_at)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_defaults_match_torch_in_float32(name):
    run(name, {} if name != "SGD" else {"lr": 0.05}, {}, dtype=np.float32)


@pytest.mark.parametrize("name, options", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("RMSprop", dict(momentum=0.5, centered=True)),
    ("Rprop", {}),
    ("Adam", dict(amsgrad=True)),
])
def test_state_dict_has_torch_keys_and_values_and_loads_torch_state(name, options):
    ours_opt, torch_opt = run(name, options, {"lr": 0.01})
    ours, theirs = ours_opt.state_dict(), torch_opt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for i, state in theirs["state"].items():
        assert ours["state"][i].keys() == state.keys()
        for key, value in state.items():
            assert_close(np.asarray(ours["state"][i][key], dtype=np.float64), value.double())
    for group, tgroup in zip(ours["param_groups"], theirs["param_groups"]):
        assert group == {k: tgroup[k] for k in group}
    # torch's state loads into ours, and the next steps agree
    params = [SimpleNamespace(data=p.detach().numpy().copy(), grad=None)
              for g in torch_opt.param_groups for p in g["params"]]
    fresh = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:]}], **options)
    fresh.load_state_dict(theirs)
    rng = np.random.default_rng(1)
    for _ in range(5):
        for p, tp in zip(params, (p for g in torch_opt.param_groups for p in g["params"])):
            g = rng.standard_normal(p.data.shape)
            p.grad, tp.grad = g, torch.from_numpy(g.copy())
        fresh.step()
        torch_opt.step()
    for p, g in zip(params, (p for g in torch_opt.param_groups for p in g["params"])):
        assert_close(p.data, g)


INVALID = [
    ("SGD", dict(lr=-1)), ("SGD", dict(lr=0.1, momentum=-0.5)), ("SGD", dict(lr=0.1, weight_decay=-1)),
    ("SGD", dict(lr=0.1, nesterov=True)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("RMSprop", dict(lr=-1)), ("RMSprop", dict(eps=-1e-8)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(weight_decay=-1)), ("RMSprop", dict(alpha=-0.5)), ("RMSprop", dict(lr=float("nan"))),
    ("Rprop", dict(lr=-1)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("Rprop", dict(etas=(0.0, 1.2))),
    ("Adam", dict(lr=-1)), ("Adam", dict(eps=-1)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1)),
]


@pytest.mark.parametrize("name, options", INVALID)
def test_invalid_hyper_parameters_raise_torchs_value_error(name, options):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(1))], **options)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([SimpleNamespace(data=np.zeros(1), grad=None)], **options)
    assert str(ours.value).startswith(f"{name}: ")
    assert str(theirs.value) in str(ours.value)


def test_bad_parameters_and_groups_are_refused():
    p = SimpleNamespace(data=np.zeros(2), grad=None)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: can only optimize objects with \.data and \.grad"):
        optim.SGD([np.zeros(2)], lr=0.1)
    opt = optim.Adam([p])
    p.grad = np.zeros(3)
    with pytest.raises(ValueError, match=r"Adam.step: grad has shape \(3,\), expected .*\(2,\)"):
        opt.step()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_zero_grad_and_closure_like_torch():
    p = SimpleNamespace(data=np.ones(3), grad=None)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        p.grad = 2 * p.data
        return float(np.sum(p.data ** 2))

    assert opt.step(closure) == 3.0
    assert_close(p.data, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None
