"""Cortex-M firmware under QEMU: outputs bit-identical with the reference executor on M7
and M4, exact and repeatable instruction counts, sizes from the ELF, link-time overflow."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mcuforge.cli import main as cli
from toy_cnn import build_demo_graph
from mcuforge.engine import compile_graph
from mcuforge.errors import MCUForgeError
from mcuforge.frontend.tflite_read import load
from mcuforge.frontend.tflite_write import save
from mcuforge.hw.boards import get_board
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.ops import Op
from mcuforge.ref.boundary import to_model_inputs
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets import elf
from mcuforge.targets.profile import node_instructions, profile_model
from mcuforge.targets.qemu import build_firmware, kernel_set, missing_tools, output_specs, run_firmware, run_qemu
from real_models import SUPPORTED, make_input

MISSING = missing_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"QEMU backend unavailable: {MISSING}")

BOARDS = {"m7": "STM32F746", "m4": "STM32F412"}
# A few real models (both cores, default run): plain CNN, residual adds, float I/O, PAD + MEAN.
FEW = ["mlperf_kws_dscnn_int8", "mlperf_ic_resnet8_int8", "mlperf_ad_toycar_quant_fullint_micro", "tinyengine_mcunet_vww1"]
# Models whose activations exceed every board: run with QEMU's whole 4 MiB as SRAM.
BIG = {"tflm_xtensa_mobilenet_v2_q_224", "tinyengine_mcunetv2_large_224"}


def _tiny_graph():
    """FC 16 -> 8, an alias RESHAPE, FC 8 -> 4: two nodes with code, one without."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("tiny")
    x = b.input((1, 16), "int8", 0.05, 2)
    w1 = b.const(rng.integers(-127, 128, (8, 16)).astype(np.int8), q=quant(0.01, 0))
    h = b.op(Op.FULLY_CONNECTED, [x, w1, None], (1, 8), q=quant(0.1, -3), attrs=O.FullyConnectedAttrs())
    shape = b.const(np.array([1, 8], dtype=np.int32))
    r = b.op(Op.RESHAPE, [h, shape], (1, 8), q=quant(0.1, -3))
    w2 = b.const(rng.integers(-127, 128, (4, 8)).astype(np.int8), q=quant(0.02, 0))
    y = b.op(Op.FULLY_CONNECTED, [r, w2, None], (1, 4), q=quant(0.2, 1), attrs=O.FullyConnectedAttrs())
    b.output(y)
    return b.graph


@pytest.mark.parametrize("core", ["m7", "m4"])
def test_demo_bit_identical(core):
    c = compile_graph(build_demo_graph())
    for seed in (0, 1):
        xs = random_inputs(c.graph, seed)
        ours = run_qemu(c.project, get_board(BOARDS[core]), xs)
        assert [y.tobytes() for y in ours] == [y.tobytes() for y in run(c.graph, xs)]


def test_counts_repeatable_and_stack_measured(tmp_path):
    c = compile_graph(build_demo_graph())
    fw = build_firmware(c.project, get_board("STM32F746"), tmp_path)
    xs = random_inputs(c.graph, 0)
    first = run_firmware(fw, output_specs(c.project), xs, count=True)
    second = run_firmware(fw, output_specs(c.project), xs, count=True)
    assert first.marks == second.marks and first.total_instructions == second.total_instructions
    coded = [i for i in c.project.memory.order if c.project.calls[i] is not None]
    assert len(first.marks) == len(coded) + 1
    assert all(b > a for a, b in zip(first.marks, first.marks[1:]))
    assert first.total_instructions > first.marks[-1]  # startup and I/O lie outside the marks
    assert 0 < first.stack_bytes < fw.sizes.stack


