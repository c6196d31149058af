"""Output folders written whole or not at all.

`compile -o OUT` stages everything in a hidden folder beside OUT and moves it into place
only when every file is written: an interrupted compile (Ctrl-C, SIGTERM, a full disk)
leaves OUT as it was, never a project that builds and looks complete. The marker of a
complete project is its manifest (MANIFEST, written last), which lists the files
mcuforge wrote; `--force` over an earlier project removes the files of that manifest the
new project does not write (another model's kernels) and keeps the user's own files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcuforge.errors import InputError

MANIFEST = ".mcuforge-files.json"


def check_outdir(path: str | Path, force: bool) -> Path:
    """The folder `path` may be written: it is a folder (or absent, its parent a writable
    folder) and empty unless `force`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{path} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"folder {path} is not empty; pass --force to overwrite the files mcuforge writes there")
    where = out if out.is_dir() else out.resolve().parent
    while not where.exists():  # missing parent folders are made (nothing of the user's is there)
        where = where.parent
    if not where.is_dir():
        raise InputError(f"{where} is not a folder, so {path} cannot be made")
    if not os.access(where, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {where}: permission denied")
    return out


def _manifest(folder: Path) -> list[str] | None:
    try:
        names = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return (
        [n for n in names if isinstance(n, str) and "/" not in n and n not in ("", ".", "..")]
        if isinstance(names, list)
        else None
    )


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a staging folder beside `out`; when the block completes, its files replace
    mcuforge's files in `out` (the manifest last). On any exception `out` is untouched
    and the staging folder is removed."""
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as e:
        raise InputError(f"cannot write into {parent}: {e.strerror or e}") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would become the project's mode
    try:
        yield tmp
        _commit(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _commit(tmp: Path, out: Path) -> None:
    names = sorted(p.name for p in tmp.iterdir() if p.name != MANIFEST)
    (tmp / MANIFEST).write_text(json.dumps(names, indent=0) + "\n")
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)  # one step: the project appears complete or not at all
        return
    old = _manifest(out)
    (out / MANIFEST).unlink(missing_ok=True)  # from here until the end, `out` is not a complete project
    for name in old or []:
        if name not in names:
            (out / name).unlink(missing_ok=True)
    for name in names:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            raise InputError(f"{target} is a folder where mcuforge writes a file; move it away")
        os.replace(tmp / name, target)
    os.replace(tmp / MANIFEST, out / MANIFEST)
