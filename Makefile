# The two commands of the README: `make up` (main job on the embedded default) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv up down status test lint bench clean pulumi mermaid

venv: $(STAMP)

# Exact versions from constraints.txt: a dependency's new release cannot change what CI runs.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<70' wheel
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	# the official SDK, used by the compatibility tests (its sdist needs setuptools<70)
	$(BIN)/pip install -q -c constraints.txt --no-build-isolation batchcompute==2.1.7
	touch $(STAMP)

up: venv
	$(BIN)/python -m provider.driver.quickstart up

down: venv
	$(BIN)/python -m provider.driver.quickstart down

status: venv
	$(BIN)/python -m provider.driver.quickstart status

# The pinned Pulumi CLI, built from Go modules into ~/.cache/bcs-gitops/pulumi/v<version> (reused
# when present), with our language host and dynamic-provider plugin beside it.
pulumi:
	@dir="$$($(PY) tools/pulumi/build.py)" && "$$dir/pulumi" version && echo "PATH=$$dir:\$$PATH uses it"

# Mermaid's own parser (npm mermaid + jsdom, pinned by tools/mermaid/package-lock.json) for the tests
# that check the DAG diagrams of `bcs-deploy plan`; Node and npm, no browser. Reused when its lock matches.
MERMAID_DIR ?= $(HOME)/.cache/bcs-gitops/mermaid
mermaid:
	@mkdir -p "$(MERMAID_DIR)"
	@if cmp -s tools/mermaid/package-lock.json "$(MERMAID_DIR)/package-lock.json" && [ -d "$(MERMAID_DIR)/node_modules/mermaid" ]; then \
	  echo "mermaid parser already in $(MERMAID_DIR)"; \
	else \
	  cp tools/mermaid/package.json tools/mermaid/package-lock.json "$(MERMAID_DIR)/" && \
	  (cd "$(MERMAID_DIR)" && npm ci --no-audit --no-fund --silent) && echo "mermaid parser installed in $(MERMAID_DIR)"; \
	fi

# Types: the service and the provider as configured in pyproject.toml, the API contract strictly.
test: lint
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check api service provider stacks tests bench tools
	$(BIN)/mypy
	$(BIN)/mypy --strict api

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .bcs
