# voicegen: the two commands a new user needs are `make demo` and `make test`.
# Both create .venv and install the pinned dependencies on first use; later runs reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.voicegen-installed
DEMO   := demo_out
# The slim install (`pip install voicegen`: ONNX Runtime, no torch), installed from a built wheel so
# that the package data (shipped models and their ONNX graphs) is what a user gets.
SLIM       := .venv-slim
SLIM_STAMP := $(SLIM)/.voicegen-installed

.PHONY: install test test-fast test-slim demo clean-demo lint

# Re-install only when the dependency list changes (pyproject.toml is newer than the stamp).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# convert / vocode / stream with only the slim install's dependencies (CI runs it after `make test`).
$(SLIM_STAMP): pyproject.toml $(shell find voicegen -type f -not -name '*.pyc')
	@test -x $(SLIM)/bin/python || $(PYTHON) -m venv $(SLIM)
	$(SLIM)/bin/python -m pip install --disable-pip-version-check -q --force-reinstall --no-deps .
	$(SLIM)/bin/python -m pip install --disable-pip-version-check -q . pytest
	@touch $(SLIM_STAMP)

test-slim: $(SLIM_STAMP)
	cd tests/slim && ../../$(SLIM)/bin/python -m pytest -q -p no:cacheprovider .

# Unused or undefined names, syntax errors and import order (rules in pyproject.toml, [tool.ruff]).
lint: $(STAMP)
	$(BIN)/python -m ruff check voicegen tests recipes benchmarks

# Skip the slower end-to-end tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

demo: $(STAMP)
	@mkdir -p $(DEMO)
	$(BIN)/voicegen models
	$(BIN)/voicegen convert --src samples/audio/SF1_200001.wav --target TM1 \
		--out $(DEMO)/SF1_200001_to_TM1.wav --plot $(DEMO)/SF1_200001_to_TM1.png --overwrite
	@echo "demo outputs are in $(DEMO)/: the converted wav and a PNG of source and converted spectrograms"

clean-demo:
	rm -rf $(DEMO)
