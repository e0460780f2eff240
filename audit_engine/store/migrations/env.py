"""Alembic environment of the findings store.

audit-engine passes an open connection (inside its own transaction, holding the
migration lock) as ``config.attributes["connection"]``. Run by hand, the URL comes
from ``-x url=...`` or ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from audit_engine.store.models import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(url=context.get_x_argument(as_dictionary=True).get("url")
                      or config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    from audit_engine.store.engine import normalize_url

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
