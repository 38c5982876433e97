"""Every key of the viewer in one table; the help overlay is generated from it (GL-free).

A row says which keys trigger which action, in which camera mode (None: both),
with which modifier held (``Control``: only then; rows come first so Ctrl-S
finds its row before the plain S), and what it does. Slow rows (a re-capture,
a rebuild) make the window draw "working…" before running them. The window dispatches through the table with no per-key
code: an action names a method of the session (or of the front end, for
quitting, screenshots and picking), ``argument`` is passed to it, and held
rows move the camera while the key is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from viz3d.scene.camera import CameraMode


@dataclass(frozen=True)
class KeyBinding:
    """``keys`` (vispy key names) trigger ``action`` (with ``argument``); with Shift, ``shift_action`` when set."""

    keys: tuple[str, ...]
    action: str
    help: str
    mode: CameraMode | None = None  # only in this camera mode
    shift_action: str | None = None
    held: bool = False  # movement keys act while held down
    argument: str | None = None
    modifier: str | None = None  # only with this modifier held (vispy name: "Control")
    slow: bool = False  # may take more than a moment: the window says "working…" first


KEYMAP: tuple[KeyBinding, ...] = (
    KeyBinding(("S",), "save_tour", "save the tour to viz3d-tour.json", modifier="Control"),
    KeyBinding(("Tab",), "toggle_camera_mode", "switch fly / orbit camera"),
    KeyBinding(("W",), "move_forward", "fly forward", mode="fly", held=True),
    KeyBinding(
        ("W",),
        "toggle_view",
        "weights view: filters and weight matrices, and back",
        "orbit",
        argument="weights",
        slow=True,
    ),
    KeyBinding(("S",), "move_back", "fly back", mode="fly", held=True),
    KeyBinding(("A",), "move_left", "fly left", mode="fly", held=True),
    KeyBinding(("D",), "move_right", "fly right", mode="fly", held=True),
    KeyBinding(("E", "Space"), "move_up", "fly up", mode="fly", held=True),
    KeyBinding(("Q", "Control"), "move_down", "fly down", mode="fly", held=True),
    KeyBinding(("Q",), "quit", "quit (press twice: the first press asks)", mode="orbit"),
    KeyBinding(("Shift",), "fast", "hold: fly fast", mode="fly", held=True),
    KeyBinding(("/",), "open_search", "search layers by name or type (l3 conv2): arrows choose, Enter flies there"),
    KeyBinding(("F",), "fly_to_cursor", "fly to the layer or tile under the cursor (or double-click)"),
    KeyBinding(("Home",), "home", "back to the overview, or the tour's first stop (stepping starts again)"),
    KeyBinding(("PageDown", "Right", "Down"), "next_layer", "next layer, or next tour stop (presentation clicker)"),
    KeyBinding(("PageUp", "Left", "Up"), "previous_layer", "previous layer, or previous tour stop"),
    KeyBinding(
        ("T",), "add_tour_stop", "add the view as a tour stop (Shift: remove the last)", shift_action="remove_tour_stop"
    ),
    KeyBinding(("Space",), "toggle_tour_playback", "play or pause the tour", mode="orbit"),
    KeyBinding(("F5",), "toggle_presenter", "presenter mode: no HUD, minimap or help; large text"),
    KeyBinding(("C",), "cycle_colormap", "cycle colormaps"),
    KeyBinding(("N",), "cycle_normalization", "cycle normalization: layer / channel / global"),
    KeyBinding(("V",), "toggle_layout_mode", "switch tile mode / volume mode", slow=True),
    KeyBinding(("L",), "toggle_labels", "show or hide layer labels"),
    KeyBinding(("B",), "toggle_stats", "histograms under each slab, flagged channels outlined"),
    KeyBinding(("M",), "toggle_minimap", "show or hide the minimap (click a node to fly there)"),
    KeyBinding(
        ("O",),
        "toggle_block_at_cursor",
        "open the folded block under the cursor in place (Shift, or on a layer of an opened block: close it)",
        shift_action="close_block_at_cursor",
        slow=True,
    ),
    KeyBinding(("G",), "toggle_folding", "fold modules into blocks (group depth) and back", slow=True),
    KeyBinding(("P",), "screenshot", "save a screenshot PNG (Shift: twice the size)", shift_action="screenshot_2x"),
    KeyBinding(("I",), "next_input", "next input (re-capture, view kept)", slow=True),
    KeyBinding(("J",), "toggle_input_picture", "input: true-colour picture / per-channel heatmaps"),
    KeyBinding(("K",), "save_camera", "save the camera to viz3d-camera.json"),
    KeyBinding(("H", "F1"), "toggle_help", "show or hide this help"),
    KeyBinding(
        ("X",),
        "cycle_explain_view",
        "explain: gradients / attribution / Grad-CAM / activations (of the target); Shift: feature visualization "
        "of the selected channel",
        shift_action="start_feature_vis",
        slow=True,
    ),
    KeyBinding(
        ("U",),
        "target_selection",
        "explain the selected unit or class (Shift: the predicted class)",
        shift_action="target_prediction",
        slow=True,
    ),
    KeyBinding(("R",), "toggle_pin_ranges", "pinned maps: one shared colorbar / a colorbar each"),
    KeyBinding(("Z",), "toggle_difference", "difference (viz3d diff): activations b - a / weights b - a", slow=True),
    KeyBinding(("Escape",), "clear_selection", "clear the selection and pinned maps (closes help)"),
    KeyBinding(
        (",",),
        "previous_snapshot",
        "training timeline: one snapshot back (Shift: the first)",
        shift_action="first_snapshot",
    ),
    KeyBinding(
        (".",), "next_snapshot", "training timeline: one snapshot on (Shift: the newest)", shift_action="last_snapshot"
    ),
    KeyBinding(("Y",), "toggle_timeline_playback", "training timeline: play or pause (filters forming)"),
)
MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("drag", "orbit: rotate around the pivot; fly: look around"),
    ("right-drag / Shift-drag", "pan"),
    ("scroll", "orbit: zoom toward the cursor; fly: change speed"),
    ("click", "select a feature map (inset panel)"),
    ("Shift-click", "pin a feature map to compare (up to 8, again: unpin)"),
    ("double-click", "fly to what is under the cursor"),
)


def binding_for(
    key: str, mode: CameraMode, shift: bool = False, table: Sequence[KeyBinding] = KEYMAP, control: bool = False
) -> tuple[KeyBinding, str] | None:
    """The binding of a key press in camera ``mode`` and the action it triggers, or None when unbound."""
    for b in table:
        if b.modifier == "Control" and not control:
            continue
        if key in b.keys and b.mode in (None, mode):
            return b, (b.shift_action if (shift and b.shift_action) else b.action)
    return None


def help_lines(table: Sequence[KeyBinding] = KEYMAP) -> list[tuple[str, str]]:
    """(keys, description) rows for the help overlay: every binding and mouse gesture."""
    rows = []
    for b in table:
        keys = (f"{b.modifier}+" if b.modifier else "") + " / ".join(b.keys) + (f" ({b.mode})" if b.mode else "")
        rows.append((keys, b.help))
    return rows + list(MOUSE_HELP)
