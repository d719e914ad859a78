"""The `memo` command line: parsing and rendering only; each command calls one library function."""

from memo.cli.app import main

__all__ = ["main"]
