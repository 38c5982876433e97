"""The notebook front end: the viewer as a Jupyter widget streaming offscreen frames.

:class:`~viz3d.notebook.view.NotebookView` turns jupyter_rfb's browser events
into the window's session actions and renders frames; the widget
(:mod:`viz3d.notebook.widget`, needs ``viz3d[notebook]``) streams them.
Importing this package imports neither IPython nor jupyter_rfb.
"""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """Whether this process is a running Jupyter kernel (a plain IPython terminal is not one)."""
    ipython = sys.modules.get("IPython")  # not imported: no kernel either, and importing it is slow
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
