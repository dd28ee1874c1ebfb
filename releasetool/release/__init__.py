"""Cutting releases: checks and plans, tags, tarballs, notes, trains of releases and the download area."""
