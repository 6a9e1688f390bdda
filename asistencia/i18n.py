"""The user-interface message catalog: one JSON file per language in `messages/`.

Templates call `t("key", name=…)`; page scripts receive the same catalog as
JSON. Adding a language is adding a file, not touching templates.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

MESSAGES_DIR = Path(__file__).parent / "messages"


class Catalog:
    def __init__(self, language: str, messages: dict[str, str]) -> None:
        self.language = language
        self.messages = messages

    def __call__(self, key: str, **params: object) -> str:
        template = self.messages.get(key)
        if template is None:
            return key
        return template.format(**params) if params else template


def available_languages() -> list[str]:
    return sorted(path.stem.replace("_", "-") for path in MESSAGES_DIR.glob("*.json"))


def load_catalog(language: str) -> Catalog:
    path = MESSAGES_DIR / f"{language.replace('-', '_')}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no message catalog for {language!r}; have {available_languages()}")
    messages = json.loads(path.read_text(encoding="utf-8"))
    for text in messages.values():
        # Fail at startup, not mid-class, on a broken placeholder.
        list(string.Formatter().parse(text))
    return Catalog(language, messages)
