"""Gate screening kiosk: admission core, services, storage and CLI."""

__version__ = "0.1.0"
