"""Data access: every SQL statement lives in this package, one module per table group."""
