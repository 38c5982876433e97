"""Gradient, attribution and Grad-CAM views (issue 16, items 1-3 and 6)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch
from models import TinyInception, TinyResNet, TinyViT
from test_input_picture import input_slab_pixels
from torch import nn

import viz3d
from viz3d.capture.gradients import Target, explain
from viz3d.cli import main
from viz3d.errors import Viz3dError
from viz3d.renderer.layer_textures import layer_display_range
from viz3d.scene.colormaps import colormap_lut, lut_index
from viz3d.scene.keymap import KEYMAP
from viz3d.scene.normalization import ChannelStats
from viz3d.session import Session, ViewOptions
from viz3d.session.explain_views import OVERLAY_ALPHA, grad_cam, has_map


def reference_gradients(model: nn.Module, x: torch.Tensor, score_of: Any) -> dict[nn.Module, torch.Tensor]:
    """d score / d output of every leaf module, one forward and backward per module (as per-layer tools do)."""
    out: dict[nn.Module, torch.Tensor] = {}
    for module in [m for m in model.modules() if not list(m.children())]:
        seen: dict[nn.Module, torch.Tensor] = {}

        def keep(m: nn.Module, args: Any, output: torch.Tensor, seen: dict = seen) -> torch.Tensor:
            seen[m] = output
            return output.clone()  # later in-place ops change the copy, not the output asked about

        handles = [m.register_forward_hook(keep) for m in model.modules() if not list(m.children())]
        result = model(x.clone().requires_grad_(True))
        for h in handles:
            h.remove()
        (grad,) = torch.autograd.grad(score_of(result, seen), seen[module], allow_unused=True)
        out[module] = torch.zeros_like(seen[module]) if grad is None else grad
    return out


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_gradients_equal_autograd_for_every_layer_of_a_resnet(method: str) -> None:
    torch.manual_seed(0)
    model = TinyResNet().eval()
    x = torch.rand(2, 3, 16, 16)
    e = explain(model, x, method=method, batch_index=1)
    assert e.trace.method == method
    with torch.no_grad():
        logits = model(x)[1]
    predicted = int(logits.argmax())
    assert e.target.class_index == predicted and e.score == pytest.approx(float(logits[predicted]), abs=1e-5)
    ref = reference_gradients(model, x, lambda out, seen: out[1, predicted])
    checked = 0
    for node in e.trace.nodes:
        if node.module in ref:
            want = ref[node.module][1].flatten()
            got = e.gradients[node.id].flatten()[: want.numel()]  # vectors are padded to a grid of cells
            assert torch.allclose(got, want, atol=1e-6), node.name
            checked += 1
    assert checked >= 9  # every conv, the stem's BN and ReLU, the classifier


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_gradients_of_a_unit_equal_autograd_on_an_inception_block(method: str) -> None:
    torch.manual_seed(1)
    model = TinyInception().eval()
    x = torch.rand(1, 3, 12, 12)
    target = Target(unit="b2b", channel=3, position=(5, 7))
    e = explain(model, x, target, method=method)
    ref = reference_gradients(model, x, lambda out, seen: seen[model.b2b][0, 3, 5, 7])
    for node in e.trace.nodes:
        if node.module in ref:
            assert torch.allclose(e.gradients[node.id], ref[node.module][0], atol=1e-6), node.name
    by_name = {n.name: n.id for n in e.trace.nodes}
    assert float(e.gradients[by_name["b1"]].abs().max()) == 0  # a parallel branch the unit does not see
    assert float(e.gradients[by_name["b2a"]].abs().max()) > 0


def test_the_model_is_left_untouched() -> None:
    model = TinyResNet().train()
    before = copy.deepcopy(model.state_dict())
    x = torch.rand(2, 3, 16, 16)
    explain(model, x)
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BatchNorm statistics too
    assert all(p.grad is None for p in model.parameters())
    assert not x.requires_grad and torch.is_grad_enabled()


def test_token_grids_get_gradients_through_the_same_display() -> None:
    model = TinyViT().eval()
    e = explain(model, torch.rand(1, 3, 16, 16), Target(unit="norm", channel=2))
    norm = next(n for n in e.trace.nodes if n.name == "norm")
    assert norm.display is not None and e.gradients[norm.id].shape == norm.display.shape == (16, 4, 4)
    embed = next(n for n in e.trace.nodes if n.name == "embed")
    assert float(e.gradients[embed.id].abs().sum()) > 0


class Planted(nn.Module):
    """Channel 0 of ``conv`` copies the red channel, channel 1 the green; logit 0 reads only channel 0."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0
            self.conv.weight[1, 1] = 1.0
            self.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.conv(x)), 1))


