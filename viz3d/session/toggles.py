"""The session's switches: colormap, normalization, layout mode and the overlays (GL-free).

Mixed into :class:`~viz3d.session.session.Session`: each is one option
change through ``update`` (which emits what it affects) and, where the
change is not visible by itself, a status message.
"""

from __future__ import annotations

from collections.abc import Callable

from viz3d.scene.camera import OrbitCamera
from viz3d.scene.colormaps import COLORMAPS
from viz3d.scene.normalization import NORMALIZATIONS
from viz3d.session.options import ViewOptions
from viz3d.session.views import VIEWS


class Toggles:
    """Option switches; needs ``options``, ``update``, ``say``, ``flagged_layers``, ``fly_to``, ``home_camera``."""

    options: ViewOptions
    update: Callable[..., None]
    say: Callable[[str], None]
    flagged_layers: Callable[[], list[str]]
    fly_to: Callable[..., None]
    home_camera: Callable[[], OrbitCamera]

    def cycle_colormap(self) -> None:
        i = COLORMAPS.index(self.options.colormap)
        self.update(colormap=COLORMAPS[(i + 1) % len(COLORMAPS)])

    def cycle_normalization(self) -> None:
        """Next normalization; in the weights view, per-filter ↔ shared ranges of colour filters."""
        if not VIEWS[self.options.show].uses_input:
            self.update(shared_filter_range=not self.options.shared_filter_range)
            shared = self.options.shared_filter_range
            self.say("colour filters: " + ("one range for the layer" if shared else "one range per filter"))
            return
        i = NORMALIZATIONS.index(self.options.normalization)
        self.update(normalization=NORMALIZATIONS[(i + 1) % len(NORMALIZATIONS)])

    def toggle_layout_mode(self) -> None:
        """Tile ↔ volume mode; the camera frames the new arrangement."""
        self.update(layout_mode="volume" if self.options.layout_mode == "tile" else "tile")
        self.say(f"{self.options.layout_mode} mode")
        self.fly_to(self.home_camera())

    def toggle_labels(self) -> None:
        self.update(labels=not self.options.labels)

    def toggle_stats(self) -> None:
        self.update(stats=not self.options.stats)
        if self.options.stats:
            flagged = self.flagged_layers()
            self.say(f"statistics: {len(flagged)} layers flagged" + (f" ({', '.join(flagged[:4])})" if flagged else ""))

    def toggle_minimap(self) -> None:
        self.update(minimap=not self.options.minimap)

    def toggle_help(self) -> None:
        self.update(help=not self.options.help)

    def toggle_hud(self) -> None:
        self.update(hud=not self.options.hud)

    def toggle_presenter(self) -> None:
        """Presenter mode: no HUD, minimap or help, large text; Q asks before quitting."""
        self.update(present=not self.options.present)
        self.say("presenter mode (F5: back)" if self.options.present else "presenter mode off")
