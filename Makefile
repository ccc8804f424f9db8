# The two commands of the README: `make demo` and `make test` (each runs the set-up first; it is skipped when done).
.PHONY: setup demo test bench lint mutate clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@.venv/bin/python -m pytest

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

# Mutation testing of the modules named in pyproject.toml's [tool.mutmut] (slow: not part of CI).
mutate: setup
	@.venv/bin/mutmut run; .venv/bin/mutmut results

bench: setup
	@.venv/bin/python -m bench

clean:
	rm -rf .venv demo-output .pytest_cache mutants