def planted_input() -> tuple[torch.Tensor, torch.Tensor]:
    """Red only in rows 2..4, columns 4..7 of an 8x8 image; green noise everywhere."""
    x = torch.zeros(1, 3, 8, 8)
    region = torch.zeros(8, 8, dtype=torch.bool)
    region[2:5, 4:8] = True
    x[0, 0][region] = 1.0
    x[0, 1] = torch.rand(8, 8, generator=torch.Generator().manual_seed(0)) * 0.5
    return x, region


def test_grad_cam_of_a_planted_detector_lights_exactly_its_region() -> None:
    x, region = planted_input()
    session = Session.from_model(Planted().eval(), x, options=ViewOptions(show="gradcam", target=0))
    conv = next(n for n in session.trace.nodes if n.name == "conv")
    assert conv.display is not None and conv.display.shape == (1, 8, 8) and conv.display_colormap == "inferno"
    assert torch.equal(conv.display[0] > 0, region)
    # The other class reads the green channel: its map is the noise, over the whole image.
    session.update(target=1)
    conv = next(n for n in session.trace.nodes if n.name == "conv")
    assert conv.display is not None and bool((conv.display[0] > 0).all())


def test_grad_cam_is_relu_of_the_gradient_weighted_channels() -> None:
    a = torch.tensor([[[1.0, -2.0]], [[3.0, 0.5]]])  # 2 channels of 1x2
    g = torch.tensor([[[0.5, 1.5]], [[-1.0, 0.0]]])  # alphas 1.0 and -0.5
    assert torch.equal(grad_cam(a, g), torch.tensor([[0.0, 0.0]]))  # relu(1 - 1.5, -2 - 0.25)
    assert torch.equal(grad_cam(a, -g), torch.tensor([[0.5, 2.25]]))


@pytest.mark.gl
def test_the_grad_cam_overlay_on_the_picture_blends_as_documented(gl: Any) -> None:
    x, region = planted_input()
    options = ViewOptions(show="gradcam", target=0, labels=False, connections=frozenset(), prediction=False)
    session = Session.from_model(Planted().eval(), x, options=options, size=(320, 320))
    node = session.trace.nodes[0]
    assert node.display_rgb and node.display_range == (0.0, 1.0)
    # Documented: t = cam / max(cam); colour = inferno(t); pixel = picture * (1 - a t) + colour * a t.
    cam = x[0, 0].numpy()  # the conv's channel 0 is the red channel, weighted by a positive alpha
    t = cam / cam.max()
    colour = colormap_lut("inferno")[lut_index(t)] / 255.0
    picture = x[0].permute(1, 2, 0).numpy()
    weight = (OVERLAY_ALPHA * t)[..., None]
    expected = picture * (1 - weight) + colour * weight
    assert np.abs(node.display.permute(1, 2, 0).numpy() - expected).max() < 1e-5
    got = input_slab_pixels(session)
    assert np.abs(got - expected * 255).max() <= 1.5  # what reaches the screen, up to 8-bit rounding
    assert np.abs(got[region] - picture[region.numpy()] * 255).max(axis=-1).min() > 20  # every region pixel tinted
    assert np.abs(got[~region] - picture[~region.numpy()] * 255).max() <= 1.5  # the rest shows unchanged


def test_gradient_and_attribution_views_are_diverging_and_centred_per_layer() -> None:
    torch.manual_seed(2)
    model = TinyResNet().eval()
    x = torch.rand(1, 3, 16, 16)
    session = Session.from_model(model, x)
    camera = session.camera
    session.select("b1c2:3:2:2")
    session.update(show="gradients")
    assert session.camera is camera and session.selection is not None  # same shapes: view and selection kept
    e = explain(model, x)
    node = next(n for n in session.trace.nodes if n.name == "b1c2")
    assert node.display_colormap == "coolwarm" and node.display_centred and node.display_norm == "layer"
    assert torch.equal(node.display, e.gradients[node.id])
    d = node.display
    stats = ChannelStats(d.amin((1, 2)).numpy(), d.amax((1, 2)).numpy(), d.mean((1, 2)).numpy(), 0)
    lo, hi = layer_display_range(node, stats, (0.0, 1.0), "viridis", "channel")  # the view's own settings lose
    peak = float(e.gradients[node.id].abs().max())
    assert np.allclose(lo, -peak) and np.allclose(hi, peak)  # one symmetric range for the whole layer
    session.update(show="attribution")
    node = next(n for n in session.trace.nodes if n.name == "b1c2")
    act = next(n for n in session.captured.nodes if n.name == "b1c2").display
    assert torch.allclose(node.display, act * e.gradients[node.id])
    picture = session.trace.nodes[0]
    assert picture.display_rgb and "gradient x input" in picture.display_note


