"""Distributed supernet training on 2 CPU processes (gloo): DDP with each rank on its half
of the batch gives the weights of one process on the whole batch; `search --nproc 2`
runs the whole job under torchrun."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

from mcuforge.nas.space import BlockSpace  # noqa: E402
from mcuforge.nas.supernet import Supernet  # noqa: E402
from mcuforge.nas.supernet_train import SandwichStep, SupernetSettings  # noqa: E402

SPACE = BlockSpace(width=0.25, resolution=20, num_classes=3, in_channels=1, depths=(1, 2), expands=(3, 4))
STEPS, HALF = 4, 6


def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.randn(2 * HALF, 1, 20, 20, generator=g), torch.randint(0, 3, (2 * HALF,), generator=g))
        for _ in range(STEPS)
    ]


def train(world: int, rank: int, bn: str = "frozen") -> dict[str, torch.Tensor]:
    """STEPS sandwich steps. With bn "frozen" (eval mode) a sample's gradient does not
    depend on the rest of its batch; with "synchronised" (training mode, statistics
    all-reduced over the ranks, as `search --nproc` trains) each rank normalises with the
    whole batch's statistics. Either way the two runs must agree up to rounding. Training
    batch norm on 12 images is chaotic (the deepest layers normalise 12 values: a 1e-6
    change of the weights after one step gives 9e-3 after the next, in one process
    alone), so those runs take one step (a sandwich of 4 subnets)."""
    from mcuforge.nas.elastic_bn import synchronised

    torch.manual_seed(0)
    net = Supernet(SPACE, 1, 3)
    net.train(bn != "frozen")
    model = net
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, find_unused_parameters=True)
    steps, lr = (STEPS, 0.1) if bn == "frozen" else (1, 0.02)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    step = SandwichStep(net, SupernetSettings(random_subnets=2, seed=3))
    with synchronised(net, bn == "synchronised"):
        for i, (x, y) in enumerate(batches()[:steps]):
            if world > 1:
                x, y = x[rank * HALF : (rank + 1) * HALF], y[rank * HALF : (rank + 1) * HALF]
            opt.zero_grad()
            step(model, x, y, i)
            opt.step()
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def worker(rank: int, port: int, out: str, bn: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        state = train(2, rank, bn)
        torch.save(state, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("bn", ["frozen", "synchronised"])
def test_ddp_two_processes_equal_one(tmp_path, bn):
    torch.set_num_threads(1)
    single = train(1, 0, bn)
    out = str(tmp_path / "ddp")
    mp.spawn(worker, args=(free_port(), out, bn), nprocs=2, join=True)
    tol = 1e-5
    for rank in (0, 1):
        got = torch.load(f"{out}.{rank}", weights_only=True)
        for k, v in single.items():
            assert torch.allclose(got[k], v, rtol=tol, atol=tol), (rank, k, float((got[k] - v).abs().max()))
    if bn == "synchronised":  # rank-local statistics (half batches) would give other weights
        mp.spawn(worker, args=(free_port(), out, "local"), nprocs=2, join=True)
        local = torch.load(f"{out}.0", weights_only=True)
        assert any(not torch.allclose(local[k], single[k], rtol=0, atol=1e-3) for k in single if single[k].is_floating_point())
    # the run moved the weights (the comparison is not of two untouched models)
    torch.manual_seed(0)
    start = Supernet(SPACE, 1, 3).state_dict()
    assert any(not torch.allclose(start[k], single[k]) for k in single if start[k].is_floating_point())


def test_search_nproc_2(tmp_path):
    """The CLI starts torchrun with 2 processes; rank 0 writes the result."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_search import make_folder

    data = make_folder(tmp_path / "images", n_train=60, n_test=15)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mcuforge.cli", "search", "--data", f"folder:{data}", "--sram", "65536", "--flash", "262144",
           "--preset", "quick", "--resolutions", "24", "--qemu", "none", "-o", str(out), "--nproc", "2", "--threads", "1", "--json"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout[p.stdout.index("{") :])
    assert r["memory_matches_compile"] and r["peak_sram_bytes"] <= 65536
    assert json.loads((out / "result.json").read_text()) == r
