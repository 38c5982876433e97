"""Writing output files safely: nothing that sits at an output path is lost or replaced by surprise.

Every write goes to a temporary file beside the real target, named
``.NAME.viz3d-tmp-PID-XXXXXXXX``, is flushed to disk and renamed over the
target, so a crash or a full disk never leaves half a file. Around that:

- a **symlink** is written through: the link stays a link and the file it
  points to gets the new content (the temporary file sits beside that file,
  so the rename stays on one file system);
- an **existing file keeps its permission bits** (and owner and group where
  the process may set them); a new file gets ``0666`` minus the umask;
- **folders, FIFOs, device nodes and sockets are refused**: viz3d writes
  regular files only (``--out /dev/null`` as root must not replace the device);
- a **read-only file is refused**, as a shell redirection would refuse it,
  although the rename could replace it;
- a file with **other hard links is refused**: renaming a new file over this
  name would leave the other names with the old content (the link silently
  broken), and writing into the shared inode instead would give up
  atomicity; the message says to remove the other links or pick a new name;
- the **temporary files of a killed viz3d** for the same target (their
  process is gone, or they are a day old) are removed by the next write to
  that path.

:func:`check_output_path` runs every check without writing, so the command
line calls it before a long render rather than failing after it.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
import time
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from viz3d.errors import Viz3dError

TEMP_MARK = ".viz3d-tmp-"
STALE_AFTER_S = 24 * 3600.0  # a temporary file this old is stale even if its PID was reused
IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _suffixes(formats: Collection[str]) -> str:
    names = [f".{f}" for f in formats]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def output_format(path: str | Path, formats: Collection[str]) -> str:
    """The lower-case extension of ``path`` (without the dot), refused unless it is one of ``formats``."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in formats:
        named = f"a .{fmt} file" if fmt else "a name without an extension"
        raise Viz3dError(f"cannot write {path}: {named} is not a format viz3d writes; use a {_suffixes(formats)} name")
    return fmt


def _may(path: Path, mode: int) -> bool:
    """Whether this process may access ``path`` so: the effective ids decide, as they do for the write itself."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _real_target(name: str | Path) -> tuple[Path, os.stat_result | None]:
    """The file a write to ``name`` lands in (every symlink followed) and its stat, None when it is new."""
    path = Path(name)  # drops a trailing slash: look at the name as given first
    if str(name).endswith(os.sep) or path.is_dir():
        raise Viz3dError(f"output path {path} is a folder; give a file name such as {path / 'frame.png'}")
    real = Path(os.path.realpath(path))
    via = f" (where the link {path} points)" if path.is_symlink() else ""
    parent = real.parent
    if not parent.is_dir():
        raise Viz3dError(f"output folder {parent}{via} does not exist; create it first")
    if not _may(parent, os.W_OK | os.X_OK):
        raise Viz3dError(f"output folder {parent}{via} is not writable; choose another --out or fix its permissions")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real, None
    except OSError as exc:  # a symlink loop, a name too long, a folder we may not search
        raise Viz3dError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise Viz3dError(f"output path {path}{via} is a folder; give a file name such as {path / 'frame.png'}")
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise Viz3dError(f"output path {path}{via} is {kind}, not a regular file; viz3d writes only files")
    if not stat.S_ISREG(st.st_mode):
        raise Viz3dError(f"output path {path}{via} is not a regular file; viz3d writes only files")
    if st.st_nlink > 1:
        raise Viz3dError(
            f"output file {path}{via} has {st.st_nlink - 1} other hard link(s); a new file would split them from it: "
            "remove the other links or choose another name"
        )
    if not _may(real, os.W_OK):
        raise Viz3dError(f"output file {path}{via} is read-only; make it writable or choose another name")
    return real, st


def check_output_path(path: str | Path, formats: Collection[str] | None = None) -> Path:
    """Check, before any work, that ``path`` can be written; return the real file it lands in.

    ``formats``: the lower-case extensions allowed (e.g. ``IMAGE_FORMATS``);
    None accepts any name. Raises :class:`Viz3dError` naming the problem and
    the fix: an unknown extension, a missing or read-only folder, a folder,
    FIFO, device node or socket at the path, a read-only or hard-linked file.
    """
    real = _real_target(path)[0]  # first: "/dev/null is a character device" says more than its extension
    if formats is not None:
        output_format(path, formats)
    return real


def _temp_prefix(name: str) -> str:
    # Names near the 255-byte limit would overflow with the mark appended; the prefix stays unique enough.
    return f".{name[:120]}{TEMP_MARK}"


def _stale(entry: os.DirEntry[str], prefix: str) -> bool:
    pid_text = entry.name[len(prefix) :].split("-", 1)[0]
    try:
        age = time.time() - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    if age > STALE_AFTER_S or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another thread of this process may be writing the same path
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, owned by another user
    return False


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files a killed viz3d left beside ``target`` (the real file); return them."""
    prefix = _temp_prefix(target.name)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(target.parent) if e.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and _stale(entry, prefix):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass  # gone already, or not ours to remove: the write goes on
    return removed


