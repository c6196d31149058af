"""WAV reading (every PCM width, channels, WAVE_FORMAT_EXTENSIBLE, bad files), the
resampler against sines of known frequency, padding and cutting, the feature seam."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from audio_util import pcm_bytes, write_wav

from mcuforge.data.audio_clips import fit_clip, load_clip, load_samples
from mcuforge.data.audio_features import features
from mcuforge.data.audio_resample import resample
from mcuforge.data.audio_wav import decode_wav, encode_wav, read_wav
from mcuforge.errors import DataError, UnsupportedError

RNG = np.random.default_rng(11)
V16 = np.concatenate([[-32768, -1, 0, 1, 32767], RNG.integers(-32768, 32768, 200)]).astype(np.int64)


@pytest.mark.parametrize("rate", [16000, 8000, 44100, 22050])
def test_16_bit_mono_reads_back_exactly(tmp_path, rate):
    x, r = read_wav(write_wav(tmp_path / "a.wav", V16, rate))
    assert r == rate and x.dtype == np.int16 and x.tolist() == V16.tolist()


def test_8_bit_is_unsigned_and_shifted_up(tmp_path):
    v8 = np.arange(-128, 128)
    x, _ = read_wav(write_wav(tmp_path / "a.wav", v8, width=1))
    assert x.tolist() == (v8 * 256).tolist()  # stored byte 0 is -32768, 128 is 0, 255 is 32512


def test_24_and_32_bit_keep_the_top_16_bits_rounding_down(tmp_path):
    low24 = RNG.integers(0, 256, V16.size)
    low32 = RNG.integers(0, 65536, V16.size)
    x24, _ = read_wav(write_wav(tmp_path / "a.wav", V16 * 256 + low24, width=3))
    x32, _ = read_wav(write_wav(tmp_path / "b.wav", V16 * 65536 + low32, width=4))
    assert x24.tolist() == V16.tolist() and x32.tolist() == V16.tolist()  # -1 * 256 + 255 -> -1, not 0
    assert read_wav(write_wav(tmp_path / "c.wav", [-1, -256, 255], width=3))[0].tolist() == [-1, -1, 0]


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_stereo_and_more_channels_average_rounding_down(tmp_path, width):
    scale = 256 ** (width - 2) if width >= 2 else 1
    left, right = V16[:100], V16[100:200]
    frames = np.stack([left, right], axis=1)
    if width == 1:
        frames = frames // 256  # 8-bit range
        left, right = frames[:, 0] * 256, frames[:, 1] * 256
    x, _ = read_wav(write_wav(tmp_path / "s.wav", frames * scale, width=width))
    assert x.tolist() == ((left + right) // 2).tolist()
    three = np.stack([V16[:50], V16[50:100], V16[100:150]], axis=1)
    y, _ = read_wav(write_wav(tmp_path / "t.wav", three, width=2))
    assert y.tolist() == (three.sum(axis=1) // 3).tolist()


def extensible(frames: np.ndarray, width: int, channels: int, rate: int, sub_format: int = 1) -> bytes:
    """A WAVE_FORMAT_EXTENSIBLE file (the header most tools write for 24- and 32-bit PCM)."""
    data = pcm_bytes(frames.reshape(-1, channels), width)
    guid = struct.pack("<H", sub_format) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * width * channels, width * channels,
                      8 * width, 22, 8 * width, 3) + guid  # fmt: skip
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_wave_format_extensible(tmp_path):
    frames = np.stack([V16 * 256, V16 * 256 + 255], axis=1)  # 24-bit stereo
    x, r = decode_wav(extensible(frames, 3, 2, 48000))
    assert r == 48000 and x.tolist() == V16.tolist()
    (tmp_path / "f.wav").write_bytes(extensible(np.zeros(10, np.int64), 4, 1, 16000, sub_format=3))
    with pytest.raises(DataError, match=r"cannot read WAV file .*f\.wav \(not integer PCM .*convert it to 16-bit"):
        read_wav(tmp_path / "f.wav")


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"", "it ends before its header does"), (b"RIFF\x10\x00\x00\x00WAVEfmt ", "fmt chunk and/or data chunk missing"),
     (b"RIFF\x00\x00\x00\x00JUNKJUNK", "not a WAVE file"),
     (b"hello, this is text", "file does not start with RIFF id")],
)  # fmt: skip
def test_unreadable_files_are_one_sentence(tmp_path, data, why):
    (tmp_path / "bad.wav").write_bytes(data)
    with pytest.raises(DataError, match=rf"cannot read WAV file .*bad\.wav \(({why})") as e:
        read_wav(tmp_path / "bad.wav")
    assert "\n" not in str(e.value)
    with pytest.raises(DataError, match="cannot read WAV file .*missing.wav .No such file"):
        read_wav(tmp_path / "missing.wav")


def test_encode_wav_round_trip():
    x = V16.astype(np.int16)
    y, r = decode_wav(encode_wav(x, 16000))
    assert r == 16000 and np.array_equal(x, y)


def sine(freq: float, rate: int, n: int, amp: float = 10000.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 16001, 7999])
def test_resampled_sine_matches_the_ideal_sine(rate):
    """A 1 kHz sine at any rate becomes the 1 kHz sine at 16 kHz, within about 1 LSB of
    rounding plus the filter's ripple (away from the ends, where the input stops)."""
    x = np.rint(sine(1000, rate, rate)).astype(np.int16)
    y = resample(x, rate, 16000)
    assert y.dtype == np.int16 and y.size == -(-rate * 16000 // rate)  # ceil(n * 16000 / rate) = 16000
    err = np.abs(y.astype(np.float64) - sine(1000, 16000, y.size))[400:-400]
    assert err.max() < 2.5
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over one second


def test_resampler_passband_and_anti_aliasing():
    x = np.rint(sine(6000, 44100, 44100)).astype(np.int16)  # in the passband (edge 7.2 kHz)
    y = resample(x, 44100).astype(np.float64)[400:-400]
    assert abs(np.sqrt(2 * np.mean(y * y)) - 10000) < 100
    x = np.rint(sine(12000, 48000, 48000)).astype(np.int16)  # above 8 kHz: would alias to 4 kHz
    assert np.abs(resample(x, 48000)[400:-400]).max() <= 5  # at least 66 dB down
    dc = resample(np.full(3000, 1234, np.int16), 22050)
    assert (dc[100:-100] == 1234).all()  # each phase's taps sum to 1


def test_resample_saturates_and_keeps_16k():
    square = np.where(np.arange(8000) % 40 < 20, 32767, -32768).astype(np.int16)  # overshoots when filtered
    y = resample(square, 8000)
    assert y.max() == 32767 and y.min() == -32768 and y.size == 16000
    assert np.array_equal(resample(square, 16000), square)


def test_odd_rate_and_stereo_files_load_as_16k_mono(tmp_path):
    s = np.rint(sine(500, 11025, 11025)).astype(np.int64)
    write_wav(tmp_path / "a.wav", np.stack([s, s], axis=1) * 65536, rate=11025, width=4)
    y = load_samples(tmp_path / "a.wav")
    assert y.size == 16000 and np.abs(y - sine(500, 16000, 16000))[400:-400].max() < 2.5


def test_fit_clip_pads_at_the_end_or_keeps_the_first_samples(tmp_path):
    x = np.arange(1, 11, dtype=np.int16)
    assert fit_clip(x, 4).tolist() == [1, 2, 3, 4]
    assert fit_clip(x, 13).tolist() == list(range(1, 11)) + [0, 0, 0]
    assert fit_clip(x, 13).dtype == np.int16
    write_wav(tmp_path / "short.wav", [5] * 4000, rate=8000)  # 0.5 s at 8 kHz -> 8000 samples then zeros
    c = load_clip(tmp_path / "short.wav", 16000)
    assert c.size == 16000 and (c[100:7900] == 5).all() and (c[8100:] == 0).all()


def test_feature_seam():
    clips = np.arange(12, dtype=np.int16).reshape(3, 4)
    with pytest.raises(UnsupportedError, match="no audio front end is plugged in yet"):
        features(clips)
    f = features(clips, lambda pcm: pcm[::2].astype(np.int32) * 2)
    assert f.shape == (3, 2) and f.tolist() == [[0, 4], [8, 12], [16, 20]]
    with pytest.raises(ValueError, match="int16 PCM clips"):
        features(clips.astype(np.float32), lambda pcm: pcm)
