"""WebSocket close codes and limits (SPEC §4)."""

CLOSE_GOING_AWAY = 1001  # server shutting down
CLOSE_INTERNAL_ERROR = 1011  # the server failed this connection (a projector's frame clock); reconnect
CLOSE_MALFORMED = 4400  # a message that is not JSON / not an object / no type
CLOSE_UNAUTHORIZED = 4401  # invalid token in the auth message
CLOSE_FORBIDDEN = 4403  # the role may not use this command
CLOSE_UNKNOWN_SESSION = 4404  # project/watch of a session that does not exist (or is not yours)
CLOSE_AUTH_TIMEOUT = 4408  # no auth message within AUTH_TIMEOUT_SECONDS
CLOSE_TOO_SLOW = 4429  # the client did not keep up with its send queue
CLOSE_RATE_LIMITED = 4429  # too many sockets or messages for this user (docs/configuration.md#rate-limits)
CLOSE_TRY_AGAIN_LATER = 1013  # a dependency (Valkey) is down

AUTH_TIMEOUT_SECONDS = 5.0
SEND_QUEUE_SIZE = 64
MAX_MESSAGE_BYTES = 16 * 1024
