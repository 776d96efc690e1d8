# Two commands do all the set-up on a fresh machine: `make demo` and `make test`; `make docs` builds the site.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.blapose-installed
# The CPU build of torch this project is tested with; pip takes a local wheel of it where one is
# provisioned, which is much faster than resolving a large CUDA build.
TORCH_PIN ?= torch==2.13.0
EXTRAS ?= test,anny,smpl,download,h36m,video,fast,mocap,c3d

.PHONY: demo test docs install clean
DOCS_STAMP := $(VENV)/.blapose-docs-installed

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_PIN)" \
		|| $(PY) -m pip install -q "torch>=2.6,<3"
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/blapose demo

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[$(EXTRAS),docs]"
	touch $(DOCS_STAMP)

# The documentation site (MkDocs, Material, API reference from the docstrings) into site/; fails on any warning.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) demo_output build site src/*.egg-info
