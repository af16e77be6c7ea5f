# Two commands for a fresh machine:
#   make demo   create the environment, run the workflow on the built-in demo data
#   make test   create the environment, run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

# Which build to install: auto (the CUDA build where `nvidia-smi -L` lists a GPU, else the
# CPU build), cpu or gpu. `make install ACCEL=gpu`, or BIOREPRO_ACCEL=cpu in the environment
# to keep the CPU build on a GPU machine. Switching reinstalls (one stamp per build).
ACCEL ?= $(or $(BIOREPRO_ACCEL),auto)
ifeq ($(ACCEL),auto)
  # No nvidia-smi, or one that fails (exit 9 without a driver) or hangs, lists no GPU.
  NVIDIA_SMI := $(shell command -v nvidia-smi 2>/dev/null)
  GPU_LINE := $(if $(NVIDIA_SMI),$(shell timeout 30 nvidia-smi -L 2>/dev/null | grep -m 1 '^GPU ' | sed 's/ .UUID: .*//'))
  ACCEL_KIND := $(if $(GPU_LINE),gpu,cpu)
  ACCEL_WHY := $(if $(GPU_LINE),nvidia-smi lists $(GPU_LINE),$(if $(NVIDIA_SMI),nvidia-smi lists no GPU,no nvidia-smi))
else ifneq ($(filter $(ACCEL),cpu gpu),)
  ACCEL_KIND := $(ACCEL)
  ACCEL_WHY := $(if $(filter file,$(origin ACCEL)),BIOREPRO_ACCEL,ACCEL)=$(ACCEL)
else
  $(error ACCEL=$(ACCEL): use auto, cpu or gpu)
endif
OTHER_KIND := $(if $(filter gpu,$(ACCEL_KIND)),cpu,gpu)
LOCK_cpu := requirements.lock
LOCK_gpu := requirements-gpu.lock
BUILD_cpu := CPU
BUILD_gpu := CUDA
STAMP := $(VENV)/.installed-$(ACCEL_KIND)

.PHONY: install demo readme keys test test-slow lint bench clean

# After the lock, what only the other build's lock pins (the CUDA wheels, on a switch to
# cpu) is uninstalled, so that neither framework finds them.
$(STAMP): $(LOCK_$(ACCEL_KIND)) pyproject.toml plugins/logger/pyproject.toml
	@echo 'biorepro: installing the $(BUILD_$(ACCEL_KIND)) build ($(ACCEL_WHY))'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	rm -f $(VENV)/.installed $(VENV)/.installed-cpu $(VENV)/.installed-gpu
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r $(LOCK_$(ACCEL_KIND))
	only=$$(awk '/^[A-Za-z0-9]/ { n = tolower($$0); sub(/[=[<>;].*/, "", n); \
	  if (FNR == NR) keep[n] = 1; else if (!(n in keep)) print n }' \
	  $(LOCK_$(ACCEL_KIND)) $(LOCK_$(OTHER_KIND))); \
	  [ -z "$$only" ] || $(BIN)/python -m pip uninstall -qq --yes $$only
	$(BIN)/python -m pip install --quiet --no-deps -e . ./plugins/logger
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/biorepro synth
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES)

# The README's demo numbers, from results/demo/ (after make demo).
readme: $(STAMP)
	$(BIN)/python -m biorepro.aggregate.readme results/demo README.md

# Record the tiny configuration's keys after a change that alters them on purpose.
keys: $(STAMP)
	BIOREPRO_WRITE_KEYS=1 $(BIN)/python -m pytest -q tests/test_keytable.py

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -n 2 --dist loadfile

# Longer checks (cluster through a local SLURM, benchmarks-as-tests): run by .ci/run.
test-slow: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m slow; \
	  status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]  # 5: no slow test collected

# The house: Python lints, Snakefile format, Snakemake's own lints of the demo workflow.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/biorepro synth
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --lint

clean:
	rm -rf .snakemake .biorepro results
