"""The examples in docstrings and in the README run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import pytest

import viz3d
import viz3d.api
import viz3d.capture

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.gl
@pytest.mark.parametrize("module", [viz3d, viz3d.api, viz3d.capture])
def test_docstring_examples(module: Any, gl: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.gl
def test_readme_python_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gl: Any) -> None:
    block = re.search(r"## Python\s+```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    code = block.group(1).replace("viz3d.show(net, x)", "pass  # viz3d.show(net, x)")  # no window in tests
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "net.png").stat().st_size > 1000
