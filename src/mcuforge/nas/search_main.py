"""`mcuforge search`'s entry point: the run folder's settings (new, or stored and
checked on --resume) and, under torchrun, torch.distributed set-up around the job in
nas/search.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mcuforge.errors import InputError
from mcuforge.nas.presets import SearchSettings
from mcuforge.nas.search import FORMAT, Job
from mcuforge.train.config import read_stored_config, write_json_atomic


def _env_rank() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


# ------------------------------------------------------------------ the job


def _settings(stored: dict[str, Any]) -> SearchSettings:
    try:
        return SearchSettings(**stored["settings"])
    except (KeyError, TypeError) as e:
        raise InputError(f"the run's config.json does not match this mcuforge ({e}); start a new run folder") from None


def prepare(out: Path, given: dict[str, Any], resume: bool, writer: bool) -> SearchSettings:
    """The search's settings: new (the folder must be empty or absent) or the stored ones,
    which settings given again must equal."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    path = out / "config.json"
    if given.get("resolutions") is not None:  # stored as a tuple: a list given again is the same setting
        given = {**given, "resolutions": tuple(int(r) for r in given["resolutions"])}
    if resume:
        st = _settings(read_stored_config(out, FORMAT, "search"))
        changed = [k for k, v in given.items() if v is not None and k in st.as_dict() and v != getattr(st, k)]
        if changed:
            what = ", ".join(f"{k} {getattr(st, k)!r} -> {given[k]!r}" for k in changed)
            raise InputError(
                f"the search was started with other settings ({what}); resume with the stored ones or start a new run folder"
            )
        return st
    if writer and out.is_dir() and any(out.iterdir()):
        raise InputError(
            f"folder {out} is not empty; pass --resume to continue the search in it, or choose another folder"
        )
    g = {k: v for k, v in given.items() if v is not None}
    board = g.get("board")
    if board is not None:
        from mcuforge.hw.boards import get_board

        b = get_board(board, g.get("sram"), g.get("flash"))
        g.update(board=b.name, sram=b.sram, flash=b.flash)
    if "sram" not in g or "flash" not in g:
        raise InputError("give a budget: --board NAME, or --sram BYTES and --flash BYTES")
    if "data" not in g:
        raise InputError("name the data to search on with --data (fashion-mnist, folder:PATH or npz:PATH)")
    st = SearchSettings(**g)
    st.plan  # noqa: B018 - bad preset overrides fail here, before anything is written
    if writer:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"format": FORMAT, "version": 1, "command": "search", "settings": st.as_dict(),
                                 "versions": {"torch": torch.__version__, "numpy": np.__version__}})  # fmt: skip
    return st


def search(data: str | None = None, out: str | Path = "search", *, sram: int | None = None, flash: int | None = None,
           board: str | None = None, preset: str | None = None, seed: int | None = None, resume: bool = False,
           threads: int | None = None, device: str = "auto", progress: bool = True, **settings: Any) -> dict[str, Any] | None:  # fmt: skip
    """Run (or resume) the search into the run folder `out`; returns the result dict
    (None on ranks other than 0 of a distributed run). Under torchrun every rank calls
    this; rank 0 writes."""
    rank, world = _env_rank()
    out = Path(out)
    given = {"data": data, "sram": sram, "flash": flash, "board": board, "preset": preset, "seed": seed, **settings}
    if world > 1:
        import datetime

        import torch.distributed as D

        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        D.init_process_group(backend, timeout=datetime.timedelta(hours=12))
    try:
        st = prepare(out, given, resume or (world > 1 and rank > 0 and (out / "config.json").is_file()), rank == 0)
        if world > 1:
            import torch.distributed as D

            D.barrier()
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // world))
        if world > 1 and torch.cuda.is_available() and device != "cpu":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        return Job(out, st, threads, device, progress, rank, world).run()
    finally:
        if world > 1:
            import torch.distributed as D

            D.destroy_process_group()
