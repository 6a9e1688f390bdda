"""The attendance loop's use cases (SPEC §3.3–§3.6): sessions, joining, scanning,
projection and closing. REST handlers (`asistencia.api`) and WebSocket
commands (`asistencia.ws`) are thin adapters over these; SQL stays in
`asistencia.store`, pure rules in `asistencia.domain`.
"""
