"""Small in-repo models shaped like well-known architectures, for capture tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TinyResNet(nn.Module):
    """Stem, two residual blocks (the second with a 1x1 downsample), pool, classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.b1c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.b1c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.b2c1 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.b2c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.down = nn.Conv2d(8, 16, 1, stride=2)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = F.relu(self.b1c2(F.relu(self.b1c1(x))) + x)
        x = F.relu(self.b2c2(F.relu(self.b2c1(x))) + self.down(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class TinyInception(nn.Module):
    """Four parallel branches of different depth, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b2a = nn.Conv2d(3, 4, 1)
        self.b2b = nn.Conv2d(4, 6, 3, padding=1)
        self.b3a = nn.Conv2d(3, 2, 1)
        self.b3b = nn.Conv2d(2, 3, 5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.b4 = nn.Conv2d(3, 2, 1)
        self.head = nn.Conv2d(15, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.b1(x), self.b2b(self.b2a(x)), self.b3b(self.b3a(x)), self.b4(self.pool(x))], dim=1)
        return self.head(y)


class TinyDenseNet(nn.Module):
    """A dense block: each layer sees the concatenation of all earlier outputs."""

    def __init__(self, growth: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.l1 = nn.Conv2d(6, growth, 3, padding=1)
        self.l2 = nn.Conv2d(6 + growth, growth, 3, padding=1)
        self.l3 = nn.Conv2d(6 + 2 * growth, growth, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.cat([x, self.l1(x)], 1)
        x = torch.cat([x, self.l2(x)], 1)
        return torch.cat([x, self.l3(x)], 1)


class DataDependent(nn.Module):
    """Control flow on tensor values: torch.fx cannot trace this."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.c = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        if y.mean() > -1e9:  # always true, but fx cannot know
            y = self.b(y) + y
        return self.c(y)


class TinyViT(nn.Module):
    """Patch embedding, class token, one transformer encoder layer."""

    def __init__(self, dim: int = 16, patch: int = 4, image: int = 16) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.encoder = nn.TransformerEncoderLayer(dim, 2, 32, batch_first=True, dropout=0.0)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1) + self.pos
        return self.norm(self.encoder(t))


class TupleOut(nn.Module):
    """A submodule returning a tuple and a dict-returning head."""

    class Split(nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return x[:, :2], x[:, 2:]

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.split = TupleOut.Split()
        self.left = nn.Conv2d(2, 2, 1)
        self.right = nn.Conv2d(2, 2, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        a, b = self.split(self.conv(x))
        return {"left": self.left(a), "right": self.right(b)}


class Broken(nn.Module):
    """Raises inside its second layer."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(3, 4, 3)
        self.second = nn.Linear(7, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


def make_default() -> nn.Module:
    """A factory for MODULE:FUNCTION tests."""
    return TinyResNet().eval()
