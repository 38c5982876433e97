"""Every key of the viewer in one table; the help overlay is generated from it (numpy-free, GL-free)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyBinding:
    """``keys`` (vispy key names) trigger ``action``; with Shift, ``shift_action`` when set."""

    keys: tuple[str, ...]
    action: str
    help: str
    shift_action: str | None = None
    held: bool = False  # movement keys act while held down


KEYMAP: tuple[KeyBinding, ...] = (
    KeyBinding(("Tab",), "toggle_mode", "switch fly / orbit camera"),
    KeyBinding(("W",), "move_forward", "fly forward (orbit mode: see below)", held=True),
    KeyBinding(("W in orbit mode",), "toggle_weights_view", "weights view: filters and weight matrices, and back"),
    KeyBinding(("S",), "move_back", "fly back", held=True),
    KeyBinding(("A",), "move_left", "fly left", held=True),
    KeyBinding(("D",), "move_right", "fly right", held=True),
    KeyBinding(("E", "Space"), "move_up", "fly up", held=True),
    KeyBinding(("Q", "Control"), "move_down", "fly down (Q quits in orbit mode)", held=True),
    KeyBinding(("Shift",), "fast", "hold: fly fast", held=True),
    KeyBinding(("F",), "fly_to_cursor", "fly to the layer or tile under the cursor (or double-click)"),
    KeyBinding(("Home",), "home", "fly back to the overview"),
    KeyBinding(("PageDown", "Right", "Down"), "next_layer", "next layer (presentation clicker)"),
    KeyBinding(("PageUp", "Left", "Up"), "previous_layer", "previous layer"),
    KeyBinding(("C",), "cycle_colormap", "cycle colormaps"),
    KeyBinding(("N",), "cycle_normalization", "cycle normalization: layer / channel / global"),
    KeyBinding(("V",), "toggle_volume", "switch tile mode / volume mode"),
    KeyBinding(("L",), "toggle_labels", "show or hide layer labels"),
    KeyBinding(("B",), "toggle_stats", "histograms under each slab, flagged channels outlined"),
    KeyBinding(("M",), "toggle_minimap", "show or hide the minimap (click a node to fly there)"),
    KeyBinding(("1",), "toggle_graph", "show or hide the dataflow connections"),
    KeyBinding(("2",), "toggle_rf", "show or hide the selected unit's receptive field"),
    KeyBinding(("3",), "toggle_weights", "show or hide the selected unit's strongest weights"),
    KeyBinding(("G",), "toggle_grouping", "fold modules into blocks (group depth) and back"),
    KeyBinding(("P",), "screenshot", "save a screenshot PNG (Shift: twice the size)", shift_action="screenshot_2x"),
    KeyBinding(("I",), "next_input", "next sample input (re-capture, view kept)"),
    KeyBinding(("K",), "save_camera", "save the camera to viz3d-camera.json"),
    KeyBinding(("H", "F1"), "toggle_help", "show or hide this help"),
    KeyBinding(("Escape",), "clear_selection", "clear the selection (closes help)"),
)
MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("drag", "orbit: rotate around the pivot; fly: look around"),
    ("right-drag / Shift-drag", "pan"),
    ("scroll", "orbit: zoom toward the cursor; fly: change speed"),
    ("click", "select a feature map (inset panel)"),
    ("double-click", "fly to what is under the cursor"),
)


def binding_for(key: str, shift: bool = False) -> str | None:
    """The action of a key press, or None when the key is not bound."""
    for b in KEYMAP:
        if key in b.keys:
            return b.shift_action if (shift and b.shift_action) else b.action
    return None


def held_actions() -> dict[str, str]:
    """Key name → movement action for keys that act while held."""
    return {k: b.action for b in KEYMAP if b.held for k in b.keys}


def help_lines() -> list[tuple[str, str]]:
    """(keys, description) rows for the help overlay: every binding and mouse gesture."""
    rows = [(" / ".join(b.keys), b.help) for b in KEYMAP]
    rows += list(MOUSE_HELP)
    return rows
