# The two commands of the README's Quick start, and helpers for developers.
.PHONY: setup upstream-libqb demo test check lint bench parity clean

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/releasetool demo

# libqb's real upstream release (Debian 12's .orig tarball) and its build
# dependencies: the tests build it in both formats.
upstream-libqb:
	@scripts/upstream-sources.sh .releasetool-cache/upstream-src libqb >/dev/null

test: setup upstream-libqb
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

# The fast tier: everything but the tests marked slow (package builds, the demo,
# kills, the browser, the OBS builder, the wheel), on every core.
check: setup
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest -q -m "not slow" -n auto

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/run

# Re-cut the releases Debian 12 ships from upstream clones (CLONES=DIR, one clone
# per component) and compare with the tarballs upstream published.
parity: setup
	scripts/upstream-sources.sh
	.venv/bin/python bench/parity.py --clones $(CLONES) --verbose

clean:
	rm -rf demo-release .pytest_cache
