# The two commands of the README: `make demo` and `make test`. Each sets up what it needs:
# a virtualenv in .venv and the real Kubernetes binaries, built once from pinned Go modules
# into ~/.cache/fleetsync/bin/<hash>/ and reused while the pins do not change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
DEMO_DIR ?= $(CURDIR)/.demo
PYTEST_ARGS ?=

.PHONY: venv binaries browser sandbox postgres test unit lint demo demo-down clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

binaries: venv
	$(BIN)/fleetsync local build

# Debian's headless Chromium for the dashboard's browser tests (installed once, as root).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "make: no /usr/bin/chromium; the browser tests will be skipped" >&2; }

# Debian's bubblewrap: the sandbox of the kustomize fallback (render.kustomizeBinary) and
# of its tests; without it the fallback is refused (installed once, as root).
sandbox:
	@test -x /usr/bin/bwrap || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) \
	  || echo "make: no /usr/bin/bwrap; the kustomize sandbox tests will be skipped" >&2; }

# Debian's PostgreSQL server binaries: the tests of the PostgreSQL store start their own
# server from them on loopback (installed once, as root; the package's own server is not
# used).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
	  || { echo "make: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }; }

# The whole suite: unit, conformance, security, and integration tests against real local
# clusters, git daemons and a PostgreSQL server. pytest exits 5 when it collected no test;
# that is a failure too.
test: binaries browser sandbox postgres
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no test" >&2; exit 1; fi; exit $$rc

# Fast feedback: only the tests that need no cluster and no git server.
unit: venv
	$(BIN)/pytest tests/unit tests/conformance tests/security $(PYTEST_ARGS)

# Style, types, and the import contracts of pyproject.toml (layers; pure packages stay pure).
lint: venv
	$(BIN)/ruff check engine tests loadtests
	$(BIN)/mypy engine
	$(BIN)/lint-imports

# The demo scenario: two local clusters, the demo's Git repo served by git daemon on
# loopback, and the hub in the foreground (Ctrl-C stops it; `make demo-down` stops the rest).
demo: binaries
	$(BIN)/fleetsync local demo --dir $(DEMO_DIR)

demo-down: venv
	$(BIN)/fleetsync local demo-down --dir $(DEMO_DIR)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
