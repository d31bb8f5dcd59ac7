"""Luohu report assistant: cited answers from district reports, offline."""

__version__ = "0.1.0"
