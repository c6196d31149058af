"""`mcuforge search` end to end on a tiny folder of images: every phase, the run folder,
memory equal to compile's, nothing over budget scored, resume after kill -9, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from mcuforge.cli import main  # noqa: E402

SRAM, FLASH = 64 * 1024, 256 * 1024
# every phase as small as it goes: seconds, not minutes
TINY = {
    "space_samples": 6, "widths": [0.2, 0.3], "resolution_factors": [1.0], "train_images": None, "val_images": 60, "bn_images": 60,
    "supernet": {"largest_epochs": 2, "sandwich_epochs": 1, "random_subnets": 1, "warmup_epochs": 0.2, "lr": 0.05},
    "evolution": {"population": 6, "parents": 2, "mutations": 3, "crossovers": 3, "generations": 2},
    "finetune_epochs": 1, "qat_epochs": 0,
}  # fmt: skip


def make_folder(root: Path, n_train: int = 90, n_test: int = 30, size: int = 24) -> Path:
    """Three classes of grey 24x24 PNGs (bars, columns, dots) in train/ and test/."""
    rng = np.random.default_rng(0)
    base = np.zeros((3, size, size))
    base[0, ::4, :] = 1
    base[1, :, ::4] = 1
    base[2, ::4, ::4] = 1
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            c = i % 3
            x = base[c] * rng.uniform(120, 220) + rng.normal(30, 20, (size, size))
            d = root / split / ("bars", "columns", "dots")[c]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(x, 0, 255).astype(np.uint8)).save(d / f"{split}{i}.png")
    return root


def run_search(out: Path, data: Path, **kw):
    import mcuforge

    return mcuforge.search(f"folder:{data}", out, sram=SRAM, flash=FLASH, preset="quick", threads=1, progress=False,
                           qemu="none", overrides=TINY, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    data = make_folder(root / "images")
    out = root / "run"
    return out, data, run_search(out, data)


def test_run_folder_and_result(searched):
    out, _, r = searched
    for name in ("config.json", "search.json", "space_cdf.png", "supernet.pt", "evolution.json", "candidates.json",
                 "evolution.png", "candidates.png", "winner_memory.png", "report.md", "report.html", "result.json"):  # fmt: skip
        assert (out / name).is_file(), name
    for name in ("winner", "random", "baseline"):
        assert (out / name / "model.tflite").is_file()
    for key in (
        "winner",
        "model",
        "int8_accuracy",
        "qemu_accuracy",
        "peak_sram_bytes",
        "flash_bytes",
        "baseline",
        "random_search",
        "minutes",
    ):
        assert key in r, key
    for key in ("arch", "int8_accuracy", "peak_sram_bytes", "flash_bytes"):
        assert key in r["baseline"] and key in r["random_search"]
    assert r["int8_accuracy"] > 0.4  # chance is 1/3 (one fine-tune epoch on 90 images)
    assert json.loads((out / "result.json").read_text()) == r
    text = (out / "report.md").read_text()
    assert "TinyNAS winner" in text and "scaled MobileNetV2" in text and "random search" in text
    assert "<table>" in (out / "report.html").read_text()


def test_memory_is_compiles_and_nothing_over_budget(searched):
    """Constants and peak SRAM are compile's byte for byte; Flash with the code (measured
    from the linked image) fits too, because the search reserved room for the code."""
    out, _, r = searched
    assert r["memory_matches_compile"]
    reserve = r["code_reserve_bytes"]
    assert 10_000 < reserve < FLASH and r["flash_bytes"] - r["compile_constants_bytes"] <= reserve
    assert r["peak_sram_bytes"] <= SRAM and r["flash_bytes"] <= FLASH and all(r["fits_budget"].values())
    for m in (r["baseline"], r["random_search"]):
        assert m["peak_sram_bytes"] <= SRAM and m["flash_bytes"] <= FLASH and m["constants_bytes"] <= FLASH - reserve
    cands = json.loads((out / "candidates.json").read_text())
    assert len(cands) >= 6
    assert all(c["peak_sram_bytes"] <= SRAM and c["flash_bytes"] <= FLASH - reserve for c in cands)


def test_resume_skips_finished_phases(searched):
    out, data, r = searched
    again = run_search(out, data, resume=True)
    assert again["winner"] == r["winner"] and again["int8_accuracy"] == r["int8_accuracy"]


def test_resume_after_kill_gives_the_same_winner(searched, tmp_path):
    """kill -9 in the middle of supernet training, resume: the same winner and accuracy."""
    _, data, r = searched
    out = tmp_path / "killed"
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); from pathlib import Path; from test_search import run_search; run_search(Path({str(out)!r}), Path({str(data)!r}))"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (out / "supernet_largest.pt").is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "supernet.pt").is_file()
    resumed = run_search(out, data, resume=True)
    assert resumed["winner"] == r["winner"]
    assert (
        resumed["int8_accuracy"] == r["int8_accuracy"]
        and resumed["baseline"]["int8_accuracy"] == r["baseline"]["int8_accuracy"]
    )


def test_bad_input_is_one_sentence(searched, tmp_path, capsys):
    out, data, _ = searched
    cases = [
        (["search", "--data", f"folder:{data}", "-o", str(tmp_path / "a")], "give a budget"),
        (
            [
                "search",
                "--data",
                f"folder:{data}",
                "--sram",
                "1000",
                "--flash",
                "1000",
                "-o",
                str(tmp_path / "b"),
                "--preset",
                "quick",
            ],
            "smallest",
        ),
        (["search", "--data", f"folder:{data}", "--board", "STM32F412", "-o", str(out)], "not empty"),
        (["search", "--data", f"folder:{data}", "--board", "STM32F412", "-o", str(out), "--resume"], "other settings"),
        (["search", "--data", f"folder:{data}", "--board", "nosuch", "-o", str(tmp_path / "c")], "unknown board"),
        (
            [
                "search",
                "--data",
                f"folder:{data}",
                "--board",
                "STM32F412",
                "-o",
                str(tmp_path / "d"),
                "--resolutions",
                "x",
            ],
            "comma-separated",
        ),
    ]
    for argv, words in cases:
        assert main(argv) != 0, argv
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (argv, err)


def test_resume_accepts_the_same_resolutions_again(tmp_path):
    """--resolutions given again on --resume (a list, stored as a tuple) is the same setting;
    under torchrun every rank but 0 resumes this way."""
    from mcuforge.errors import InputError
    from mcuforge.nas.search_main import prepare

    given = {"data": "fashion-mnist", "sram": SRAM, "flash": FLASH, "preset": "quick", "resolutions": [24, 32]}
    first = prepare(tmp_path / "run", given, resume=False, writer=True)
    assert prepare(tmp_path / "run", given, resume=True, writer=True) == first
    with pytest.raises(InputError, match="other settings"):
        prepare(tmp_path / "run", {**given, "resolutions": [28]}, resume=True, writer=True)
