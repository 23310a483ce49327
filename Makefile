# Developer shortcuts. The CI entry point is .ci/run (scripts/test.sh + ruff).
VENV ?= .venv
PY := $(VENV)/bin/python
NOTEBOOK_HTML ?= build/notebooks

.PHONY: notebooks lint

# Execute every notebook in a kernel of this environment and render it, with its
# outputs, to $(NOTEBOOK_HTML)/<name>.html (the committed notebooks stay output-free).
# Honours PORTALIS_TEST_DATABASE like the tests do. Needs nbconvert (test extras).
notebooks:
	$(PY) -m ipykernel install --sys-prefix --name portalis --display-name "Python (portalis)" >/dev/null
	$(PY) -m jupyter nbconvert --to html --execute --ExecutePreprocessor.kernel_name=portalis \
		--ExecutePreprocessor.timeout=240 --output-dir $(NOTEBOOK_HTML) notebooks/*.ipynb
	@ls -1 $(NOTEBOOK_HTML)/*.html

# ruff over the project, plus the notebooks and their helpers (pyproject excludes notebooks/).
lint:
	$(VENV)/bin/ruff check . notebooks/support notebooks/*.ipynb
