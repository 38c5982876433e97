# viz3d: `make demo` sets everything up and shows the demo (a PNG when there is
# no display); `make test` sets up and runs the whole test suite.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench clean

setup:
	bash scripts/setup.sh

demo: setup
	$(VENV)/bin/viz3d demo

test: setup
	PYOPENGL_PLATFORM=egl $(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check viz3d tests demos benchmarks scripts
	$(VENV)/bin/ruff format --check viz3d tests demos benchmarks scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: setup
	PYOPENGL_PLATFORM=egl $(PY) benchmarks/bench_foundation.py --quick
	PYOPENGL_PLATFORM=egl $(PY) benchmarks/bench_viewer.py
	PYOPENGL_PLATFORM=egl $(PY) benchmarks/bench_connections.py
	PYOPENGL_PLATFORM=egl $(PY) benchmarks/bench_weights_graph.py
	PYOPENGL_PLATFORM=egl $(PY) benchmarks/bench_draw_overhead.py
	PYOPENGL_PLATFORM=egl $(PY) benchmarks/bench_record.py
	$(PY) benchmarks/bench_idle.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
