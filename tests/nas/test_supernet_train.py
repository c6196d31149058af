"""Supernet training (largest first, then the sandwich rule) and subnet scoring on a tiny
learnable data set."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcuforge.data import Split  # noqa: E402
from mcuforge.data.convention import InputConvention  # noqa: E402
from mcuforge.nas.space import BlockSpace  # noqa: E402
from mcuforge.nas.supernet import Supernet, largest, random_arch, smallest  # noqa: E402
from mcuforge.nas.supernet_train import (  # noqa: E402
    SandwichStep,
    SubnetScorer,
    SupernetSettings,
    bn_batches,
    sandwich_archs,
    train_supernet,
)
from mcuforge.train.batches import Batches  # noqa: E402

torch.set_num_threads(1)
SPACE = BlockSpace(width=0.25, resolution=20, num_classes=3, in_channels=1, depths=(1, 2), expands=(3, 4))


def patterns(n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    base = np.zeros((3, 20, 20))
    base[0, ::4, :] = 1
    base[1, :, ::4] = 1
    base[2, ::4, ::4] = 1
    x = base[y] * rng.uniform(120, 220, (n, 1, 1)) + rng.normal(30, 20, (n, 20, 20))
    return Split(np.clip(x, 0, 255).astype(np.uint8)[..., None], y.astype(np.int64))


@pytest.fixture
def setup():
    train, val = patterns(192, 0), patterns(60, 1)
    conv = InputConvention.of_pixels(train.images)
    torch.manual_seed(0)
    net = Supernet(SPACE, 1, 3)
    tb = Batches(train, conv, 16, shuffle=True, seed=0, drop_last=True)
    scorer = SubnetScorer(net, bn_batches(Batches(train, conv, 50), 100), Batches(val, conv, 30))
    return net, tb, scorer


def test_sandwich_subnets_are_seeded_per_step():
    net = Supernet(SPACE, 1, 3)
    a = sandwich_archs(net, 0, 5, 3)
    assert a == sandwich_archs(net, 0, 5, 3) and a != sandwich_archs(net, 0, 6, 3)
    assert a[0] == smallest(SPACE) and len(a) == 4


def test_sandwich_step_reaches_weights_only_subnets_use():
    """The largest network alone never uses the 7->5 transform; a step through a subnet
    with a 5x5 kernel gives it a gradient."""
    net = Supernet(SPACE, 1, 3)
    x, y = torch.randn(4, 1, 20, 20), torch.tensor([0, 1, 2, 0])
    st = SupernetSettings(random_subnets=3, seed=1)
    SandwichStep(net, st)(net, x, y, 0)
    assert net.active == largest(SPACE)
    used5 = any(k < 7 for a in sandwich_archs(net, 1, 0, 3) for k in a.kernels)
    grads = [p.grad for n, p in net.named_parameters() if "7to5" in n]
    assert used5 and any(g is not None and g.abs().sum() > 0 for g in grads)


def test_train_supernet_learns_and_resumes(setup, tmp_path):
    net, tb, scorer = setup
    st = SupernetSettings(largest_epochs=2, sandwich_epochs=2, random_subnets=1, lr=0.05, warmup_epochs=0.1)
    history = train_supernet(net, tb, scorer, st, tmp_path, progress=False)
    assert [h["phase"] for h in history] == ["supernet-largest"] * 2 + ["supernet-sandwich"] * 2
    assert (tmp_path / "supernet.pt").is_file() and not list(tmp_path.glob("*_ckpt.pt"))
    # subnets score well above chance (1/3) with inherited weights
    rng = np.random.default_rng(0)
    scores = scorer([largest(SPACE), smallest(SPACE), random_arch(SPACE, rng)])
    assert min(scores) > 0.6, scores
    # a finished run is loaded, not trained again
    again = Supernet(SPACE, 1, 3)
    assert train_supernet(again, tb, scorer, st, tmp_path, progress=False) == history
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))


def test_scorer_caches(setup):
    _, _, scorer = setup
    calls = []
    real = scorer.score
    scorer.score = lambda a: calls.append(a) or real(a)
    a, b = largest(SPACE), smallest(SPACE)
    first = scorer([a, b, a])
    assert scorer([b, a]) == [first[1], first[0]] and calls == [a, b]