def test_targets_resolve_from_names_units_and_the_keys() -> None:
    x, _ = planted_input()
    session = Session.from_model(Planted().eval(), x, class_names=["red", "green"])
    session.update(show="gradients", target="green")
    assert session.target() == Target(class_index=1)
    session.update(target="conv:1")
    assert session.target() == Target(unit="conv", channel=1)
    with pytest.raises(Viz3dError, match="unknown target 'blue'"):
        session.update(target="blue")
    assert session.options.target == "conv:1"  # a refused target leaves the options as they were
    session.select("conv:0:3:5")
    session.target_selection()
    assert session.options.target == "conv:0" and "conv channel 0" in session.current_message()
    session.target_prediction()
    assert session.options.target is None
    keys = {b.action: b for b in KEYMAP}
    assert keys["cycle_explain_view"].keys == ("X",) and keys["target_selection"].shift_action == "target_prediction"
    assert sum("X" in b.keys for b in KEYMAP) == 1 and sum("U" in b.keys for b in KEYMAP) == 1


def test_x_cycles_the_explaining_views_and_back() -> None:
    x, _ = planted_input()
    session = Session.from_model(Planted().eval(), x)
    shown = []
    for _ in range(4):
        session.cycle_explain_view()
        shown.append(session.options.show)
    assert shown == ["gradients", "attribution", "gradcam", "activations"]
    named = Session.from_model(Planted().eval(), x, class_names=["red", "green"], options=ViewOptions(show="gradcam"))
    assert named.target_words() == "predicted class 1 (green)"  # noise over the image outweighs the red patch
    named.cycle_explain_view()  # back to activations
    named.cycle_explain_view()
    assert "of predicted class 1 (green) = " in named.current_message()


def test_explaining_needs_the_model_and_says_so_in_one_line() -> None:
    x, _ = planted_input()
    session = Session(viz3d.trace(Planted().eval(), x))
    with pytest.raises(Viz3dError, match="needs the model"):
        session.update(show="gradients")
    assert session.options.show == "activations"
    with pytest.raises(Viz3dError, match="classifier output"):
        explain(nn.Conv2d(3, 2, 1), x)
    with pytest.raises(Viz3dError, match="no layer named 'nope'"):
        explain(Planted(), x, Target(unit="nope"))


def test_the_selected_layer_goes_on_the_picture_in_grad_cam() -> None:
    torch.manual_seed(3)
    session = Session.from_model(TinyResNet().eval(), torch.rand(1, 3, 16, 16), options=ViewOptions(show="gradcam"))
    maps = [n.name for n in session.captured.nodes if has_map(n)]
    assert maps[-1] == "relu_3" and "of relu_3 on" in session.trace.nodes[0].display_note  # the last block's output
    session.select("b1c1:0:1:1")
    assert "b1c1" in session.trace.nodes[0].display_note


@pytest.mark.gl
def test_render_and_the_command_line_show_the_views(gl: Any, tmp_path: Any) -> None:
    x, _ = planted_input()
    model = Planted().eval()
    plain = viz3d.render(model, x, size=(160, 90), ssaa=1)
    cam = viz3d.render(model, x, size=(160, 90), ssaa=1, show="gradcam", target=0)
    assert plain.shape == cam.shape and np.abs(plain.astype(int) - cam.astype(int)).max() > 50
    out = tmp_path / "cam.png"
    code = main(["render", "--show", "gradcam", "--target", "circle", "--out", str(out), "--size", "160x90"])
    assert code == 0 and out.stat().st_size > 0


@pytest.mark.cuda
def test_gradients_on_cuda_equal_the_cpu_ones() -> None:
    torch.manual_seed(4)
    model = TinyResNet().eval()
    x = torch.rand(1, 3, 16, 16)
    cpu = explain(model, x)
    gpu = explain(model.cuda(), x.cuda())
    for node_id, grad in cpu.gradients.items():
        assert gpu.gradients[node_id].is_cuda
        assert torch.allclose(gpu.gradients[node_id].cpu(), grad, atol=1e-4)


