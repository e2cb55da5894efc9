"""avatarcall: customer-service video calls with a server-rendered avatar that never breaks the call."""

__version__ = "0.1.0"
__all__ = ["__version__"]
