"""Bad input, table-driven: input images, output files, strict JSON and non-finite flags, flat Sequentials.

Every row of ``CASES`` names a call (a Python call on the case's folder, or a
``viz3d`` command line where ``{d}`` is that folder) and what it must give:
an error whose one line holds ``error`` (on the command line: exactly one
stderr line starting ``viz3d: ``, exit status 2, no traceback), or success
and an exact ``outcome``. Paths in ``keep`` must be as they were, byte for
byte, mode for mode, inode for inode and link for link. ``as_user`` rows run
with the effective ids of ``nobody`` when the tests run as root (root ignores
permission bits, and a read-only folder means nothing to it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rich.console
import rich.progress  # noqa: F401
import torch
from PIL import Image
from torch import nn

import viz3d.api  # noqa: F401
from viz3d.capture import capture
from viz3d.capture.stats import layer_statistics
from viz3d.cli import main
from viz3d.errors import Viz3dError, Viz3dWarning
from viz3d.files import IMAGE_FORMATS, atomic_write_bytes, check_output_path, save_image, save_png
from viz3d.graph import build_graph, export_graph
from viz3d.loading import load_input, load_model_spec
from viz3d.models.default_net import default_model

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534
MARKER_NET = """
import pathlib, torch
pathlib.Path(__file__).with_name("imported").write_text("the model was loaded")
def build():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    m.input_shape = (1, 3, 16, 16)
    return m
"""
NAN_NET = """
import torch
def build():
    conv = torch.nn.Conv2d(3, 4, 1)
    with torch.no_grad():
        conv.weight[0] = float("nan")  # channel 0: NaN everywhere
        conv.weight[1] = float("inf")  # channel 1: +Inf (inputs are positive)
    m = torch.nn.Sequential(conv, torch.nn.ReLU())
    m.input_shape = (1, 3, 8, 8)
    return m
def huge():
    conv = torch.nn.Conv2d(3, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0], conv.weight[0, 1] = 3e38, -3e38  # finite values whose std overflows float32
    m = torch.nn.Sequential(conv)
    m.input_shape = (1, 3, 8, 8)
    return m
"""
FLAT_NET = """
import torch
from torch import nn
def build():
    layers = [nn.Conv2d(3, 4, 3, padding=1)]
    for _ in range(400):
        layers += [nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()]
    m = nn.Sequential(*layers)  # 801 layers, no nesting to fold by depth
    m.input_shape = (1, 3, 8, 8)
    return m
"""


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[Path], Any] | tuple[str, ...]
    error: str | None = None  # fragment of the one-line error; None: the call must succeed
    outcome: Callable[[Path, Any], None] | None = None
    setup: Callable[[Path], None] | None = None
    keep: tuple[str, ...] = ()
    as_user: bool = False


@dataclass
class Result:
    value: Any = None
    code: int | None = None
    out: str = ""
    err: str = ""
    warned: tuple[str, ...] = ()


# --- helpers -----------------------------------------------------------------------------


@contextmanager
def as_nobody() -> Iterator[None]:
    """Effective ids of nobody while the row runs (as root). Every module a row needs is imported at the
    top of this file: nobody cannot read /root, where the interpreter lives, so a later import would fail."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def snapshot(p: Path) -> tuple[Any, ...]:
    st = os.lstat(p)
    body = os.readlink(p) if stat.S_ISLNK(st.st_mode) else p.read_bytes() if stat.S_ISREG(st.st_mode) else None
    return stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_ino, body


def temps(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if ".viz3d-tmp-" in p.name)


def write(name: str, data: bytes = b"old", mode: int | None = None) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
        if mode is not None:
            os.chmod(d / name, mode)

    return setup


def steps(*fns: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        for fn in fns:
            fn(d)

    return setup


def link(name: str, to: str) -> Callable[[Path], None]:
    return lambda d: os.symlink(to, d / name)


def fifo(name: str) -> Callable[[Path], None]:
    return lambda d: os.mkfifo(d / name)


def read_only_folder(d: Path) -> None:
    (d / "ro").mkdir()
    (d / "ro" / "old.png").write_bytes(b"old")
    os.chmod(d / "ro", 0o555)


def unix_socket(d: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "sock"))
    s.close()


