# voicegen: the two commands a new user needs are `make demo` and `make test`.
# Both create .venv and install the pinned dependencies on first use; later runs reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.voicegen-installed
DEMO   := demo_out

.PHONY: install test test-fast demo clean-demo lint

# Re-install only when the dependency list changes (pyproject.toml is newer than the stamp).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

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
