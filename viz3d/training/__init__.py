"""The training front end: :func:`watch` a model while an ordinary training loop runs.

(Named ``training``, not ``watch``: no public name of :mod:`viz3d` shadows a subpackage.)
"""

from __future__ import annotations

from viz3d.training.watcher import Watcher, watch

__all__ = ["Watcher", "watch"]