def png16(arr: np.ndarray, path: Path, colour: int) -> None:
    """A 16-bit PNG written by hand (Pillow writes 16-bit grey only)."""
    h, w = arr.shape[:2]
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def huge_png(side: int) -> Callable[[Path], None]:
    """A PNG whose header claims side x side pixels (Pillow's bomb check reads only the header)."""

    def setup(d: Path) -> None:
        png16(np.zeros((1, 1), np.uint16), d / "bomb.png", 0)
        data = bytearray((d / "bomb.png").read_bytes())
        data[16:24] = struct.pack(">II", side, side)
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
        (d / "bomb.png").write_bytes(bytes(data))

    return setup


GREY16 = (np.arange(32 * 32, dtype=np.uint32).reshape(32, 32) * 64 + 63).astype(np.uint16)  # 63 .. 65535
FLAT_MODEL = nn.Sequential(nn.Conv2d(3, 2, 1))  # no input_shape: images load at their own size


def images(d: Path) -> None:
    Image.fromarray(GREY16).save(d / "g16.png")
    Image.fromarray(GREY16).save(d / "g16.tiff")
    f = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(f).save(d / "f01.tiff")
    Image.fromarray(f * 1000 - 200).save(d / "f1000.tiff")
    g = f.copy()
    g[2, 3] = np.nan
    Image.fromarray(g).save(d / "fnan.tiff")
    Image.fromarray((np.arange(64).reshape(8, 8) * 65536).astype(np.int32)).save(d / "i32.tiff")
    Image.fromarray(np.eye(8, dtype=bool)).save(d / "bit1.png")
    rgb = np.random.default_rng(1).integers(0, 256, (8, 8, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(d / "rgb.png")
    Image.fromarray(rgb).quantize(16).save(d / "pal.png")
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4] = (255, 0, 0, 255)  # opaque red on top, transparent black below
    Image.fromarray(rgba).save(d / "rgba.png")
    la = np.zeros((8, 8, 2), np.uint8)
    la[:, :4] = (40, 255)
    Image.fromarray(la).save(d / "la.png")  # (H, W, 2) uint8: mode LA
    Image.fromarray(rgb).convert("CMYK").save(d / "cmyk.jpg")
    colour = np.random.default_rng(2).integers(0, 65536, (8, 8, 3)).astype(np.uint16)
    png16(colour, d / "rgb16.png", 2)
    np.save(d / "rgb16.npy", colour)
    (d / "cut.png").write_bytes((d / "rgb.png").read_bytes()[:60])
    (d / "notes.png").write_text("not an image")
    sideways = Image.new("RGB", (8, 4), (255, 0, 0))
    exif = sideways.getexif()
    exif[0x0112] = 6  # stored sideways: turn 90 degrees clockwise to view
    sideways.save(d / "exif.png", exif=exif)


def load(name: str, model: nn.Module = FLAT_MODEL) -> Callable[[Path], Any]:
    return lambda d: load_input(str(d / name), model)


def pixels(expected: Callable[[Path], np.ndarray], atol: float = 1e-6, warns: str | None = None) -> Callable:
    def check(d: Path, r: Result) -> None:
        x = r.value[0].numpy()
        want = expected(d)
        want = np.broadcast_to(want, x.shape) if want.ndim == 2 else want
        np.testing.assert_allclose(x, want, atol=atol)
        assert (warns is None) == (not r.warned), r.warned
        assert warns is None or any(warns in w for w in r.warned)

    return check


def pil_rgb(name: str) -> Callable[[Path], np.ndarray]:
    return lambda d: np.asarray(Image.open(d / name).convert("RGB"), np.float32).transpose(2, 0, 1) / 255


def written(name: str, data: bytes, mode: int | None = None, link_to: str | None = None) -> Callable:
    def check(d: Path, r: Result) -> None:
        p = d / name
        assert p.read_bytes() == data
        if mode is not None:
            assert stat.S_IMODE(os.stat(p).st_mode) == mode
        assert (os.readlink(p) if link_to is not None else None) == link_to
        assert not p.is_symlink() or link_to is not None
        assert temps(d) == [], temps(d)

    return check


def image_file(name: str, fmt: str, size: tuple[int, int] = (4, 3)) -> Callable:
    def check(d: Path, r: Result) -> None:
        with Image.open(d / name) as im:
            assert im.format == fmt and im.size == size
            if fmt == "JPEG":  # alpha composited on white: the transparent half reads white
                assert im.mode == "RGB" and np.asarray(im)[0, 0].min() > 240
            if fmt in ("PNG", "WEBP"):
                assert np.array_equal(np.asarray(im.convert("RGBA")), RGBA)

    return check


RGBA = np.zeros((3, 4, 4), np.uint8)
RGBA[:, 2:] = (10, 200, 30, 255)  # left half transparent
NAN = "{d}/nan.py:build"
NET = "{d}/net.py:build"


def models(d: Path) -> None:
    (d / "net.py").write_text(MARKER_NET)
    (d / "nan.py").write_text(NAN_NET)
    (d / "flat.py").write_text(FLAT_NET)


def not_loaded(d: Path, r: Result) -> None:
    assert not (d / "imported").exists(), "the model was loaded before --out was checked"


def killed_mid_write(d: Path) -> None:
    (d / "out.png").write_bytes(b"old")
    script = (
        "import os, sys; import viz3d.files as f; os.replace = lambda *a: os._exit(9); "
        "f.atomic_write_bytes(sys.argv[1], b'new')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, str(d / "out.png")], env=env, check=False)
    assert done.returncode == 9
    (left,) = temps(d)
    assert left.startswith(".out.png.viz3d-tmp-") and (d / "out.png").read_bytes() == b"old"
    # Others' temporaries: a live process's (pid 1), another file's, and an old one of pid 1.
    (d / ".out.png.viz3d-tmp-1-0000aaaa").write_bytes(b"live")
    (d / ".other.png.viz3d-tmp-999999999-0000bbbb").write_bytes(b"other file")
    (d / ".out.png.viz3d-tmp-1-0000cccc").write_bytes(b"old")
    os.utime(d / ".out.png.viz3d-tmp-1-0000cccc", (time.time() - 3 * 86400,) * 2)


def stale_cleaned(d: Path, r: Result) -> None:
    assert (d / "out.png").read_bytes() == b"new"
    assert temps(d) == [".other.png.viz3d-tmp-999999999-0000bbbb", ".out.png.viz3d-tmp-1-0000aaaa"]


def nonfinite_stats(d: Path, r: Result) -> None:
    conv = {s.name: s for s in r.value}["0"]
    assert conv.nonfinite_channels == [0, 1] and (conv.nan_count, conv.inf_count) == (64, 64)
    assert conv.dead_channels == [] and conv.saturated_channels == []  # once: NaN "dead", Inf "saturated"
    assert "non-finite values: 128 (64 NaN, 64 Inf) in 2 channels" in conv.flags
    assert "non-finite weights: 6" in conv.flags
    json.dumps([s.to_dict() for s in r.value], allow_nan=False)


def strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def strict_json(d: Path, r: Result) -> None:
    layers = {s["name"]: s for s in strict(r.out)["layers"]}
    assert layers["0"]["nonfinite_channels"] == [0, 1] and layers["0"]["nan_count"] == 64
    assert any(f.startswith("non-finite values: 128") for f in layers["0"]["flags"])


def overflow_json(d: Path, r: Result) -> None:
    layers = {s["name"]: s for s in strict(r.out)["layers"]}
    assert layers["0"]["act_std"] is None  # float32 std of ±3e38 overflows: null, not Infinity


def table_shows(d: Path, r: Result) -> None:
    assert "NaN/Inf" in r.out and "128" in r.out and "non-finite" in r.out
    assert r.err.strip().endswith("layers, 2 flagged")


def overlay_outlines(d: Path) -> Any:
    from viz3d.layout import layout_trace
    from viz3d.layout.charts import NONFINITE_RGBA, health_overlay

    model = load_model_spec(f"{d}/nan.py:build")
    trace = capture(model, torch.rand(1, 3, 8, 8))
    stats = {s.id: s for s in layer_statistics(trace)}
    overlay = health_overlay(layout_trace(trace), trace.nodes, stats, activations=True)
    return int(np.all(overlay.segment_rgba == NONFINITE_RGBA, axis=1).sum())


def flat_graph(d: Path) -> Any:
    trace = capture(load_model_spec(f"{d}/flat.py:build"), torch.rand(1, 3, 8, 8))
    tracemalloc.start()
    graph = export_graph(trace, d / "flat.svg")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return graph, peak


def flat_folded(d: Path, r: Result) -> None:
    graph, peak = r.value
    assert [n.count for n in graph.nodes] == [1, 1, 400] and graph.nodes[2].period == 2
    assert graph.nodes[2].label == "1 .. 800 (x400)" and graph.nodes[2].detail == "Conv2d+ReLU | 4x8x8"
    assert (d / "flat.svg").stat().st_size < 20_000 and peak < 64 * 2**20  # loosely: 802 boxes took gigabytes


def jpeg_render(d: Path, r: Result) -> None:
    assert (d / "x.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(d / "x.jpg") as im:
        assert im.format == "JPEG" and im.mode == "RGB" and im.size == (96, 64)


def period_three(d: Path) -> Any:
    blocks = [m for _ in range(50) for m in (nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.ReLU())]
    return build_graph(capture(nn.Sequential(nn.Conv2d(3, 4, 1), *blocks, nn.Flatten()), torch.rand(1, 3, 4, 4)))


# --- the table ---------------------------------------------------------------------------

CASES = [
    # Input images: scaled by their real bit depth, never clipped in silence.
    Case("16-bit grey PNG /65535", load("g16.png"), outcome=pixels(lambda d: GREY16 / 65535.0), setup=images),
    Case("16-bit grey TIFF /65535", load("g16.tiff"), outcome=pixels(lambda d: GREY16 / 65535.0), setup=images),
    Case(
        "16-bit grey PNG resized, not clipped",
        lambda d: load_input(str(d / "g16.png"), default_model()),
        outcome=lambda d, r: r.value.shape == (1, 3, 64, 64) and 0.4 < float(r.value.mean()) < 0.6,
        setup=images,
    ),
    Case(
        "16-bit colour PNG: 8-bit precision, scale kept",
        load("rgb16.png"),
        outcome=pixels(lambda d: np.load(d / "rgb16.npy").transpose(2, 0, 1) / 65535.0, atol=1 / 255 + 1e-6),
        setup=images,
    ),
    Case(
        "float TIFF in [0, 1] as it is",
        load("f01.tiff"),
        outcome=pixels(lambda d: np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)),
        setup=images,
    ),
    Case(
        "float TIFF out of [0, 1] by its range, said",
        load("f1000.tiff"),
        outcome=pixels(lambda d: np.linspace(0, 1, 64).reshape(8, 8), atol=1e-5, warns="span [-200, 800]"),
        setup=images,
    ),
    Case("float TIFF with NaN refused", load("fnan.tiff"), error="1 NaN or infinite pixels", setup=images),
    Case(
        "32-bit integer TIFF by its range, said",
        load("i32.tiff"),
        outcome=pixels(lambda d: np.arange(64).reshape(8, 8) / 63.0, atol=1e-6, warns="integer values span"),
        setup=images,
    ),
    Case("1-bit PNG", load("bit1.png"), outcome=pixels(lambda d: np.eye(8)), setup=images),
    Case("palette PNG", load("pal.png"), outcome=pixels(pil_rgb("pal.png")), setup=images),
    Case("CMYK JPEG", load("cmyk.jpg"), outcome=pixels(pil_rgb("cmyk.jpg")), setup=images),
    Case(
        "RGBA on white",
        load("rgba.png"),
        outcome=pixels(lambda d: np.concatenate([np.ones((3, 4, 8)) * [[[1]], [[0]], [[0]]], np.ones((3, 4, 8))], 1)),
        setup=images,
    ),
    Case(
        "LA on white",
        load("la.png"),
        outcome=pixels(lambda d: np.concatenate([np.full((8, 4), 40 / 255), np.ones((8, 4))], 1)),
        setup=images,
    ),
    Case("truncated PNG", load("cut.png"), error="cannot read input image", setup=images),
    Case("text file named .png", load("notes.png"), error="save it as one of those", setup=images),
    Case(
        "EXIF orientation applied", load("exif.png"), outcome=lambda d, r: r.value.shape == (1, 3, 8, 4), setup=images
    ),
    Case(
        "decompression bomb (over 2x limit)",
        load("bomb.png"),
        error="over Pillow's safety limit",
        setup=huge_png(20000),
    ),
    Case("decompression bomb (over the limit)", load("bomb.png"), error="100,000,000 pixels", setup=huge_png(10000)),
    Case(
        "CLI inspect a bomb",
        ("inspect", "--input", "{d}/bomb.png"),
        error="downscale it first",
        setup=huge_png(20000),
    ),
    # Output files: through links, modes kept, nothing but regular files replaced.
    Case(
        "symlink written through",
        lambda d: atomic_write_bytes(d / "link.bin", b"new"),
        outcome=lambda d, r: written("real.bin", b"new")(d, r) or written("link.bin", b"new", link_to="real.bin")(d, r),
        setup=steps(write("real.bin"), link("link.bin", "real.bin")),
    ),
    Case(
        "chain of symlinks written through",
        lambda d: atomic_write_bytes(d / "l2", b"new"),
        outcome=lambda d, r: (
            written("l1", b"new", link_to="sub/real.bin")(d, r) or written("l2", b"new", link_to="l1")(d, r)
        ),
        setup=steps(write("sub/real.bin"), link("l1", "sub/real.bin"), link("l2", "l1")),
    ),
    Case(
        "dangling symlink creates its target",
        lambda d: atomic_write_bytes(d / "link.bin", b"new"),
        outcome=written("link.bin", b"new", link_to="made.bin"),
        setup=link("link.bin", "made.bin"),
    ),
    Case(
        "0600 file stays 0600",
        lambda d: atomic_write_bytes(d / "secret.bin", b"new"),
        outcome=written("secret.bin", b"new", mode=0o600),
        setup=write("secret.bin", mode=0o600),
    ),
    Case(
        "0751 file stays 0751",
        lambda d: atomic_write_bytes(d / "tool.bin", b"new"),
        outcome=written("tool.bin", b"new", mode=0o751),
        setup=write("tool.bin", mode=0o751),
    ),
    Case(
        "new file gets 0666 minus the umask",
        lambda d: atomic_write_bytes(d / "new.bin", b"new"),
        outcome=lambda d, r: written("new.bin", b"new", mode=0o666 & ~UMASK)(d, r),
    ),
    Case(
        "FIFO refused",
        lambda d: atomic_write_bytes(d / "pipe", b"x"),
        error="is a FIFO",
        setup=fifo("pipe"),
        keep=("pipe",),
    ),
    Case(
        "/dev/null refused",
        lambda d: atomic_write_bytes("/dev/null", b"x"),
        error="character device",
        keep=("/dev/null",),
    ),
    Case(
        "socket refused",
        lambda d: atomic_write_bytes(d / "sock", b"x"),
        error="is a socket",
        setup=unix_socket,
        keep=("sock",),
    ),
    Case("folder refused", lambda d: atomic_write_bytes(d / "sub", b"x"), error="is a folder", setup=write("sub/a")),
    Case("trailing slash refused", lambda d: save_png(RGBA, f"{d}/new/"), error="is a folder"),
    Case(
        "hard link refused",
        lambda d: atomic_write_bytes(d / "a.bin", b"new"),
        error="1 other hard link(s)",
        setup=steps(write("a.bin"), lambda d: os.link(d / "a.bin", d / "b.bin")),
        keep=("a.bin", "b.bin"),
    ),
    Case(
        "symlink to a FIFO refused",
        lambda d: atomic_write_bytes(d / "link", b"x"),
        error="(where the link",
        setup=steps(fifo("pipe"), link("link", "pipe")),
        keep=("pipe", "link"),
    ),
    Case(
        "symlink loop",
        lambda d: atomic_write_bytes(d / "l1", b"x"),
        error="symbolic links",
        setup=steps(link("l1", "l2"), link("l2", "l1")),
        keep=("l1", "l2"),
    ),
    Case("missing folder", lambda d: save_png(RGBA, d / "no" / "x.png"), error="does not exist; create it first"),
    Case(
        "read-only file refused",
        lambda d: atomic_write_bytes(d / "ro.bin", b"new"),
        error="is read-only",
        setup=write("ro.bin", mode=0o444),
        keep=("ro.bin",),
        as_user=True,
    ),
    Case(
        "read-only folder refused",
        lambda d: atomic_write_bytes(d / "ro" / "old.png", b"new"),
        error="is not writable",
        setup=read_only_folder,
        keep=("ro/old.png",),
        as_user=True,
    ),
    Case(
        "killed write: temp named, cleaned next time",
        lambda d: atomic_write_bytes(d / "out.png", b"new"),
        outcome=stale_cleaned,
        setup=killed_mid_write,
    ),
    # Formats: the bytes match the extension.
    Case(
        "save_image .jpg is JPEG on white", lambda d: save_image(RGBA, d / "x.jpg"), outcome=image_file("x.jpg", "JPEG")
    ),
    Case("save_image .JPEG is JPEG", lambda d: save_image(RGBA, d / "x.JPEG"), outcome=image_file("x.JPEG", "JPEG")),
    Case(
        "save_image .webp is lossless WebP",
        lambda d: save_image(RGBA, d / "x.webp"),
        outcome=image_file("x.webp", "WEBP"),
    ),
    Case("save_png .jpg writes JPEG", lambda d: save_png(RGBA, d / "x.jpg"), outcome=image_file("x.jpg", "JPEG")),
    Case("save_png .png", lambda d: save_png(RGBA, d / "x.png"), outcome=image_file("x.png", "PNG")),
    Case(
        "save_image .tiff refused",
        lambda d: save_image(RGBA, d / "x.tiff"),
        error="a .tiff file is not a format",
        setup=write("x.tiff"),
        keep=("x.tiff",),
    ),
    Case(
        "no extension refused",
        lambda d: check_output_path(d / "frame", IMAGE_FORMATS),
        error="a name without an extension",
    ),
    # The command line checks --out before any work (the marker model would leave a file when loaded).
    Case(
        "CLI render .gif",
        ("render", "--model", NET, "--out", "{d}/x.gif"),
        error="use a .png, .jpg, .jpeg or .webp name",
        setup=models,
        outcome=not_loaded,
    ),
    Case(
        "CLI render missing folder",
        ("render", "--model", NET, "--out", "{d}/no/x.png"),
        error="does not exist",
        setup=models,
        outcome=not_loaded,
    ),
    Case(
        "CLI render read-only folder",
        ("render", "--model", NET, "--out", "{d}/ro/old.png"),
        error="is not writable",
        setup=steps(models, read_only_folder),
        outcome=not_loaded,
        keep=("ro/old.png",),
        as_user=True,
    ),
    Case(
        "CLI render FIFO",
        ("render", "--model", NET, "--out", "{d}/pipe.png"),
        error="is a FIFO",
        setup=steps(models, fifo("pipe.png")),
        keep=("pipe.png",),
        outcome=not_loaded,
    ),
    Case(
        "CLI render /dev/null",
        ("render", "--model", NET, "--out", "/dev/null"),
        error="character device",
        setup=models,
        keep=("/dev/null",),
        outcome=not_loaded,
    ),
    Case(
        "CLI render folder",
        ("render", "--model", NET, "--out", "{d}"),
        error="is a folder",
        setup=models,
        outcome=not_loaded,
    ),
    Case("CLI demo .bmp", ("demo", "--offscreen", "--out", "{d}/x.bmp"), error="a .bmp file is not a format"),
    Case(
        "CLI graph .gif",
        ("graph", NET, "--out", "{d}/g.gif"),
        error="use a .svg, .png or .pdf name",
        setup=models,
        outcome=not_loaded,
    ),
    Case(
        "CLI graph read-only folder",
        ("graph", NET, "--out", "{d}/ro/g.svg"),
        error="is not writable",
        setup=steps(models, read_only_folder),
        outcome=not_loaded,
        as_user=True,
    ),
    Case(
        "CLI graph through a symlink",
        ("graph", NET, "--input", "random", "--out", "{d}/link.svg"),
        outcome=lambda d, r: os.readlink(d / "link.svg") == "real.svg" and (d / "real.svg").read_text().startswith("<"),
        setup=steps(models, write("real.svg"), link("link.svg", "real.svg")),
    ),
    # Non-finite activations: flagged as such, strict JSON.
    Case(
        "NaN/Inf channels are non-finite, not dead or saturated",
        lambda d: layer_statistics(capture(load_model_spec(f"{d}/nan.py:build"), torch.rand(1, 3, 8, 8))),
        outcome=nonfinite_stats,
        setup=models,
    ),
    Case(
        "CLI inspect --json is strict JSON",
        ("inspect", NAN, "--input", "random", "--json"),
        outcome=strict_json,
        setup=models,
    ),
    Case(
        "CLI inspect --json overflow is null",
        ("inspect", "{d}/nan.py:huge", "--input", "random", "--json"),
        outcome=overflow_json,
        setup=models,
    ),
    Case(
        "CLI inspect table shows non-finite", ("inspect", NAN, "--input", "random"), outcome=table_shows, setup=models
    ),
    Case(
        "health overlay outlines non-finite channels",
        overlay_outlines,
        outcome=lambda d, r: r.value == 16,
        setup=models,
    ),
    # A flat Sequential folds by repeated sequences.
    Case("801-layer flat Sequential folds to 3 boxes", flat_graph, outcome=flat_folded, setup=models),
    Case(
        "CLI graph 801-layer flat Sequential",
        ("graph", "{d}/flat.py:build", "--input", "random", "--out", "{d}/flat.svg"),
        outcome=lambda d, r: "3 nodes (1 folded runs)" in r.err and "group depth" not in r.err,
        setup=models,
    ),
    Case(
        "period-3 run folds",
        period_three,
        outcome=lambda d, r: (
            [(n.count, n.period, n.op) for n in r.value.nodes][2] == (50, 3, "Conv2d+BatchNorm2d+ReLU")
        ),
    ),
]
GL_CASES = [
    Case(
        "CLI render .jpg is JPEG",
        ("render", "--size", "96x64", "--ssaa", "1", "--input", "random", "--out", "{d}/x.jpg"),
        outcome=jpeg_render,
    ),
]
UMASK = os.umask(0o022)
os.umask(UMASK)


@pytest.fixture
def case_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private to root, and some rows run as nobody.
    d = Path(tempfile.mkdtemp(prefix="viz3d-bad-input-", dir="/tmp"))
    os.chmod(d, 0o777)
    yield d
    for p in d.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            os.chmod(p, 0o755)
    shutil.rmtree(d)


def run(case: Case, d: Path, capsys: pytest.CaptureFixture[str]) -> Result:
    result = Result()
    with warnings.catch_warnings(record=True) as caught, as_nobody() if case.as_user else nullcontext():
        warnings.simplefilter("always")
        if isinstance(case.call, tuple):
            argv = [a.replace("{d}", str(d)) for a in case.call]
            capsys.readouterr()
            result.code = main(argv)
            result.out, result.err = capsys.readouterr()
        elif case.error is not None:
            with pytest.raises(Viz3dError) as exc:
                case.call(d)
            result.err = str(exc.value)
        else:
            result.value = case.call(d)
    result.warned = tuple(str(w.message) for w in caught if issubclass(w.category, Viz3dWarning))
    return result


@pytest.mark.parametrize(
    "case", [*CASES, *(pytest.param(c, marks=pytest.mark.gl) for c in GL_CASES)], ids=lambda c: c.name
)
def test_bad_input(case: Case, case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if case.setup is not None:
        case.setup(case_dir)
    before = {k: snapshot(case_dir / k) for k in case.keep}
    r = run(case, case_dir, capsys)
    assert "Traceback" not in r.err
    if isinstance(case.call, tuple):
        lines = r.err.strip().splitlines()
        if case.error is not None:
            assert r.code == 2 and len(lines) == 1 and lines[0].startswith("viz3d: "), r.err
        else:
            assert r.code == 0 and all(line.startswith("viz3d: ") for line in lines), r.err
    if case.error is not None:
        assert "\n" not in r.err.strip() and case.error in r.err, r.err
    for k, snap in before.items():
        assert snapshot(case_dir / k) == snap, f"{k} changed"
    if case.outcome is not None:
        assert case.outcome(case_dir, r) is not False
