"""`ping`: an application-level round trip that also tells the client the server's clock.

Browsers cannot see WebSocket ping frames; scanners use this to measure
latency and the clock offset they put into proofs.
"""

from __future__ import annotations

import time

from asistencia.tokens import ROLES
from asistencia.ws.commands import CommandSchema, command


@command("ping", CommandSchema(), roles=ROLES, live_token=False)
async def ping(connection, message):
    return {"server_time_ms": int(time.time() * 1000)}
