"""Build step: the manual page and the shell completions are generated from the argparse definitions.

Everything else about the package is in pyproject.toml.  The generated files
are installed under the prefix as data files: share/man/man1/releasetool.1,
share/bash-completion/completions/releasetool and share/zsh/site-functions/_releasetool.
"""

import datetime as dt
import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
GENERATED = "build/generated"


def generate() -> None:
    sys.path.insert(0, str(HERE))  # the command definitions of this tree, not an installed releasetool
    try:
        from releasetool.cli import docgen
    finally:
        sys.path.pop(0)
    # the page's date follows SOURCE_DATE_EPOCH, so a rebuild of the same tree is identical
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or int((HERE / "pyproject.toml").stat().st_mtime)
    date = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d")
    docgen.write_all(HERE / GENERATED, date=date)


generate()
setup(
    data_files=[
        ("share/man/man1", [f"{GENERATED}/releasetool.1"]),
        ("share/bash-completion/completions", [f"{GENERATED}/releasetool"]),
        ("share/zsh/site-functions", [f"{GENERATED}/_releasetool"]),
    ],
)
