"""Recording a tour offscreen: H.264 MP4, GIF or a folder of PNG frames.

Frame ``k`` is the render at tour time ``k / fps`` (the session seeks the
tour there, exactly as the window's playback does), so a recording is
deterministic: the same tour gives the same frames on every run. Every
output is checked before the first frame is drawn, and written atomically
(a failed or interrupted recording leaves nothing half-written at ``out``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from viz3d.capture.budget import available_bytes, size_text
from viz3d.errors import Viz3dError
from viz3d.export.offscreen import OffscreenView
from viz3d.files import atomic_write_bytes, atomic_write_with, check_output_path, save_png
from viz3d.scene.tour import Tour
from viz3d.session.session import Session

RECORD_FORMATS = ("mp4", "gif", "frames")
REFERENCE_HEIGHT = 1080  # lines and labels look the same at any size: 4K draws them twice as wide
VIDEO_EXTRA = "pip install 'viz3d[video]'"
# x264 speed: "veryfast" keeps up with software GL on 2 cores at 1080p; crf 18 keeps the quality.
X264_PRESET = "veryfast"
GIF_BYTES_PER_PIXEL = 2  # the paletted frames kept until the file is written, with Pillow's working copies
ProgressCallback = Callable[[int, int], None]


def record_format(out: str | Path) -> str:
    """``mp4``, ``gif`` or ``frames`` (a folder: a name without an extension, or an existing folder)."""
    p = Path(out)
    suffix = p.suffix.lower().lstrip(".")
    if suffix in ("mp4", "gif"):
        return suffix
    if p.is_dir() or not suffix or str(out).endswith(("/", "\\")):
        return "frames"
    raise Viz3dError(f"cannot record to {out}: name a .mp4 or .gif file, or a folder for PNG frames")


def frame_count(tour: Tour, fps: float) -> int:
    """Frames of a recording: the tour's duration × fps (at least one)."""
    return max(1, round(tour.duration * fps))


def _ffmpeg() -> Any:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise Viz3dError(f"MP4 recording needs imageio-ffmpeg: {VIDEO_EXTRA} (or record a .gif or a folder)") from None
    return imageio_ffmpeg


def check_record_output(out: str | Path, size: tuple[int, int], frames: int) -> str:
    """Check ``out`` before any work: its format, the encoder, the folder, the memory; return the format."""
    fmt = record_format(out)
    w, h = size
    if fmt == "mp4":
        if w % 2 or h % 2:
            raise Viz3dError(f"H.264 needs an even width and height, got {w}x{h}: use e.g. {w + w % 2}x{h + h % 2}")
        check_output_path(out, ("mp4",))
        _ffmpeg()  # last: what the user typed is checked first, whatever is installed
    elif fmt == "gif":
        check_output_path(out, ("gif",))
        need, free = frames * w * h * GIF_BYTES_PER_PIXEL, available_bytes()
        if free is not None and need > 0.5 * free:
            raise Viz3dError(
                f"a GIF of {frames} frames of {w}x{h} needs about {size_text(need)} of memory, {size_text(free)} "
                "is free: record an .mp4, or lower --size or --fps"
            )
    else:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise Viz3dError(f"{out} is a file, not a folder for PNG frames")
        if folder.is_dir() and any(folder.iterdir()):
            raise Viz3dError(f"folder {out} is not empty: record the frames into a new or empty folder")
        if not folder.parent.is_dir():
            raise Viz3dError(f"folder {folder.parent} does not exist: create it first")
    return fmt


def check_tour_spec(tour: Tour | str | Path) -> None:
    """Fail early on a tour that is neither ready-made nor a readable tour file (layer names are checked later)."""
    from viz3d.scene.tour import load_tour
    from viz3d.session.tours import READY_TOURS

    if isinstance(tour, Tour) or (isinstance(tour, str) and tour in READY_TOURS):
        return
    if not str(tour).endswith(".json"):
        raise Viz3dError(f"unknown tour {str(tour)!r}: use {', '.join(READY_TOURS)} or a tour .json file")
    load_tour(tour)


