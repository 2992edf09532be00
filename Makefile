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

test: $(STAMP)
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