def _open_temp(target: Path) -> tuple[int, Path]:
    prefix = f"{_temp_prefix(target.name)}{os.getpid()}-"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = target.parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            # 0666 here: the kernel applies the umask, as it would for a new file of any program.
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _keep_metadata(fd: int, st: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        for uid in (st.st_uid, -1):  # root keeps the owner; others may still keep the group
            try:
                os.fchown(fd, uid, st.st_gid)
                break
            except OSError:
                continue


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module notes: links, modes, refusals); return ``path``."""
    given = Path(path)
    target, st = _real_target(path)
    remove_stale_temps(target)
    fd, tmp = _open_temp(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if st is not None:
                _keep_metadata(fh.fileno(), st)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a quota, a folder that changed under us
            raise Viz3dError(f"cannot write {given}: {exc.strerror or exc}") from exc
        raise
    _sync_folder(target.parent)
    return given


def atomic_write_with(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Like :func:`atomic_write_bytes`, for writers that need a file name (an encoder such as ffmpeg).

    ``write(temporary path)`` fills the temporary file beside the target
    (its name has no extension: the writer names the format itself); it is
    then flushed and renamed over ``path``, or removed when ``write`` fails.
    """
    given = Path(path)
    target, st = _real_target(path)
    remove_stale_temps(target)
    fd, tmp = _open_temp(target)
    os.close(fd)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        try:
            if st is not None:
                _keep_metadata(fd, st)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise Viz3dError(f"cannot write {given}: {exc.strerror or exc}") from exc
        raise
    _sync_folder(target.parent)
    return given


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to disk (best effort: some file systems cannot open folders)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3|4) uint8 image, got {image.dtype} {image.shape}")


def image_bytes(image: np.ndarray, fmt: str, background: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    """``image`` encoded as ``fmt`` (a key of ``IMAGE_FORMATS``).

    JPEG has no alpha channel: a translucent image is composited on
    ``background`` first. PNG and WebP (lossless) keep every pixel.
    """
    from PIL import Image

    _check_image(image)
    pil_format = IMAGE_FORMATS[fmt]
    img = Image.fromarray(image)
    if pil_format == "JPEG" and img.mode == "RGBA":
        flat = Image.new("RGB", img.size, background)
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    buf = io.BytesIO()
    options: dict[str, int | bool] = {"quality": 95} if pil_format == "JPEG" else {}
    if pil_format == "WEBP":
        options = {"lossless": True, "exact": True}  # exact: keep the colour under transparent pixels
    img.save(buf, format=pil_format, **options)
    return buf.getvalue()


def save_image(image: np.ndarray, path: str | Path, background: tuple[int, int, int] = (255, 255, 255)) -> Path:
    """Save an (H, W, 3|4) uint8 image, atomically, in the format its extension names (.png, .jpg/.jpeg, .webp).

    Any other extension is a :class:`Viz3dError`; JPEG composites alpha on ``background``.
    """
    _check_image(image)
    check_output_path(path, IMAGE_FORMATS)  # before encoding: a big frame's encoding is wasted on an unwritable path
    fmt = output_format(path, IMAGE_FORMATS)
    return atomic_write_bytes(path, image_bytes(image, fmt, background))


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Save an (H, W, 3|4) uint8 image as PNG, atomically.

    A ``.jpg``, ``.jpeg`` or ``.webp`` name gets that format instead (see
    :func:`save_image`): the bytes always match the extension. Other names
    (``out.png``, ``frame``, ``x.bin``) get PNG bytes.
    """
    _check_image(image)
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt in IMAGE_FORMATS:
        return save_image(image, path)
    check_output_path(path)
    return atomic_write_bytes(path, image_bytes(image, "png"))
