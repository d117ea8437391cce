# The habits in one place. `make install` once, then the others.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test lint demo bench ci

$(PY):
	python3 -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy

demo: install
	mkdir -p demo && cd demo && ../$(VENV)/bin/digest demo

bench: install
	@for script in bench/*.py bench/relevance/evaluate.py bench/relevance/feedback.py; do echo "== $$script"; $(PY) $$script || exit 1; done

ci:
	bash .ci/run
