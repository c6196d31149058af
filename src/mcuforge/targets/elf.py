"""Read the figures mcuforge needs from a 32-bit little-endian ELF (the Cortex-M firmware):
section sizes counted as `size` (Berkeley format) counts them, and symbol addresses.

Only the section and symbol tables are read (struct layouts of the ELF32 specification),
so no binutils program is needed to report sizes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHT_SYMTAB, SHT_NOBITS = 2, 8
STACK_SECTION = ".stack"  # the stack reservation of targets/firmware/link.ld.in


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int


@dataclass(frozen=True)
class ElfSizes:
    """Bytes of the image by kind. text: everything allocated and read-only (code, vector
    table, constants), as `size` counts it; code: the executable sections alone; data:
    initialised writable data (in RAM, its initial values also in Flash); bss: zeroed RAM
    (the model's arena is here); stack: the stack reservation, not part of bss."""

    text: int
    code: int
    data: int
    bss: int
    stack: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def sram(self) -> int:
        return self.data + self.bss


def _sections(blob: bytes) -> list[Section]:
    if blob[:4] != b"\x7fELF" or blob[4] != 1 or blob[5] != 1:
        raise ValueError("not a 32-bit little-endian ELF file")
    shoff = struct.unpack_from("<I", blob, 0x20)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x2E)
    raw = [struct.unpack_from("<10I", blob, shoff + k * shentsize) for k in range(shnum)]
    names_at = raw[shstrndx][4]

    def name(off: int) -> str:
        end = blob.index(b"\0", names_at + off)
        return blob[names_at + off : end].decode()

    return [Section(name(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in raw]


def sizes(path: Path) -> ElfSizes:
    text = code = data = bss = stack = 0
    for s in _sections(Path(path).read_bytes()):
        if not s.flags & SHF_ALLOC:
            continue
        if s.name == STACK_SECTION:
            stack += s.size
        elif s.type == SHT_NOBITS:
            bss += s.size
        elif s.flags & SHF_WRITE:
            data += s.size
        else:
            text += s.size
            code += s.size if s.flags & SHF_EXECINSTR else 0
    return ElfSizes(text, code, data, bss, stack)


def _symbol_table(path: Path):
    """(name, value, size, info, section index) of every named symbol."""
    blob = Path(path).read_bytes()
    sections = _sections(blob)
    for s in sections:
        if s.type != SHT_SYMTAB:
            continue
        strtab = sections[s.link]
        for k in range(s.size // 16):
            st_name, st_value, st_size, st_info, _, st_shndx = struct.unpack_from("<IIIBBH", blob, s.offset + 16 * k)
            if st_name:
                end = blob.index(b"\0", strtab.offset + st_name)
                yield blob[strtab.offset + st_name : end].decode(), st_value, st_size, st_info, st_shndx


def function_sizes(path: Path) -> dict[str, int]:
    """Name -> byte size of every global function an object or image defines."""
    # st_info STB_GLOBAL << 4 | STT_FUNC; section index 0 is "undefined"
    return {name: size for name, _, size, info, shndx in _symbol_table(path) if info == 0x12 and shndx != 0}


def symbols(path: Path) -> dict[str, int]:
    """Name -> value of every named symbol (functions keep their Thumb bit)."""
    return {name: value for name, value, *_ in _symbol_table(path)}
