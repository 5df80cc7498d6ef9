# Top-level tasks. Each sets up its own virtual environment (.venv) first.
PYTHON ?= python3
VENV = .venv
STAMP = $(VENV)/.installed

.PHONY: example test clean

example: $(STAMP)
	$(MAKE) -C projects/digits_mlp csim PYTHON=$(abspath $(VENV)/bin/python)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q tests

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) projects/*/build
