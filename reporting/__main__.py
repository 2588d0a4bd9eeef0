"""`python -m reporting` runs the CLI."""

from reporting.cli import main

main()
