"""REST handlers, one module per concern; `asistencia.routes` maps URLs to them."""