def _frames(
    session: Session, view: OffscreenView, tour: Tour, fps: float, progress: ProgressCallback | None
) -> Iterator[np.ndarray]:
    """Each frame of the tour, rendered as the session shows it at ``k / fps``."""
    total = frame_count(tour, fps)
    for k in range(total):
        session.seek_tour(k / fps)
        yield view.frame(caption=session.caption())
        if progress is not None:
            progress(k + 1, total)


def _write_mp4(frames: Iterator[np.ndarray], path: Path, size: tuple[int, int], fps: float) -> None:
    writer = _ffmpeg().write_frames(
        str(path),
        size,
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=1,  # even sizes suffice for yuv420p; the default would rescale 1080 to 1088
        ffmpeg_log_level="error",
        # The temporary file has no extension: name the container. faststart: plays while it downloads.
        output_params=["-crf", "18", "-preset", X264_PRESET, "-movflags", "+faststart", "-f", "mp4"],
    )
    writer.send(None)
    try:
        for image in frames:
            writer.send(np.ascontiguousarray(image[..., :3]))
    finally:
        writer.close()


def _gif_bytes(frames: Iterator[np.ndarray], fps: float) -> bytes:
    from PIL import Image

    # GIF counts time in hundredths of a second and players stretch anything under 2 of them.
    ms = max(20, round(100 / fps) * 10)
    pictures = [
        Image.fromarray(np.ascontiguousarray(f[..., :3])).quantize(method=Image.Quantize.FASTOCTREE) for f in frames
    ]
    buf = io.BytesIO()
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:], duration=ms, loop=0)
    return buf.getvalue()


def record_tour(
    session: Session,
    tour: Tour | str | Path,
    out: str | Path,
    size: tuple[int, int] = (1920, 1080),
    fps: float = 30,
    ssaa: int = 1,
    pixel_scale: float | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Record ``tour`` (a :class:`Tour`, ``flythrough``, ``orbit`` or a tour file) of ``session`` to ``out``.

    ``out`` ending in ``.mp4`` is H.264 (needs ``viz3d[video]``), ``.gif`` a
    looping GIF, anything else a folder of ``frame-00000.png``... files.
    ``pixel_scale`` (default: height / 1080, at least 1) widens lines and
    labels so a 4K video looks like the 1080p one, sharper. ``progress(done,
    total)`` is called after each frame. Returns ``out``.
    """
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 1 <= fps <= 240:
        raise Viz3dError(f"fps must be a number from 1 to 240, got {fps!r}")
    scale = pixel_scale if pixel_scale is not None else max(1.0, size[1] / REFERENCE_HEIGHT)
    with OffscreenView(session, size, ssaa, pixel_scale=scale) as view:
        loaded = session.load_tour(tour)  # after the view set the aspect: ready-made tours frame for it
        fmt = check_record_output(out, view.size, frame_count(loaded, fps))
        write_frames(_frames(session, view, loaded, fps, progress), out, view.size, fps, fmt)
    return Path(out)


def write_frames(frames: Iterable[np.ndarray], out: str | Path, size: tuple[int, int], fps: float, fmt: str) -> Path:
    """Encode ``frames`` (RGBA images of ``size``, pulled one at a time) to ``out`` in ``fmt`` (checked already).

    Frames are pulled while encoding, so a generator that trains a network
    between frames records the training as it goes.
    """
    frames = iter(frames)
    if fmt == "mp4":
        atomic_write_with(out, lambda tmp: _write_mp4(frames, tmp, size, fps))
    elif fmt == "gif":
        atomic_write_bytes(out, _gif_bytes(frames, fps))
    else:
        folder = Path(out)
        folder.mkdir(exist_ok=True)
        for k, image in enumerate(frames):
            save_png(image, folder / f"frame-{k:05d}.png")
    return Path(out)
