"""Map text is data: the one place that makes it safe to show.

Names, versions, waiver reasons and every other string a map, a waiver file or the
store supplies may hold control characters (``\\x1b[2J`` clears a screen, OSC 8 writes
links, ``\\r`` overwrites a line) or look like markup. Nothing in :mod:`audit_engine.report`
interprets markup (there is no rich console in the output path), so what remains is to
keep terminal control out of every text output:

- :func:`safe` writes each C0 and C1 control character (and DEL) as a visible escape
  (``\\x1b``), keeping newline and tab;
- :func:`one_line` does the same and folds newlines and tabs into spaces (table cells,
  headings, one-line messages);
- :func:`dump_json` writes JSON whose strings carry C1 controls, DEL and U+2028/U+2029
  as ``\\uXXXX`` escapes (``json`` escapes only C0), so the data is unchanged but no raw
  control character reaches a terminal. It encodes with orjson (a 15,000-touchpoint
  report: 1.0 s with ``json.dumps(indent=2)``, whose indented form has no C encoder, and
  0.06 s with orjson), with the same text (a float may be spelled otherwise, ``0.00001``
  for ``1e-05``: the same number); what orjson does not take (a key that is not a string,
  an integer beyond 64 bits) goes to ``json``.

Our own layout (newlines between lines, the tab of nothing) is added after escaping.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every control character but tab and newline
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")  # what json.dumps leaves raw inside strings
# the bytes that begin each of them in UTF-8 (\x80-\x9f are \xc2 \x80-\x9f): text without them has none
_JSON_UNSAFE_UTF8 = (b"\x7f", b"\xc2", "\u2028".encode(), "\u2029".encode())
_SPACES = re.compile("[\t\n]+")
# json.dumps(indent=2)'s layout; dataclasses and datetimes are refused as json refuses them
_ORJSON = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _visible(m: re.Match[str]) -> str:
    return f"\\x{ord(m.group()):02x}"


def safe(text: object) -> str:
    """``text`` with every control character except newline and tab written as ``\\xNN``."""
    s = str(text)
    return CONTROL.sub(_visible, s) if CONTROL.search(s) else s


def one_line(text: object) -> str:
    """:func:`safe`, with newlines and tabs folded into single spaces."""
    s = safe(text)
    return _SPACES.sub(" ", s) if ("\n" in s or "\t" in s) else s


def replace_controls(text: object, placeholder: str = "\ufffd") -> str:
    """Every control character except newline and tab replaced by ``placeholder`` (HTML, XML, Markdown)."""
    return CONTROL.sub(placeholder, str(text))


def dump_json(doc: Any) -> str:
    """``doc`` as indented JSON (UTF-8 text) with no raw control character in it."""
    try:
        raw = orjson.dumps(doc, option=_ORJSON)
    except TypeError:  # orjson.JSONEncodeError: a type or value only json takes (or rejects in its words)
        text = json.dumps(doc, indent=2, ensure_ascii=False)
    else:
        text = raw.decode()
        if not any(b in raw for b in _JSON_UNSAFE_UTF8):  # a byte search each: no regex over a large report
            return text + "\n"
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


# --------------------------------------------------------------------------- colour

ANSI = {"critical": "\x1b[1;37;41m", "high": "\x1b[1;31m", "medium": "\x1b[33m", "low": "\x1b[36m",
        "info": "\x1b[2m", "bold": "\x1b[1m", "dim": "\x1b[2m", "red": "\x1b[31m", "green": "\x1b[32m"}
RESET = "\x1b[0m"


def paint(text: str, style: str, color: bool) -> str:
    """``text`` in an ANSI ``style`` (a key of :data:`ANSI`) when ``color``; else as is.

    Only for text that went through :func:`safe` first: the escape codes are ours."""
    return f"{ANSI[style]}{text}{RESET}" if color and style in ANSI and text else text
