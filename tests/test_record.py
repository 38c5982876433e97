"""``viz3d record``: frames equal offscreen renders at the tour's cameras; MP4, GIF and PNG outputs; bad outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import viz3d
from viz3d.cli import main
from viz3d.errors import Viz3dError
from viz3d.export.offscreen import OffscreenView
from viz3d.export.record import frame_count, record_tour
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.scene.tour import Tour, TourStop
from viz3d.session import Session

pytestmark = pytest.mark.gl
MODEL = default_model()
X = torch.from_numpy(sample_image(1))[None]
SIZE = (160, 90)


def small_tour(session: Session) -> Tour:
    home = session.home_camera()
    near = session.focus_on_slab(session.layout.slab(session.trace.node("conv2").id))
    turned = home.copy()
    turned.azimuth += 70
    return Tour([TourStop(home, 0, 0.2), TourStop(near, 0.6, 0.0), TourStop(turned, 0.5, 0.2)])


def test_recorded_frames_equal_offscreen_renders_at_the_tour_cameras(gl: Any, tmp_path: Path) -> None:
    session = Session.from_model(MODEL, X, size=SIZE)
    tour = small_tour(session)
    fps = 10
    record_tour(session, tour, tmp_path / "frames", SIZE, fps)
    files = sorted((tmp_path / "frames").glob("frame-*.png"))
    assert len(files) == frame_count(tour, fps) == round(tour.duration * fps)
    fresh = Session.from_model(MODEL, X, size=SIZE)
    with OffscreenView(fresh, SIZE) as view:
        for k, path in enumerate(files):
            expected = view.frame(camera=tour.camera_at(k / fps))
            np.testing.assert_array_equal(np.asarray(Image.open(path)), expected, err_msg=path.name)


def test_a_caption_is_drawn_into_the_recorded_frame_and_scales_with_it(gl: Any, tmp_path: Path) -> None:
    session = Session.from_model(MODEL, X, size=SIZE)
    plain = small_tour(session)
    captioned = small_tour(session)
    for stop in captioned.stops:
        stop.caption = "The second block"
    for size, name in (((320, 180), "small"), ((640, 360), "big")):
        record_tour(session, plain, tmp_path / f"{name}-plain", size, 5)
        record_tour(session, captioned, tmp_path / f"{name}-caption", size, 5)
    rows = {}
    for name in ("small", "big"):
        a = np.asarray(Image.open(tmp_path / f"{name}-plain" / "frame-00000.png")).astype(int)
        b = np.asarray(Image.open(tmp_path / f"{name}-caption" / "frame-00000.png")).astype(int)
        changed = np.flatnonzero((np.abs(a - b).sum(-1) > 60).any(axis=1))
        h = a.shape[0]
        assert changed.min() > 0.6 * h and changed.max() < 0.95 * h  # the lower third, nothing else
        rows[name] = (np.abs(a - b).sum(-1) > 60).sum()
    assert 3 < rows["big"] / rows["small"] < 5.5  # twice the frame: text twice as tall and wide


def test_mp4_decodes_with_duration_times_fps_frames_of_the_size(gl: Any, tmp_path: Path) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="needs the video extra: pip install 'viz3d[video]'")
    out = viz3d.record(MODEL, X, out=tmp_path / "talk.mp4", tour="orbit", size=(192, 108), fps=4)
    reader = ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = list(reader)
    assert meta["size"] == (192, 108) and len(frames) == round(16.0 * 4)
    assert not list(tmp_path.glob(".*viz3d-tmp*"))  # written atomically: no temporary left


def test_gif_and_the_command_line(gl: Any, tmp_path: Path) -> None:
    out = tmp_path / "talk.gif"
    args = ["record", "--tour", "orbit", "--size", "96x54", "--fps", "2", "--connections", ""]
    assert main([*args, "--out", str(out)]) == 0
    gif = Image.open(out)
    assert gif.size == (96, 54) and gif.n_frames == 32


def test_bad_outputs_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep")
    cases = [
        (["--out", str(tmp_path / "full")], "not empty"),
        (["--out", str(tmp_path / "talk.avi")], "name a .mp4 or .gif"),
        (["--out", str(tmp_path / "no" / "talk.gif")], "does not exist"),
        (["--out", str(tmp_path / "odd.mp4"), "--size", "101x50"], "even width and height"),
        (["--out", str(tmp_path / "t.gif"), "--tour", str(tmp_path / "missing.json")], "tour file not found"),
    ]
    for extra, says in cases:
        assert main(["record", "--size", "64x36", *extra]) == 2
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, err
    assert (tmp_path / "full" / "x.txt").read_text() == "keep"


def test_mp4_without_the_video_extra_names_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    session = Session.from_model(MODEL, X, size=SIZE)
    with pytest.raises(Viz3dError, match=r"pip install 'viz3d\[video\]'"):
        record_tour(session, "orbit", tmp_path / "talk.mp4", (64, 36), 2)
    assert not (tmp_path / "talk.mp4").exists()
