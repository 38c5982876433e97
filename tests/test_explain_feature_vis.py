"""Feature visualization raises a trained channel far above random inputs, seeded, and leaves the model as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from viz3d.errors import Viz3dError
from viz3d.explain import FeatureVis, feature_visualization
from viz3d.explain import feature_vis as feature_vis_module
from viz3d.explain.fourier import frequency_scale, spectrum_to_image
from viz3d.models.default_net import default_model

LAYER, CHANNEL = "block.conv1", 2  # a middle conv layer of the trained default network


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Many small steps: one intra-op thread is several times faster than two on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def channel_mean(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen = {}
    handle = model.get_submodule(LAYER).register_forward_hook(lambda m, a, out: seen.update(out=out))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen["out"][:, CHANNEL].mean(dim=(1, 2))


def test_optimised_image_excites_the_channel_well_above_random_inputs_and_the_model_is_untouched() -> None:
    model = default_model()
    model.fc.weight.grad = torch.full_like(model.fc.weight, 0.5)  # a .grad the user had: it must stay
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(7)
    random_mean = float(channel_mean(model, torch.rand(8, 3, 64, 64, generator=g)).mean())
    assert random_mean > 0
    steps = []
    image = feature_visualization(model, LAYER, CHANNEL, steps=32, seed=0, callback=steps.append)
    assert [s.step for s in steps] == list(range(1, 33))
    assert all(s.image.shape == (3, 64, 64) and s.image.min() >= 0 and s.image.max() <= 1 for s in steps[::8])
    optimised = float(channel_mean(model, torch.from_numpy(image)[None]))
    assert optimised > 3 * random_mean
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(model.fc.weight.grad, torch.full_like(model.fc.weight, 0.5))
    assert all(p.grad is None for n, p in model.named_parameters() if n != "fc.weight")
    assert not model.training and not any(m._forward_hooks for m in model.modules())


def test_seeded_runs_agree_the_memo_answers_and_the_disk_cache_round_trips(tmp_path: Path) -> None:
    model = default_model()
    feature_vis_module._MEMO.clear()
    a = feature_visualization(model, "conv2", 3, steps=6, size=32, seed=4, cache_dir=tmp_path)
    (saved,) = tmp_path.glob("viz3d-feature-vis-conv2-3-*.npy")
    np.testing.assert_array_equal(np.load(saved), a)
    feature_vis_module._MEMO.clear()
    b = feature_visualization(model, "conv2", 3, steps=6, size=32, seed=4)  # computed again: same seed, same image
    np.testing.assert_array_equal(a, b)
    assert FeatureVis(model, "conv2", 3, steps=6, size=32, seed=4).finished  # from memory now
    assert not np.array_equal(a, feature_visualization(model, "conv2", 3, steps=6, size=32, seed=5))


def test_generator_yields_images_in_range_and_bad_channels_fail() -> None:
    model = default_model()
    run = FeatureVis(model, "relu2", 1, steps=3, size=(24, 40))
    shapes = [(s.step, s.image.shape, float(s.image.min()) >= 0, float(s.image.max()) <= 1) for s in run]
    assert shapes == [(k, (3, 24, 40), True, True) for k in (1, 2, 3)]
    with pytest.raises(Viz3dError, match=r"channels 0\.\.31, not 40"):
        FeatureVis(model, "relu2", 40, steps=2, size=16).advance()


def test_fourier_parametrisation_is_a_sigmoid_of_colour_mixed_scaled_inverse_fft() -> None:
    g = torch.Generator().manual_seed(0)
    spectrum = torch.randn(1, 3, 8, 5, 2, generator=g)
    scale = frequency_scale(8, 8)  # 1 / max(f, 1/8)
    assert [float(scale[0, 0]), float(scale[0, 2]), float(scale[1, 1])] == pytest.approx([8, 4, 8 / 2**0.5])
    coeffs = spectrum[..., 0].numpy() + 1j * spectrum[..., 1].numpy()
    raw = np.fft.irfft2(coeffs * scale.numpy(), s=(8, 8), norm="ortho") / 4
    mix = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
    mix = mix / np.linalg.norm(mix, axis=0).max()
    expected = 1 / (1 + np.exp(-np.einsum("dc,nchw->ndhw", mix, raw)))
    np.testing.assert_allclose(spectrum_to_image(spectrum, scale, (8, 8)).numpy(), expected, atol=1e-5)
