"""Data files shipped inside the package: the packaging templates, the page's templates, rpmlint.toml.

They are package data (see ``[tool.setuptools.package-data]`` in pyproject.toml),
found through :mod:`importlib.resources` the same way in a source checkout, an
editable install and an installed wheel.
"""

from __future__ import annotations

from pathlib import Path


def data_path(package: str, name: str) -> Path:
    """The file system path of the data file or directory ``name`` of ``package``.

    Jinja2's loaders and rpmlint need real paths, and an installed wheel is
    always unpacked on disk, so the resource is resolved to one.
    """
    from importlib.resources import files

    return Path(str(files(package) / name)).resolve()
