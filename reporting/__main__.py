"""`python -m reporting` runs the CLI."""

from reporting.cli.app import main

main()
