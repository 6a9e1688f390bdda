"""The one WebSocket endpoint (/ws): auth phase, then commands (see docs/protocol.md)."""
