"""CSV documents that Excel opens correctly in a Chilean (Spanish-locale) setup.

Spanish-locale Excel reads a double-clicked CSV with `;` as the list
separator and `,` as the decimal mark, and guesses the encoding from a
UTF-8 byte-order mark (without it, "Muñoz" arrives as "MuÃ±oz"). So our
spreadsheet exports are UTF-8 with BOM, `;`-separated, CRLF-terminated,
decimals with a comma.

Text cells starting with a character a spreadsheet reads as a formula
(`=`, `+`, `-`, `@`, tab, CR) get a leading `'` so they stay text (CSV
injection). Numbers are written as numbers and never touched, so a
negative number stays a number.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Sequence

SPREADSHEET_DELIMITER = ";"
BYTE_ORDER_MARK = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | datetime.datetime | None


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as typed, never evaluate."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_cell(value: Cell, *, decimal_mark: str = ",") -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", decimal_mark)
    if isinstance(value, datetime.datetime):
        # Excel recognises this form as a date-time; the offset is dropped
        # because the values are already in local time.
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return neutralise(value)


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A whole spreadsheet export: BOM, `;`, CRLF, neutralised text cells."""
    return _document(header, rows, delimiter=SPREADSHEET_DELIMITER, decimal_mark=",", bom=True)


def plain_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """RFC 4180 for programs: UTF-8 without BOM, `,`, CRLF, decimal point (text cells
    still neutralised, in case a person opens it in a spreadsheet)."""
    return _document(header, rows, delimiter=",", decimal_mark=".", bom=False)


def _document(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str,
              decimal_mark: str, bom: bool) -> bytes:
    out = io.StringIO()
    if bom:
        out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value, decimal_mark=decimal_mark) for value in row])
    return out.getvalue().encode("utf-8")


def attachment_filename(*parts: str) -> str:
    """`parts` joined by `_`, reduced to characters every browser and OS keeps, plus `.csv`."""
    cleaned = (re.sub(r"[^A-Za-z0-9.-]+", "-", part).strip("-.") for part in parts)
    return "_".join(part for part in cleaned if part) + ".csv"
