"""asistencia: realtime classroom attendance server."""

__version__ = "0.1.0"
