"""`python -m autoalign` runs the command line."""

from .cli import entry

entry()
