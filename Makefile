# One entry point for people and CI: `make serve` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
# The site is built by the `mkdocs` command, as from the README (`mkdocs build`, `mkdocs serve`):
# it does not put the repository root on sys.path, so the pages import only the installed cnnref.
# SITE_URL (default http://127.0.0.1:8000/) is where the site will be published, path included:
#   make build SITE_URL=https://example.org/cnnref/
# PYTEST_ARGS narrows the test run: make test PYTEST_ARGS='-m "not site"' (no build, no browser)

# The browser tests drive Debian's Chromium; the screenshots need a Chinese font. Whatever of
# the two is missing is installed from Debian's packages (CI runs as root); nothing when present.
BROWSER_PACKAGES := $(if $(wildcard /usr/bin/chromium),,chromium) \
                    $(if $(shell fc-list :lang=zh 2>/dev/null),,fonts-noto-cjk)

.PHONY: setup browser serve build offline test clean

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
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

build: setup
	$(BIN)/mkdocs build --strict

# site-offline.zip: the built site, both languages, to unzip and open from the file system
offline: build
	$(BIN)/python hooks/offline_copy.py site site-offline.zip

# pytest's exit status is make's: a failure, or no test collected (5), fails `make test`
test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) site site-offline.zip test-artifacts
