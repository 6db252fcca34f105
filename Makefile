# Developer tooling. The README's two commands need none of this.
PY ?= .venv/bin/python

.PHONY: check test bench quickstart

check:  ## lint and type-check
	$(PY) -m ruff check src tests bench
	$(PY) -m mypy src/autoalign

test:
	$(PY) -m pytest

bench:
	$(PY) bench/pipeline.py
	$(PY) bench/store_scale.py
	$(PY) bench/workers.py

quickstart:
	.venv/bin/autoalign run examples/quickstart.toml
