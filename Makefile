# The two commands a newcomer needs: `make demo` and `make test`.
# Both create the virtual environment (.venv) if it is missing and install
# whatever pyproject.toml asks for that is not there yet.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test proto clean

demo: $(STAMP)
	$(BIN)/foley demo

# The render check (tests/e2e/test_render_check.py) plays output timelines with melt (MLT).
# Where it is missing and apt-get can install it (as root), it is installed; where it cannot
# be, the run goes on and those tests are skipped, saying why.
test: $(STAMP)
	@command -v melt >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || { \
		echo "installing melt for the render check…"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends melt >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends melt >/dev/null 2>&1; } || \
		echo "melt could not be installed: the render check will be skipped"; }
	$(BIN)/pytest

# Regenerate the gRPC stubs after editing proto/foley_proto/v1/engine.proto.
proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto \
		--grpc_python_out=proto proto/foley_proto/v1/engine.proto

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) demo-out
