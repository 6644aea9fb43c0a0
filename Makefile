# Two commands on a fresh machine: `make run` and `make test`.
# Each installs what it needs into .venv first (once; re-done when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; on this project's machines it lies on disk and installs in seconds.
# Elsewhere override it, e.g. `make test TORCH=torch` to take whatever pip picks.
TORCH ?= torch==2.13.0

.PHONY: install run test clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,cluster]'
	touch $@

# The main job on the shipped default: evaluate the shipped copy model at
# lengths 20 and 100 and draw its attention; without one, train a short copy
# model and evaluate that.
run: install
	@if [ -f checkpoints/copy-ntm/config.json ]; then \
		$(BIN)/ntm eval --lengths 20,100 && \
		mkdir -p runs && $(BIN)/ntm viz --length 20 --out runs/copy-attention.png; \
	else \
		echo "no shipped checkpoints/copy-ntm yet: training a short copy model in runs/make-run"; \
		rm -rf runs/make-run; \
		$(BIN)/ntm train copy --steps 1500 --fast --until-solved --out runs/make-run && \
		$(BIN)/ntm eval runs/make-run --lengths 20,100; \
	fi

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
