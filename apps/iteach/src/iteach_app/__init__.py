"""iteach_app."""

__version__ = "0.1.0"
