"""`mcuforge compile`: project files, report keys, determinism, fit errors, boards."""

import json

import numpy as np
import pytest

from mcuforge import cli
from toy_cnn import build_demo_graph
from mcuforge.frontend.tflite_write import save
from mcuforge.hw.boards import BOARDS, get_board


@pytest.fixture
def demo_model(tmp_path):
    p = tmp_path / "demo.tflite"
    save(build_demo_graph(), p)
    return p


def compile_to(model, out, *extra):
    return cli.main(["compile", str(model), "-o", str(out), *extra])


def test_compile_writes_project_and_report(demo_model, tmp_path, capsys):
    out = tmp_path / "proj"
    assert compile_to(demo_model, out, "--board", "stm32f412") == 0
    for name in ("model.h", "model.c", "weights.c", "Makefile", "report.json", "report.md", "memory.png", "mf_conv.c"):
        assert (out / name).is_file(), name
    r = json.loads((out / "report.json").read_text())
    for key in ("board", "peak_sram_bytes", "arena_bytes", "scratch_bytes", "flash_bytes", "macs", "fits", "nodes"):
        assert key in r
    assert r["board"]["name"] == "STM32F412" and r["fits"] is True
    assert r["peak_sram_bytes"] >= r["lower_bound_bytes"]
    for n in r["nodes"]:
        assert {"op", "live_bytes", "output_offset", "output_bytes"} <= set(n)
    assert "#define MF_ARENA_BYTES" in (out / "model.h").read_text()
    # only the kernels used: the demo has no MEAN
    assert not (out / "mf_reduce.c").exists()


def test_compile_is_deterministic(demo_model, tmp_path):
    compile_to(demo_model, tmp_path / "a")
    compile_to(demo_model, tmp_path / "b")
    a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert a == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_does_not_fit_exit_3(demo_model, tmp_path, capsys):
    rc = compile_to(demo_model, tmp_path / "p", "--sram", "4096")
    _, err = capsys.readouterr()
    assert rc == 3
    assert "does not fit" in err and "too many" in err and "peaks at node" in err


def test_refuses_non_empty_folder(demo_model, tmp_path, capsys):
    out = tmp_path / "p"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert compile_to(demo_model, out) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"


def test_unknown_board(demo_model, tmp_path, capsys):
    assert compile_to(demo_model, tmp_path / "p", "--board", "esp32") == 2
    assert "known boards" in capsys.readouterr().err


def test_board_registry():
    assert len(BOARDS) == 13 and len({b.name for b in BOARDS.values()}) == 13
    tight = get_board("stm32l432kc"), get_board("STM32G071RB")
    assert [(b.core, b.sram, b.flash, b.qemu_machine) for b in tight] == [
        ("cortex-m4", 64 * 1024, 256 * 1024, "mps2-an386"),
        ("cortex-m0plus", 36 * 1024, 128 * 1024, None),
    ]
    b = get_board("STM32H743", sram=100)
    assert (b.sram, b.flash, b.mhz) == (100, 2 * 1024 * 1024, 480)


def test_run_backend_c(demo_model, tmp_path, capsys):
    x = np.random.default_rng(0).integers(-128, 128, (1, 32, 32, 3)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    rc = cli.main(
        [
            "run",
            str(demo_model),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
            "--backend",
            "c",
            "--compare",
            "tflm",
        ]
    )
    assert rc == 0
    assert "identical" in capsys.readouterr().out


def test_report_html_and_shapes(demo_model, tmp_path):
    out = tmp_path / "p"
    assert compile_to(demo_model, out) == 0
    md = (out / "report.md").read_text()
    assert "| # | op | output | shape |" in md and "| 1x16x16x16 |" in md
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page and "<table>" in page
    nodes = json.loads((out / "report.json").read_text())["nodes"]
    assert all(n["label"].startswith(f"{n['index']} {n['op']}") for n in nodes)


def test_inspect_engine_numbers_nodes_as_the_report(demo_model, tmp_path, capsys):
    out = tmp_path / "p"
    assert compile_to(demo_model, out) == 0
    capsys.readouterr()
    assert cli.main(["inspect", str(demo_model), "--engine", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    report = json.loads((out / "report.json").read_text())
    assert info["numbering"] == "engine"
    assert {(n["index"], n["op"]) for n in info["nodes"]} == {(n["index"], n["op"]) for n in report["nodes"]}
