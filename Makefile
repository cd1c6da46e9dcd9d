# One entry point for people and CI: `make serve` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
# `python -m mkdocs` puts the repository root on sys.path: pages import benchmarks/ at build time

# The browser tests drive Debian's Chromium; the screenshots need a Chinese font. Whatever of
# the two is missing is installed from Debian's packages (CI runs as root); nothing when present.
BROWSER_PACKAGES := $(if $(wildcard /usr/bin/chromium),,chromium) \
                    $(if $(shell fc-list :lang=zh 2>/dev/null),,fonts-noto-cjk)

.PHONY: setup browser serve build test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[docs,test]'
	touch $(STAMP)

setup: $(STAMP)

browser:
ifneq ($(strip $(BROWSER_PACKAGES)),)
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(strip $(BROWSER_PACKAGES))
endif

serve: setup
	$(BIN)/python -m mkdocs serve --dev-addr 127.0.0.1:8000

build: setup
	$(BIN)/python -m mkdocs build --strict

test: setup browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) site test-artifacts
