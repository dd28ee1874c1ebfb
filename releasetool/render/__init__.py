"""Packaging from upstream: .spec files and debian/ directories from the templates, and their lint."""
