# mmdata developer commands. `make test` sets everything up from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmdata-installed
INSTALL_INPUTS := scripts/install.sh setup.py $(wildcard requirements/*.txt)

.PHONY: install test demo clean-venv

install: $(STAMP)

# The venv is (re)built when missing or when any install input is newer than it.
$(STAMP): $(INSTALL_INPUTS)
	VENV=$(VENV) bash scripts/install.sh
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests

# the whole DATA pipeline on the CPU (about 10 min on 2 cores)
demo: $(STAMP)
	$(PY) tools/demo.py

clean-venv:
	rm -rf $(VENV)
