"""Figures of trained runs (drawing only; commands/plot.py picks them)."""
