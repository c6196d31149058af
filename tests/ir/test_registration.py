"""One registration per operator: every table that must know an operator knows exactly
the IR's set (reader options, shapes, reference kernels, code emitters), and every kernel
family an emitter names has its header and portable C file."""

from __future__ import annotations

from importlib import resources

import pytest
from toy_cnn import build_demo_graph

from mcuforge.codegen.generate import generate
from mcuforge.codegen.table import EMITTERS
from mcuforge.frontend.tflite_options import SPECS
from mcuforge.ir.ops import ALIAS_OPS, Op
from mcuforge.ir.shapes import RULES
from mcuforge.ref.interpreter import KERNELS

IR = set(Op)


@pytest.mark.parametrize(
    "name, table", [("shapes", RULES), ("reference", KERNELS), ("codegen", EMITTERS), ("reader options", SPECS)]
)
def test_every_table_covers_the_ir(name, table):
    missing, extra = sorted(IR - set(table)), sorted(set(table) - IR)
    assert not missing and not extra, f"{name}: missing {missing}, not in the IR {extra}"


def test_aliases_are_ir_ops():
    assert ALIAS_OPS <= IR


def test_kernel_families_exist():
    kernels = resources.files("mcuforge.kernels")
    project = generate(build_demo_graph())
    families = set(project.families)
    for d in ("portable", "include"):
        names = {p.name.rsplit(".", 1)[0] for p in kernels.joinpath(d).iterdir() if p.name.startswith("mf_")}
        assert families <= names, d
    portable = {p.name for p in kernels.joinpath("portable").iterdir()}
    for p in kernels.joinpath("armv7em").iterdir():
        if p.name.endswith(".c"):
            assert p.name in portable, f"armv7em/{p.name} replaces no portable file"
