# mcuforge: everything a fresh Debian machine with Python 3.11 needs, from scratch.
#   make test   set up .venv/ and run the whole test suite
#   make demo   set up .venv/ and run the main job
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the tests and the demo need (installed with apt-get when run as root; the
# QEMU tests skip with a reason where the Arm toolchain or QEMU is absent, the Fashion-MNIST
# ones where dataset-fashion-mnist is, the synth-keywords ones where espeak-ng is).
DEBS   := gcc make cmake gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dataset-fashion-mnist espeak-ng

.PHONY: test demo setup debs clean

setup: $(STAMP) debs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "note: Debian packages missing ($$missing); tests that need them will skip"; fi; \
	fi

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/python -m mcuforge.demo build/demo

clean:
	rm -rf build .pytest_cache
