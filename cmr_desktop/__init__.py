"""CMR Desktop: Customer Managed Relationships on your own desktop."""

# The one place the version is written (pyproject reads it from here). A literal rather than
# importlib.metadata: that import alone costs 25 ms at every start of `cmr`.
__version__ = "0.2.0"

__all__ = ["__version__"]
