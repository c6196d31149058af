"""Operator coverage (issue 14): the table of TF-Lite Micro's builtin operators, its int8
facts checked against TF-Lite Micro itself, the README copy of it, and `mcuforge ops`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
from shared_paths import require_models
from tflm_probe import PROBES, REAL_MODELS, op_input_types, runs_float, runs_int8, zero_inputs

from mcuforge import cli, coverage
from mcuforge.coverage import MCUFORGE_ONLY, TFLM_BUILTINS, TFLM_CUSTOM, Status
from mcuforge.frontend.fold import FOLDERS
from mcuforge.ir.ops import Op
from mcuforge.oracle.tflm import run_tflm_isolated

README = Path(__file__).resolve().parents[1] / "README.md"
RUN = sorted(n for n, e in TFLM_BUILTINS.items() if e.checked == "run")


def test_readme_table_is_current():
    current = coverage.readme_table_of(README.read_text())
    assert current == coverage.readme_block(), (
        f"README.md's operator table is stale (an operator was added to Op, or coverage.py changed); "
        f"regenerate it with `{coverage.FIX_COMMAND}`"
    )


def test_every_op_is_a_tflm_builtin_or_an_mcuforge_alias():
    for op in Op:
        assert op.value in TFLM_BUILTINS or op.value in MCUFORGE_ONLY, (
            f"{op.value} is neither a TF-Lite Micro builtin in coverage.TFLM_BUILTINS nor listed in "
            f"coverage.MCUFORGE_ONLY with what it stands for"
        )
    assert set(MCUFORGE_ONLY) <= {op.value for op in Op}
    assert not set(MCUFORGE_ONLY) & set(TFLM_BUILTINS)
    assert {n for n, _ in coverage.extra_ops()} == set(MCUFORGE_ONLY)


def test_an_op_outside_tflm_is_listed_apart(monkeypatch):
    grown = StrEnum("Op", {**{op.name: op.value for op in Op}, "GELU": "GELU"})
    monkeypatch.setattr(coverage, "Op", grown)
    monkeypatch.setitem(coverage.MCUFORGE_ONLY, "GELU", "a LiteRT builtin")
    assert coverage.extra_ops()[-1] == ("GELU", "a LiteRT builtin")
    also = next(ln for ln in coverage.readme_block().splitlines() if ln.startswith("Also supported"))
    assert also.endswith(", GELU.") or also.endswith(": GELU.")
    assert coverage.counts()["builtins"] == len(TFLM_BUILTINS)  # not counted


# Supported operators that TF-Lite Micro runs only on other types: the logical operators
# (bool tensors between a comparison and a SELECT_V2 of an int8 graph) and NEG (float only
# there; int8 NEG is checked against LiteRT). Any other supported operator is compared with
# TF-Lite Micro on int8 tensors, so the table cannot say it has no int8 kernel.
SUPPORTED_NOT_INT8_IN_TFLM = {"LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT", "NEG"}


def test_supported_ops_run_int8_in_tflm():
    wrong = {op.value for op in Op if op.value in TFLM_BUILTINS and not TFLM_BUILTINS[op.value].int8}
    assert wrong == SUPPORTED_NOT_INT8_IN_TFLM, f"supported ops the table says have no int8 kernel: {sorted(wrong)}"


def test_entries_are_well_formed():
    reasons = {coverage.FLOAT_ONLY, coverage.BOOL_ONLY, coverage.SHAPE_ONLY, coverage.RECURRENT, coverage.STATE,
               coverage.CONTROL}  # fmt: skip
    for name, e in TFLM_BUILTINS.items():
        assert hasattr(fb.BuiltinOperator, name), f"{name} is not a TFLite builtin operator"
        assert e.checked in ("run", "model", "source", "oracle"), name
        assert e.int8 or e.reason is not None, f"{name}: no int8 kernel, so it needs a reason"
        assert e.reason is None or e.reason in reasons, name
        assert e.checked != "oracle" or name in {op.value for op in Op}, f"{name}: 'oracle' is for supported ops"
    assert len(TFLM_BUILTINS) == 100  # the Add... methods of micro_mutable_op_resolver.h that name a builtin
    assert not set(TFLM_CUSTOM) & set(TFLM_BUILTINS)
    assert not any(hasattr(fb.BuiltinOperator, name) for name in TFLM_CUSTOM)


def test_folded_at_import_is_true():
    for name, e in TFLM_BUILTINS.items():
        if "folded at import" in e.note and "dilated" not in e.note:
            assert name in FOLDERS, f"{name}: the note says it is folded at import, but frontend/fold.py does not"


def test_probes_match_the_run_entries():
    assert sorted(PROBES) == RUN


@pytest.mark.parametrize("name", RUN)
def test_tflm_runs_int8_exactly_when_the_table_says(name):
    ok, message = runs_int8(name)
    claim = TFLM_BUILTINS[name].int8
    assert ok == claim, (
        f"{name}: the table says TF-Lite Micro {'runs' if claim else 'does not run'} it on int8, "
        f"but the one-op int8 model {'ran' if ok else f'failed ({message})'}"
    )
    if not ok:  # the control: the same model in float32 runs, so only int8 was refused
        ok_float, message = runs_float(name)
        assert ok_float, f"{name}: the probe is malformed: even its float32 version fails ({message})"


def test_real_models_match_the_model_entries():
    assert sorted(REAL_MODELS) == sorted(n for n, e in TFLM_BUILTINS.items() if e.checked == "model")


@pytest.mark.parametrize("name", sorted(REAL_MODELS))
def test_tflm_runs_int8_in_a_real_model(name):
    data = (require_models() / f"{REAL_MODELS[name]}.tflite").read_bytes()
    assert op_input_types(data, name)[0] == "INT8"
    result = run_tflm_isolated(data, zero_inputs(data), timeout=60)
    assert result.ok == TFLM_BUILTINS[name].int8, f"{name} in {REAL_MODELS[name]}: {result.message}"


def test_status_follows_op(monkeypatch):
    assert coverage.status("CONV_2D") is Status.SUPPORTED
    assert coverage.status("EMBEDDING_LOOKUP") is Status.PLANNED
    assert coverage.status("EXP") is Status.NOT_APPLICABLE
    before = coverage.counts()
    grown = StrEnum("Op", {**{op.name: op.value for op in Op}, "EMBEDDING_LOOKUP": "EMBEDDING_LOOKUP"})  # merged
    monkeypatch.setattr(coverage, "Op", grown)
    assert coverage.status("EMBEDDING_LOOKUP") is Status.SUPPORTED
    after = coverage.counts()
    assert after["supported"] == before["supported"] + 1 and after["int8_total"] == before["int8_total"]
    assert after["planned"] == before["planned"] - 1
    assert coverage.readme_block() != coverage.readme_table_of(README.read_text())


def test_counts_add_up():
    c = coverage.counts()
    rows = coverage.rows()
    assert c["builtins"] == len(rows) == len(TFLM_BUILTINS)
    assert c["supported_builtins"] == sum(1 for op in Op if op.value in TFLM_BUILTINS)
    assert c["supported"] == sum(1 for op in Op if op.value in TFLM_BUILTINS and TFLM_BUILTINS[op.value].int8)
    assert c["supported_builtins"] + c["planned"] + c["not_applicable"] == c["builtins"]
    assert c["int8_total"] == sum(e.int8 for e in TFLM_BUILTINS.values())
    for name, s, note in rows:
        assert s != Status.NOT_APPLICABLE or note.startswith(TFLM_BUILTINS[name].reason), name


def test_ops_command_json(capsys):
    assert cli.main(["ops", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"operators", "supported", "int8_total", "mcuforge_only"} <= set(info)
    assert info["supported"] == coverage.counts()["supported"]
    assert info["int8_total"] == coverage.counts()["int8_total"]
    by_name = {o["name"]: o for o in info["operators"]}
    assert set(by_name) == set(TFLM_BUILTINS)
    assert set(by_name["CONV_2D"]) >= {"name", "status", "note"}
    assert by_name["CONV_2D"]["status"] == "supported"
    assert by_name["EXP"]["status"] == "not applicable" and by_name["EXP"]["note"] == coverage.FLOAT_ONLY


def test_ops_command_table(capsys):
    assert cli.main(["ops"]) == 0
    lines = capsys.readouterr().out.splitlines()
    c = coverage.counts()
    count = f"{c['supported']} of {c['int8_total']}"
    assert lines[-1] == f"{count} TF-Lite Micro builtin operators that run int8 tensors are supported"
    assert len(lines) == len(TFLM_BUILTINS) + len(coverage.extra_ops()) + 1
    assert lines[0].split()[:2] == ["ABS", coverage.status("ABS").value]


def test_write_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{coverage.README_BEGIN}\nold\n{coverage.README_END}\nafter\n")
    assert coverage.main(["--write-readme", str(readme)]) == 0
    text = readme.read_text()
    assert coverage.readme_table_of(text) == coverage.readme_block()
    assert text.startswith("# x\n\nbefore\n") and text.endswith(f"{coverage.README_END}\nafter\n")
    assert coverage.main(["--write-readme", str(readme)]) == 0 and readme.read_text() == text  # idempotent
    readme.write_text("no markers\n")
    assert coverage.main(["--write-readme", str(readme)]) == 2
    assert "lacks the markers" in capsys.readouterr().err
