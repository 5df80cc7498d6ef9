# Top-level tasks. Each sets up its own virtual environment (.venv) first.
PYTHON ?= python3
VENV = .venv
STAMP = $(VENV)/.installed

.PHONY: example test clean

example: $(STAMP)
	$(MAKE) -C projects/digits_mlp all PYTHON=$(abspath $(VENV)/bin/python)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q tests

# Progress shows on a terminal (scripts/pip_progress.py); pip's output only on failure.
$(STAMP): pyproject.toml
	@echo "hlsflow: setting up $(VENV): hlsflow, TensorFlow, QKeras and the test tools (a few minutes, once)"
	$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --upgrade pip rich
	@$(VENV)/bin/python scripts/pip_progress.py -e ".[dev]"
	@touch $(STAMP)
	@echo "hlsflow: $(VENV) is ready: .venv/bin/hlsflow --help"

clean:
	rm -rf $(VENV) projects/*/build
