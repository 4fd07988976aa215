# mmdata developer commands. `make test` sets everything up from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmdata-installed
INSTALL_INPUTS := scripts/install.sh setup.py $(wildcard requirements/*.txt)

.PHONY: install test test-fast demo clean-venv

install: $(STAMP)

# The venv is (re)built when missing or when any install input is newer than it.
$(STAMP): $(INSTALL_INPUTS)
	VENV=$(VENV) bash scripts/install.sh
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests

clean-venv:
	rm -rf $(VENV)