def _log_counts(log: str, mark: int) -> list[int]:
    """Instructions executed before each marker entry, from QEMU's own execution log:
    -d in_asm gives each block's instructions, -d exec,nochain one line per block run."""
    sizes: dict[int, int] = {}
    pc = None
    for line in log.splitlines():
        if line.startswith("IN:"):
            pc = None
        elif pc is None and re.match(r"0x[0-9a-f]+:", line):
            pc = int(line.split(":")[0], 16)
            sizes[pc] = 1
        elif pc is not None and re.match(r"0x[0-9a-f]+:", line):
            sizes[pc] += 1
    executed, marks = 0, []
    for m in re.finditer(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/", log, re.M):
        block = int(m.group(1), 16)
        if block == mark & ~1:
            marks.append(executed)
        else:
            executed += sizes[block]
    return marks


def test_counts_equal_qemu_execution_log(tmp_path):
    """The plugin's counts equal an independent count from QEMU's execution log."""
    c = compile_graph(_tiny_graph())
    fw = build_firmware(c.project, get_board("STM32F746"), tmp_path)
    xs = random_inputs(c.graph, 0)
    result = run_firmware(fw, output_specs(c.project), xs, count=True)
    cmd = ["qemu-system-arm", "-M", fw.core.machine, "-display", "none", "-monitor", "none", "-serial", "none"]
    cmd += ["-semihosting-config", "enable=on,target=native", "-kernel", "fw.elf", "-d", "in_asm,exec,nochain", "-D", "qemu.log"]
    subprocess.run(cmd, cwd=tmp_path, check=True, timeout=60, capture_output=True)
    assert _log_counts((tmp_path / "qemu.log").read_text(), fw.mark) == result.marks
    counts = node_instructions(c.project.memory.order, {i: c.project.calls[i] is not None for i in c.project.memory.order}, result.marks)
    assert sorted(counts.values())[0] == 0 and sum(v > 0 for v in counts.values()) == 2


def test_node_instructions_from_marks():
    assert node_instructions([2, 0, 1], {0: True, 1: False, 2: True}, [100, 150, 400]) == {2: 49, 0: 249, 1: 0}
    with pytest.raises(ValueError):
        node_instructions([0], {0: True}, [1, 2, 3])


def test_elf_sizes_match_binutils(tmp_path):
    c = compile_graph(build_demo_graph())
    fw = build_firmware(c.project, get_board("STM32F746"), tmp_path)
    out = subprocess.run(["arm-none-eabi-size", "-B", "-d", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    assert (fw.sizes.text, fw.sizes.data, fw.sizes.bss + fw.sizes.stack) == (text, data, bss)
    assert fw.sizes.bss >= c.project.memory.arena_bytes  # the arena is zero-initialised RAM
    assert elf.symbols(fw.elf)["mf_profile_mark"] == fw.mark


@pytest.fixture
def demo_model(tmp_path) -> Path:
    path = tmp_path / "demo.tflite"
    save(build_demo_graph(), path)
    return path


def test_profile_json(demo_model, capsys):
    assert cli(["profile", str(demo_model), "--board", "STM32F412", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    for key in ("instructions_total", "nodes", "text_bytes", "data_bytes", "bss_bytes", "flash_bytes", "sram_bytes", "stack_bytes"):
        assert key in p, key
    assert p["core"] == "cortex-m4" and p["matches_reference"]
    assert {"index", "op", "name", "instructions"} <= set(p["nodes"][0])
    assert p["instructions_total"] == sum(n["instructions"] for n in p["nodes"]) > 0
    assert p["flash_bytes"] == p["text_bytes"] + p["data_bytes"] and p["sram_bytes"] == p["data_bytes"] + p["bss_bytes"]
    assert p["peak_sram_bytes"] <= p["sram_bytes"] <= p["peak_sram_bytes"] + 2048
    assert p["text_bytes"] > p["weights_bytes"] and 0 < p["stack_bytes"] < p["stack_reserved_bytes"]


def test_profile_patch(demo_model, capsys):
    """--patch profiles the patched program: one row per patched node, bit-exact."""
    assert cli(["profile", str(demo_model), "--board", "STM32F412", "--patch", "2:2", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    names = [n["name"] for n in p["nodes"]]
    assert p["matches_reference"] and len(names) == len(set(names))
    assert sum(n.endswith("@0") for n in names) >= 2 and any(n["op"] == "PATCH_COPY" for n in p["nodes"])
    assert p["instructions_total"] == sum(n["instructions"] for n in p["nodes"]) > 0


@pytest.mark.parametrize("override,word", [("--sram=9000", "SRAM"), ("--flash=4096", "Flash")])
def test_link_overflow_exit_3(demo_model, capsys, override, word):
    assert cli(["profile", str(demo_model), "--board", "STM32F746", override]) == 3
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not fit" in err and word in err and "STM32F746" in err, err


def test_run_cli_qemu(demo_model, tmp_path, capsys):
    x = np.random.default_rng(1).integers(-128, 128, (1, 32, 32, 3)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    rc = cli(["run", str(demo_model), "--backend", "qemu-m4", "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")])
    assert rc == 0
    assert "reference executor: identical" in capsys.readouterr().out
    assert np.load(tmp_path / "y.npy").tobytes() == run(load(demo_model), [x])[0].tobytes()


def test_run_cli_rejects_wrong_core(demo_model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((1, 32, 32, 3), np.int8))
    args = ["run", str(demo_model), "--backend", "qemu-m7", "--board", "STM32F412", "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    assert cli(args) == 2
    assert "--backend qemu-m4" in capsys.readouterr().err


def _check_real(models_dir: Path, model: str, core: str) -> None:
    g = load(models_dir / f"{model}.tflite")
    c = compile_graph(g)
    size = 4 * 1024 * 1024 if model in BIG else None
    board = get_board(BOARDS[core] if model not in BIG else {"m7": "STM32H743", "m4": "NUCLEO-L4R5ZI"}[core], size, size)
    name = SUPPORTED[model][0]
    p = profile_model(c, board, to_model_inputs(c.io, make_input(models_dir, g, name)))
    assert p["matches_reference"], f"{model} on {core}: outputs differ from the reference executor"
    assert p["instructions_total"] > 0 and p["sram_bytes"] >= p["peak_sram_bytes"]


@pytest.mark.parametrize("core", ["m7", "m4"])
@pytest.mark.parametrize("model", FEW)
def test_real_models_bit_identical(models_dir, model, core):
    _check_real(models_dir, model, core)


@pytest.mark.slow
@pytest.mark.parametrize("core", ["m7", "m4"])
@pytest.mark.parametrize("model", [m for m in SUPPORTED if m not in FEW])
def test_all_real_models_bit_identical(models_dir, model, core):
    _check_real(models_dir, model, core)


def test_kernel_set_choice():
    m7, m4, m0 = get_board("STM32F746"), get_board("STM32F412"), get_board("RP2040")
    assert kernel_set(m7, "portable") == "portable"
    assert kernel_set(m4, "auto") == "armv7em" and kernel_set(m7) == "armv7em"
    assert kernel_set(m0, "auto") == "portable"
    with pytest.raises(MCUForgeError, match="DSP extension"):
        kernel_set(m0, "armv7em")
    with pytest.raises(MCUForgeError):
        kernel_set(m4, "neon")
