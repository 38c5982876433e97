"""``python -m viz3d``: the ``viz3d`` command, where the console script is not installed."""

import sys

from viz3d.cli import main

sys.exit(main())
