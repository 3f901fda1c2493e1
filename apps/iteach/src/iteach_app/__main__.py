"""`python -m iteach_app` runs the command line."""

from iteach_app.cli import run

run()
