"""Spec strings and argument checks of load_dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcuforge.data import load_dataset
from mcuforge.data.spec import parse_spec
from mcuforge.errors import InputError, MCUForgeError


def test_parse_accepted_forms():
    assert parse_spec("fashion-mnist").kind == "fashion-mnist"
    assert parse_spec("folder:/data/pets") == parse_spec("folder:/data/pets")
    s = parse_spec("npz:rel/x.npz")
    assert (s.kind, s.path) == ("npz", Path("rel/x.npz"))
    assert parse_spec("folder:C:/data").path == Path("C:/data")  # only the first colon separates


@pytest.mark.parametrize("spec", ["mnist", "cifar10:/x", "folder", "/data/pets", ""])
def test_unknown_spec_lists_the_accepted_forms(spec):
    with pytest.raises(InputError, match="use fashion-mnist, folder:PATH or npz:PATH"):
        parse_spec(spec)


def test_audio_is_not_supported_yet():
    with pytest.raises(InputError, match="audio data sets .* are not supported yet"):
        load_dataset("audio:/data/speech")


def test_missing_path_in_spec():
    with pytest.raises(InputError, match="names no path"):
        parse_spec("npz:")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": 0}, "resolution must be a positive"),
        ({"resolution": 32.0}, "resolution must be a positive"),
        ({"channels": 2}, "channels must be 1"),
        ({"channels": True}, "channels must be 1"),
        ({"val_size": 0}, "val_size must be a positive"),
        ({"splits": ("train", "dev")}, "splits must name"),
        ({"splits": "test"}, "splits must name"),
        ({"splits": ()}, "splits must name"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(MCUForgeError, match=message):
        load_dataset("npz:/nonexistent.npz", **kwargs)
