"""Capture is checked against torch itself."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import viz3d
from tests.models import Broken, DataDependent, TinyDenseNet, TinyInception, TinyResNet, TinyViT, TupleOut
from viz3d.capture import capture
from viz3d.errors import Viz3dError, Viz3dWarning
from viz3d.models.default_net import default_model


def _module_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, list[torch.Tensor]]:
    """Record every leaf module's input with plain hooks: the reference."""
    seen: dict[str, list[torch.Tensor]] = {}
    handles = []
    for name, m in model.named_modules():
        if name and not list(m.children()):
            handles.append(
                m.register_forward_pre_hook(lambda mod, a, name=name: seen.setdefault(name, []).append(a[0].clone()))
            )
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return seen


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_each_activation_equals_calling_the_submodule(method: str) -> None:
    model = default_model()
    x = torch.rand(2, 3, 64, 64)
    trace = capture(model, x, method=method)
    inputs = _module_inputs(model, x)
    checked = 0
    for node in trace:
        base = node.name.split("#")[0]
        if base not in inputs:
            continue
        call = int(node.name.split("#")[1]) - 1 if "#" in node.name else 0
        with torch.no_grad():
            expected = model.get_submodule(base)(inputs[base][call])
        torch.testing.assert_close(node.tensor, expected)
        checked += 1
    assert checked == sum(len(v) for v in inputs.values()) == 20


def test_default_model_graph_has_the_residual_skip() -> None:
    trace = capture(default_model(), torch.rand(1, 3, 64, 64))
    names = [n.name for n in trace]
    assert names[0] == "input" and names[-1] == "fc"
    add = trace.node("add")
    kinds = {(trace.nodes[e.src].name, e.kind) for e in trace.edges if e.dst == add.id}
    assert kinds == {("block.bn2", "merge"), ("pool2", "skip")}
    assert trace.node("conv1").params == 3 * 16 * 25
    assert trace.node("fc").shape == (1, 6)


def test_activations_stay_on_their_device_and_are_detached() -> None:
    model = TinyResNet()
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    trace = capture(model, x)
    for node in trace:
        assert node.tensor is not None and not node.tensor.requires_grad
        assert node.tensor.device == x.device


def test_inplace_relu_does_not_overwrite_the_recorded_input() -> None:
    model = TinyResNet().eval()
    x = torch.randn(1, 3, 16, 16)
    for method in ("fx", "hooks"):
        trace = capture(model, x, method=method)
        bn = trace.node("stem.1").tensor
        assert bn is not None and (bn < 0).any(), f"{method}: BatchNorm output was clamped by the in-place ReLU"


def test_resnet_edges_skip_and_downsample_branch() -> None:
    trace = capture(TinyResNet(), torch.rand(1, 3, 16, 16))
    skips = [(trace.nodes[e.src].name, trace.nodes[e.dst].name) for e in trace.edges if e.kind == "skip"]
    assert ("stem.2", "add") in skips  # identity over block 1
    add_1 = trace.node("add_1")
    srcs = {trace.nodes[s].name for s in trace.parents(add_1.id)}
    assert srcs == {"b2c2", "down"}
    assert trace.nodes[trace.parents(trace.node("down").id)[0]].name == "relu_1"


def test_inception_branches_merge_at_concat() -> None:
    trace = capture(TinyInception(), torch.rand(1, 3, 12, 12))
    cat = trace.node("cat")
    parents = {trace.nodes[p].name for p in trace.parents(cat.id)}
    assert parents == {"b1", "b2b", "b3b", "b4"}
    assert all(e.kind == "merge" for e in trace.edges if e.dst == cat.id)
    assert len(trace.children(trace.node("input").id)) == 4
    assert cat.shape == (1, 15, 12, 12)


def test_densenet_concat_inputs_are_skips() -> None:
    trace = capture(TinyDenseNet(), torch.rand(1, 3, 8, 8))
    cats = [n for n in trace if n.op == "cat"]
    assert len(cats) == 3
    for cat in cats:
        kinds = sorted(e.kind for e in trace.edges if e.dst == cat.id)
        assert kinds == ["merge", "skip"]


