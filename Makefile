# junkan — plant-in-a-box. `make demo` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS_NEEDED = $(strip $(if $(shell PATH=$$PATH:/usr/sbin command -v mosquitto),,mosquitto) \
                  $(if $(wildcard /usr/bin/chromium),,chromium) \
                  $(if $(wildcard /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf),,fonts-ipafont-gothic))

.PHONY: interop aarch64-check imports sim-venvs esphome-check test-pg unit-pg evidence-fuzz devices scenarios install demo test check lint typecheck unit faults bench clean system-packages browser

install: $(STAMP)
	@$(MAKE) --no-print-directory system-packages  # cheap check: chromium/mosquitto removed later still come back

system-packages:
	@if [ -n "$(APT_PKGS_NEEDED)" ]; then \
	  echo "make install: installing Debian packages: $(APT_PKGS_NEEDED) (apt-get)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PKGS_NEEDED); \
	fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/junkan demo --duration $${DURATION:-150} --workdir $${WORKDIR:-demo-run}

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy junkan edge_agent gateway simulators

# Import-linter: the layering of the house (pyproject [tool.importlinter]).
imports: install
	$(BIN)/lint-imports

check: lint typecheck imports

# Parallel workers (pytest-xdist): most tests wait on brokers, gateways and subprocesses, so 4 workers on
# 2 cores cut the wall time (figures in README "Commands"). Tests that must not share the CPU with each other
# run in one xdist group (tests/conftest.py ONE_AT_A_TIME_TESTS); those that need it to themselves (`alone`:
# real-time camera counting) run afterwards, one at a time. TEST_WORKERS=0 runs the parallel pass in one process.
TEST_WORKERS ?= 4
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup)
unit: install sim-venvs
	$(BIN)/pytest -q -m "not slow and not alone" $(XDIST)
	$(BIN)/pytest -q -m "not slow and alone"

# `make test` includes the PostgreSQL pass (about 2 1/2 min on 2 cores) when a server can be had; else it says so.
test: check unit unit-pg

# The gateway suites again with every gateway store on PostgreSQL (a throwaway initdb/pg_ctl cluster, or
# $JUNKAN_TEST_PG_URL); only tests that touch a gateway database run. Fails when no PostgreSQL can be had.
GATEWAY_TESTS := tests/ingest tests/security tests/evidence tests/dashboard tests/store tests/upgrade tests/operations
test-pg: install
	$(BIN)/pytest -q -m "not slow" --gateway-db=postgres $(XDIST) $(GATEWAY_TESTS)

unit-pg: install
	@reason=$$($(BIN)/python -c 'from tests.pg import why_unavailable; print(why_unavailable() or "")'); \
	if [ -n "$$reason" ]; then echo "make test: PostgreSQL pass SKIPPED: $$reason"; \
	else $(MAKE) --no-print-directory test-pg; fi

# The dashboard in Debian's chromium (also part of `make test`); screenshots in test-artifacts/dashboard/.
browser: install
	$(BIN)/pytest -q -m browser

evidence-fuzz: install
	$(BIN)/pytest -q -m slow tests/evidence

# Full fault suite: 100k readings, SIGKILL broker/gateway/agent 5x each, long outage, held database lock, full
# disk, poison messages, on SQLite and PostgreSQL; one lost/duplicated line per run, then the suite's.
faults: install
	@JUNKAN_FAULTS_FULL=1 $(BIN)/pytest -q -s tests/faults 2>&1 | tee faults.log; status=$${PIPESTATUS[0]}; \
	  echo; grep -h "^\[.*\] faults: produced" faults.log; exit $$status

bench: install
	$(BIN)/python -m tests.benchmarks.run

# Whole lines fed by an OPC UA server, an ESPHome node and a Sparkplug B edge node (deaths and restarts scored
# against truth). `make test` runs each protocol's device tests (tests/devices/test_{opcua,esphome,sparkplug_b}.py).
interop: install sim-venvs
	$(BIN)/pytest -q -m slow tests/scenarios/test_scale_sources.py tests/scenarios/test_scale_source_sparkplug.py

# The slow device tests: every other scale protocol end to end through the plant.
devices: install
	$(BIN)/pytest -q -m slow tests/devices

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-run

# Whole-line scenarios (broker, gateway, agent, devices) with truth, then the fidelity score of each.
scenarios: install
	@for sc in appliance_pp_line:1 tv_housings_bfr:2 elv_bumpers:3 appliance_pp_faults:4 appliance_pp_adversity:5 appliance_pp_adversity:6; do \
	  name=$${sc%%:*}; seed=$${sc##*:}; \
	  $(BIN)/junkan sim scenario $$name --seed $$seed --duration $${DURATION:-120} --workdir scenario-run/$$name && \
	  $(BIN)/junkan sim score --truth scenario-run/$$name/truth.jsonl --db scenario-run/$$name/gateway.db \
	    --json scenario-run/$$name/score.json || exit 1; \
	done

# Simulators whose libraries cannot share the agent's venv get their own (the tests build them when missing).
# pysparkplug pins paho-mqtt<2 (the agent needs 2.x): the Sparkplug B edge-node simulator runs in .venv-sparkplug.
SPB_VENV := .venv-sparkplug
# esphome (~85 packages, ~250 MB; measured 32 s to install, 1.5 s per `esphome config`) validates
# firmware_configs/esphome/*.yaml in .venv-esphome; small enough to stay in `make test`.
ESPHOME_VENV := .venv-esphome
sim-venvs: $(SPB_VENV)/.installed $(ESPHOME_VENV)/.installed

$(ESPHOME_VENV)/.installed:
	$(PY) -m venv $(ESPHOME_VENV)
	$(ESPHOME_VENV)/bin/python -m pip install -q 'esphome==2026.6.5'
	@touch $@

# Only the ESPHome YAML validation (`esphome config` on every file in firmware_configs/esphome/).
esphome-check: install $(ESPHOME_VENV)/.installed
	$(BIN)/pytest -q tests/devices/test_esphome.py -k "esphome_config or configs_exist or topics"

$(SPB_VENV)/.installed:
	$(PY) -m venv $(SPB_VENV)
	$(SPB_VENV)/bin/python -m pip install -q 'pysparkplug==0.6.1'
	@touch $@

# Every agent dependency (core + the agent extra) resolves to a Raspberry Pi aarch64 / Python 3.11 wheel.
# Also part of `make test` (a few seconds with a warm cache; skipped with a reason when the registry is unreachable).
aarch64-check: install
	$(BIN)/pytest -q tests/service/test_aarch64_wheels.py -rs
