"""Regenerate viz3d/data/colormaps.npz from matplotlib (dev dependency).

The tables are matplotlib's 256-entry lookup tables as 8-bit RGB, exactly what
``cmap(x, bytes=True)`` returns, so viz3d's heatmaps equal matplotlib's
colours pixel for pixel. (viridis, magma and inferno are CC0; coolwarm is
Kenneth Moreland's diverging map; gray is a linear ramp.)
"""

from pathlib import Path

import matplotlib
import numpy as np

NAMES = ("viridis", "magma", "inferno", "gray", "coolwarm")


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "viz3d" / "data" / "colormaps.npz"
    tables = {}
    for name in NAMES:
        cmap = matplotlib.colormaps[name].resampled(256)
        tables[name] = cmap(np.arange(256), bytes=True)[:, :3].astype(np.uint8)
    np.savez_compressed(out, **tables)
    print(f"wrote {out} ({', '.join(NAMES)})")


if __name__ == "__main__":
    main()
