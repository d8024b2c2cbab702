"""finsent: streaming financial sentiment (command line, settings, wiring)."""

__version__ = "0.1.0"
