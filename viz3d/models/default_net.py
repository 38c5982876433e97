"""The embedded default network: a small residual CNN trained on viz3d's shapes.

``demos/train_default_net.py`` reproduces the shipped weights; the README
states the held-out accuracy they reach.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from torch import nn

from viz3d.models.shapes import CLASSES, IMAGE_SIZE

WEIGHTS_FILE = "default_net.safetensors"


class ResidualBlock(nn.Module):
    """conv-bn-relu-conv-bn plus the identity, then relu (as in ResNet)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + x)


class ShapesNet(nn.Module):
    """Input (N, 3, 64, 64) → logits over :data:`viz3d.models.shapes.CLASSES`."""

    input_shape = (1, 3, IMAGE_SIZE, IMAGE_SIZE)
    classes = CLASSES  # the prediction panel names its answer with these

    def __init__(self, num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.block = ResidualBlock(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1, stride=2, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.relu3 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = self.block(x)
        x = self.relu3(self.bn3(self.conv3(x)))
        return self.fc(self.flatten(self.pool(x)))


def weights_path() -> Path:
    """Where the shipped weights live inside the installed package."""
    return Path(str(resources.files("viz3d.models") / "weights" / WEIGHTS_FILE))


def default_model(pretrained: bool = True) -> ShapesNet:
    """The default network in eval mode, with the shipped trained weights."""
    from safetensors.torch import load_file

    model = ShapesNet()
    if pretrained:
        # The shipped file is known good: read it directly (viz3d.loading checks users' files).
        model.load_state_dict(load_file(str(weights_path())))
    return model.eval()
