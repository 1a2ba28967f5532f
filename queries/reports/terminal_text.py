"""Safe terminal text: how the command line prints anything that came from customer data.

Names, ids, titles and error messages come from the customer's directories (an Entra displayName,
a Kubernetes label, a snapshot someone handed over). Printed raw, a control character in one acts on
the terminal (ESC[2J clears it, a CR rewrites the line, U+202E reverses what follows), and printed
as a Rich markup string, brackets in one are read as styles. So every print of such text goes
through `safe` (a plain string: each control, format or line-separator character written as an
escape such as \\x1b, so the reader sees it was there) or `text` (the same as a Rich Text, which
Rich never reads as markup). Markup is only ever written by the CLI itself, around safe text.
docs/reliability.md, "Terminal output".
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.text import Text

_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, bidi / format, separators
_KEPT_LINES = {"\n", "\t"}


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def safe(value: Any, *, multiline: bool = False) -> str:
    """`value` as text fit for a terminal: control and format characters escaped. With `multiline`,
    newlines and tabs stay (a message of several lines); otherwise they are escaped too."""
    raw = str(value)
    if raw.isprintable():  # the common case, and fast: nothing to escape
        return raw
    return "".join(
        char if (multiline and char in _KEPT_LINES) or unicodedata.category(char) not in _UNSAFE_CATEGORIES
        else _escape(char)
        for char in raw
    )


def text(value: Any, style: str = "", *, multiline: bool = False) -> Text:
    """`safe(value)` as a Rich Text in `style`: printed as is, never read as markup."""
    return Text(safe(value, multiline=multiline), style=style)


def styled(*parts: str | tuple[Any, str]) -> Text:
    """One line assembled from plain parts and (value, style) pairs, every part made safe."""
    assembled = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        assembled.append(safe(value), style=style)
    return assembled
