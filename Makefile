# Two commands do all set-up on a fresh machine with Python 3.11:
#   make demo   create .venv, install, run the happy demo on the embedded engine
#   make test   create .venv, install, run the gates (make lint), then the whole test suite (what .ci/run calls)
#   make lint   the gates alone: ruff check, ruff format --check, mypy, lint-imports, the generated
#               files up to date (make generate), every relative link in README.md and docs/
#   make generate  write what is derived from the tool registry (state machine, chalice config,
#               merge template, tool names): run it after adding or changing a tool, and commit the result
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demos test lint generate traces bench package localstack-up localstack-down clean screenshots

$(STAMP): pyproject.toml requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "MAOO needs Python 3.11; set PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m cli demo happy

demos: $(STAMP)
	$(BIN)/python -m cli demo happy
	$(BIN)/python -m cli demo refinement
	-$(BIN)/python -m cli demo stop

test: lint
	$(BIN)/python -m pytest -q

# the gates (configured in pyproject.toml): a failing one ends with a line saying what to run
lint: $(STAMP)
	@$(BIN)/ruff check . || { echo "make lint: ruff check failed: run '$(BIN)/ruff check --fix .', then fix what it lists by hand"; exit 1; }
	@$(BIN)/ruff format --check . || { echo "make lint: files are not formatted: run '$(BIN)/ruff format .'"; exit 1; }
	@$(BIN)/mypy || { echo "make lint: mypy found type errors (listed above): fix them and re-run '$(BIN)/mypy'"; exit 1; }
	@$(BIN)/lint-imports || { echo "make lint: an import breaks a layer contract (listed above, see [tool.importlinter] in pyproject.toml): remove the import or move the code"; exit 1; }
	@$(BIN)/python -m deploy.generate --check || { echo "make lint: a generated file is out of date: run 'make generate' and commit the result (docs/guides/add-a-tool.md)"; exit 1; }
	@$(BIN)/python scripts/check_links.py || { echo "make lint: a relative link in README.md or docs/ leads nowhere (listed above): fix the path or the heading"; exit 1; }

# the files derived from the tool registry (deploy/generate.py; docs/guides/add-a-tool.md)
generate: $(STAMP)
	$(BIN)/python -m deploy.generate

# regenerate examples/traces/ from the three demos
traces: $(STAMP)
	$(BIN)/python -m scripts.export_traces examples/traces

# the run-page screenshots of docs/reference/run-pages.md: the refinement demo's run page (needs Debian's chromium: apt-get install chromium)
screenshots: $(STAMP)
	$(BIN)/python -m scripts.screenshots examples/screenshots

# benchmarks: embedded engine vs direct calls vs LangGraph, cold start, AWS cost (docs/benchmarks.md)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

# AWS: a CloudFormation template with the state machine, tables and roles (docs/guides/deploy.md)
package: $(STAMP)
	$(BIN)/python -m deploy wheels
	$(BIN)/python -m deploy package --stage prod --out out/

# the HTTP API's OpenAPI document, from app.py's routes and their pydantic models (docs/reference/http-api.md)
.PHONY: openapi
openapi: $(STAMP)
	$(BIN)/python -m cli openapi --out examples/openapi.json

localstack-up:
	scripts/localstack_runtime.sh start

localstack-down:
	scripts/localstack_runtime.sh stop

clean:
	rm -rf $(VENV) runtime .pytest_cache
