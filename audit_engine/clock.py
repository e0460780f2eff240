"""Today's date, for waiver expiry: the real one, or ``AUDIT_ENGINE_TODAY`` (YYYY-MM-DD) so that
reports of the past can be reproduced exactly (the example reports and the tests use it)."""

from __future__ import annotations

import datetime as _dt
import os

from .errors import UsageError

ENV = "AUDIT_ENGINE_TODAY"


def today() -> _dt.date:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{ENV} must be a date written YYYY-MM-DD, got '{value}'") from None
