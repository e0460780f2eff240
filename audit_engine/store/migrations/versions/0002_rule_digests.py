"""Runs record each rule's digest; a finding's text is stored once.

* ``audit_runs.rules``: rule id -> digest of everything the rule's findings depend on,
  so that a diff or a trend can tell a finding that changed because the map changed from
  one that changed because the rule set did (a rule retired, added or changed).
* ``findings.data`` no longer repeats what the columns hold (title, message, citation,
  evidence, location, severity...): existing rows are rewritten.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# keys of Finding.to_dict() that have a column of their own
IN_COLUMNS = ("rule_id", "severity", "subject", "fingerprint", "title", "message", "citation", "location",
              "evidence", "waived", "pack", "subject_kind")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("audit_runs") as batch:
        batch.add_column(sa.Column("rules", JSON, nullable=True))
    conn = op.get_bind()
    findings = sa.table("findings", sa.column("id", sa.Integer), sa.column("data", JSON))
    last = 0
    while True:
        rows = conn.execute(sa.select(findings.c.id, findings.c.data).where(findings.c.id > last)
                            .order_by(findings.c.id).limit(BATCH)).all()
        if not rows:
            break
        for pk, data in rows:
            if isinstance(data, str):
                data = json.loads(data)
            slim = {k: v for k, v in (data or {}).items() if k not in IN_COLUMNS}
            conn.execute(findings.update().where(findings.c.id == pk).values(data=slim))
        last = rows[-1][0]


def downgrade() -> None:
    raise RuntimeError("audit-engine never downgrades the findings store: it would drop stored history")