class InPlace(nn.Module):
    """torchvision's residual (out += identity, ReLU(inplace=True)), an in-place op on a view, a module run twice."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c1(x)
        out = self.c2(y)
        out += y
        z = out[:, :2]
        z.mul_(2)  # changes out through the view
        out = self.relu(out)
        out = self.relu(self.c2(out))
        return self.fc(out.mean((2, 3)))


def delta_gradients(model: nn.Module, x: torch.Tensor, cls: int) -> dict[tuple[nn.Module, int], torch.Tensor]:
    """d logit / d (each module call's output as it was made): a zero added to each output (independent of viz3d)."""
    calls: dict[nn.Module, int] = {}
    deltas: dict[tuple[nn.Module, int], torch.Tensor] = {}

    def add_delta(m: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        k = calls.get(m, 0)
        calls[m] = k + 1
        deltas[(m, k)] = torch.zeros_like(output, requires_grad=True)
        return output + deltas[(m, k)]

    handles = [m.register_forward_hook(add_delta) for m in model.children()]
    try:
        logit = model(x)[0, cls]
    finally:
        for h in handles:
            h.remove()
    grads = torch.autograd.grad(logit, list(deltas.values()))
    return dict(zip(deltas, grads, strict=True))


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_in_place_ops_views_and_repeated_modules_keep_the_forward_and_every_gradient(method: str) -> None:
    torch.manual_seed(5)
    model = InPlace().eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
    e = explain(model, x, Target(class_index=1), method=method)
    plain = viz3d.trace(model, x, method=method)
    assert [n.name for n in e.trace.nodes] == [n.name for n in plain.nodes]  # the same structure as capture
    assert torch.allclose(e.trace.nodes[-1].tensor, expected, atol=1e-6)  # the forward is the model's own
    assert e.score == pytest.approx(float(expected[0, 1]), abs=1e-6)
    shown = [n for n in e.trace.nodes if n.display is not None]
    assert all(n.id in e.gradients for n in shown)  # every slab has its gradient, in-place or not
    ref = delta_gradients(model, x, 1)
    for node in e.trace.nodes:
        if node.module is None:
            continue
        call = int(node.name.split("#")[1]) - 1 if "#" in node.name else 0
        want = ref[(node.module, call)][0].flatten()
        assert torch.allclose(e.gradients[node.id].flatten()[: want.numel()], want, atol=1e-5), node.name


def test_a_snapshot_s_weights_are_explained_and_the_model_keeps_its_own() -> None:
    torch.manual_seed(6)
    model, other = TinyResNet().eval(), TinyResNet().eval()
    x = torch.rand(1, 3, 16, 16)
    before = copy.deepcopy(model.state_dict())
    saved = {k: v.clone() for k, v in other.state_dict().items() if v.is_floating_point()}
    got = explain(model, x, Target(class_index=2), weights=saved)
    want = explain(other, x, Target(class_index=2))
    assert got.score == pytest.approx(want.score, abs=1e-6)
    assert all(torch.equal(got.gradients[i], want.gradients[i]) for i in want.gradients)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(Viz3dError, match="not in this model"):
        explain(model, x, weights={"nope.weight": torch.zeros(1)})


def test_new_captures_in_an_explaining_view_are_explained_again() -> None:
    torch.manual_seed(7)
    model = TinyResNet().eval()
    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    session = Session.from_model(model, [a, b], options=ViewOptions(show="gradients", target=1))
    first = session.explanation()
    session.next_input()  # a new capture of the same shapes: compared by identity, never by value
    second = session.explanation()
    assert second is not first and second.score == pytest.approx(explain(model, b, Target(class_index=1)).score)
    session.show_trace(viz3d.trace(model, b))  # a training step's capture of the shown input
    third = session.explanation()
    assert third is not second and third.score == pytest.approx(second.score)


def test_a_failed_change_leaves_capture_options_and_view_together() -> None:
    session = Session.from_model(TinyResNet().eval(), torch.rand(1, 3, 16, 16))
    session.update(show="gradients", target="stem.0:1")
    before = [n.name for n in session.captured.nodes]
    with pytest.raises(Viz3dError, match=r"unknown target 'stem\.0:1'"):
        session.update(group_depth=1)  # folded, stem.0 is no layer: the target names nothing
    assert session.options.group_depth is None and [n.name for n in session.captured.nodes] == before
    session.update(show="attribution", layout_mode="volume")  # changed together: both take effect
    assert session.layout.mode == "volume"


def test_u_on_a_cell_of_a_vector_explains_that_cell() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3)).eval()
    session = Session.from_model(model, torch.rand(1, 3, 2, 2), options=ViewOptions(show="gradients"))
    session.select("1:0:1:2")  # the hidden Linear's 16 units as 4x4 cells: unit 6
    session.target_selection()
    assert session.options.target == "1:0:1:2" and session.target() == Target(unit="1", channel=0, position=(1, 2))
    e = session.explanation()
    assert torch.allclose(e.gradients[1].flatten()[:12], model[1].weight[6].detach())  # d unit 6 / d input
