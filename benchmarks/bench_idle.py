"""Idle viewer benchmark: CPU used by a window that nobody touches, against vispy's own event loop.

Both runs open the same viewer on the default network under Xvfb and sit for
``--seconds`` with nothing moving; the CPU time of the process is read from
/proc before and after. ``viz3d`` is the window's own loop (waits in
``glfw.wait_events_timeout``); the baseline is ``vispy.app.run()``, which polls
glfw without waiting (what the viewer used before). Target: <= 1 % of a core.

Run: ``python benchmarks/bench_idle.py`` (needs Xvfb: apt-get install xvfb)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

SCRIPT = """
import sys, torch
from vispy import app
from viz3d.app.window import ViewerWindow
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.session import Session
session = Session.from_model(default_model(), torch.from_numpy(sample_image(0))[None], size=(1280, 720))
window = ViewerWindow(session, title="idle")
print("ready", flush=True)
if sys.argv[1] == "viz3d":
    window.run()
else:
    window.canvas.show()
    app.run()
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(loop: str, display: str, seconds: float, settle: float = 3.0) -> float:
    """Percent of one core used by the viewer with ``loop`` while idle for ``seconds``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    env["DISPLAY"] = display
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, loop], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the viewer did not start ({loop})")
        time.sleep(settle)  # first frames, shader compilation
        before, t0 = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(seconds)
        used, wall = cpu_seconds(proc.pid) - before, time.perf_counter() - t0
        return 100.0 * used / wall
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if shutil.which("Xvfb") is None:
        print("Xvfb not installed (apt-get install xvfb): nothing measured")
        return
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24"], pass_fds=(write,))
    os.close(write)
    display = ":" + os.read(read, 16).decode().strip()
    try:
        print(f"idle viewer, default network, 1280x720 under Xvfb {display}, {args.seconds:.0f} s with nothing moving")
        ours = idle_cpu("viz3d", display, args.seconds)
        base = idle_cpu("vispy", display, args.seconds)
        print(f"  {'vispy.app.run() (polls; the old loop, baseline)':<58} {base:.1f} % of a core")
        print(f"  {'ViewerWindow.run() (waits for events)':<58} {ours:.2f} % of a core  (target <= 1 %)")
        print(f"  {'ratio':<58} {base / max(ours, 1e-3):.0f}x less CPU")
    finally:
        xvfb.kill()
        xvfb.wait()


if __name__ == "__main__":
    main()