def test_untraceable_model_falls_back_to_hooks_once_with_a_warning() -> None:
    model = DataDependent()
    x = torch.rand(1, 3, 8, 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = capture(model, x)
    assert trace.method == "hooks"
    assert len([w for w in caught if issubclass(w.category, Viz3dWarning)]) == 1
    names = [n.name for n in trace]
    assert names == ["input", "a", "b", "add", "c"], names
    add = trace.node("add")
    assert {trace.nodes[p].name for p in trace.parents(add.id)} == {"a", "b"}
    with torch.no_grad():
        a = model.a(x)
        torch.testing.assert_close(trace.node("c").tensor, model.c(model.b(a) + a))


def test_vit_tokens_become_token_grids() -> None:
    model = TinyViT().eval()
    trace = capture(model, torch.rand(1, 3, 16, 16))
    norm = trace.node("norm")
    assert norm.shape == (1, 17, 16)
    assert norm.display is not None and tuple(norm.display.shape) == (16, 4, 4)
    assert "class token" in norm.display_note
    torch.testing.assert_close(norm.display[:, 1, 2], norm.tensor[0, 1 + 1 * 4 + 2])


def test_vectors_become_grids_of_cells() -> None:
    trace = capture(default_model(), torch.rand(1, 3, 64, 64))
    fc = trace.node("fc")
    assert fc.display is not None and tuple(fc.display.shape) == (1, 2, 3)
    torch.testing.assert_close(fc.display.flatten(), fc.tensor[0])


def test_tuple_and_dict_outputs() -> None:
    trace = capture(TupleOut(), torch.rand(1, 3, 8, 8))
    split = trace.node("split")
    assert split.shape == (1, 2, 8, 8) and "2 outputs" in split.display_note
    left, right = trace.node("left"), trace.node("right")
    assert trace.parents(left.id) == [split.id] and trace.parents(right.id) == [split.id]


def test_batch_index_selects_the_sample() -> None:
    x = torch.rand(3, 3, 64, 64)
    trace = capture(default_model(), x, batch_index=2)
    inp = trace.node("input")
    assert inp.display is not None
    torch.testing.assert_close(inp.display, x[2])
    with pytest.raises(Viz3dError, match="batch_index 3 is out of range"):
        capture(default_model(), x, batch_index=3)


def test_group_depth_folds_blocks() -> None:
    model = default_model()
    trace = capture(model, torch.rand(1, 3, 64, 64), group_depth=1)
    block = trace.node("block")
    assert block.op == "ResidualBlock" and block.kind == "block"
    assert block.params == sum(p.numel() for p in model.block.parameters())
    with torch.no_grad():
        torch.testing.assert_close(block.tensor, model.block(trace.node("pool2").tensor))
    assert not any(n.name.startswith("block.") for n in trace)
    hooks = capture(model, torch.rand(1, 3, 64, 64), group_depth=1, method="hooks")
    assert [n.name for n in hooks] == [n.name for n in trace]


def test_model_failing_in_forward_names_the_layer() -> None:
    for method in ("fx", "hooks"):
        with pytest.raises(Viz3dError, match=r"failed in layer 'second' \(Linear\)"):
            capture(Broken(), torch.rand(1, 3, 8, 8), method=method)


def test_wrong_input_shape_says_the_expected_shape() -> None:
    with pytest.raises(Viz3dError) as info:
        capture(default_model(), torch.rand(1, 1, 64, 64))
    msg = str(info.value)
    assert "conv1" in msg and "expects (1, 3, 64, 64)" in msg and "(1, 1, 64, 64)" in msg
    assert "\n" not in msg


def test_nan_and_inf_are_counted_in_one_warning() -> None:
    model = nn.Sequential(nn.Identity())
    x = torch.zeros(1, 2, 4, 4)
    x[0, 0, 0, 0] = float("nan")
    x[0, 1, 1, 1] = float("inf")
    with pytest.warns(Viz3dWarning, match="4 NaN/Inf activation values in 2 layers"):
        trace = capture(model, x)
    assert any("NaN" in n for n in trace.notes)


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(Viz3dError, match=r"needs a torch\.nn\.Module"):
        capture("resnet", torch.rand(1))  # type: ignore[arg-type]
    with pytest.raises(Viz3dError, match="group_depth must be 1 or more"):
        capture(default_model(), torch.rand(1, 3, 64, 64), group_depth=0)


def test_no_public_name_shadows_a_subpackage() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(viz3d.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"viz3d.{info.name}")
        assert getattr(viz3d, info.name) is module, f"viz3d.{info.name} is not the module"


def test_public_api_exports_trace() -> None:
    trace = viz3d.trace(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), torch.rand(1, 3, 16, 16))
    assert [n.name for n in trace] == ["input", "0", "1"]
    assert trace.activation_count() == 3 * 16 * 16 + 2 * 8 * 14 * 14


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_progress_is_reported_to_the_end(method: str) -> None:
    calls: list[tuple[int, int]] = []
    capture(default_model(), torch.rand(1, 3, 64, 64), method=method, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 20
    assert all(d <= t for d, t in calls) and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_shipped_first_layer_filters_are_smooth_patterns_not_noise() -> None:
    """The demo should show textbook filters: neighbouring kernel weights are strongly correlated."""
    w = default_model().conv1.weight.detach()
    a = torch.cat([w[..., :, :-1].flatten(), w[..., :-1, :].flatten()])
    b = torch.cat([w[..., :, 1:].flatten(), w[..., 1:, :].flatten()])
    assert float(torch.corrcoef(torch.stack([a, b]))[0, 1]) > 0.6  # a random init gives about 0


def test_1d_convolution_outputs_are_signals_not_token_grids() -> None:
    model = nn.Sequential(
        nn.Conv1d(2, 16, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(16 * 8, 4)
    )
    trace = capture(model, torch.rand(1, 2, 16))
    for name in ("0", "1", "2"):
        node = trace.node(name)
        assert node.display is not None and node.display.shape[1] == 1, name  # C maps of 1 x L
    assert tuple(trace.node("0").display.shape) == (16, 1, 16)  # 16 channels is square: still not tokens
    torch.testing.assert_close(trace.node("1").display[:, 0], trace.node("1").tensor[0])
    vit_like = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
    tokens = capture(vit_like, torch.rand(1, 16, 8))
    assert tuple(tokens.node("1").display.shape) == (8, 4, 4)  # a token sequence stays a grid
