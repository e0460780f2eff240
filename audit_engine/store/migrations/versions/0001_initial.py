"""Initial schema: maps, map_versions, audit_runs, findings.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "maps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("map_id", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("map_id", name="uq_maps_map_id"),
    )
    op.create_table(
        "map_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("map_pk", sa.Integer(), sa.ForeignKey("maps.id", name="fk_map_versions_map"), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("first_audited_at", TS, nullable=False),
        sa.UniqueConstraint("map_pk", "version", "content_hash", name="uq_map_versions_map_version_hash"),
    )
    op.create_table(
        "audit_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("map_version_pk", sa.Integer(),
                  sa.ForeignKey("map_versions.id", name="fk_audit_runs_map_version"), nullable=False),
        sa.Column("audited_at", TS, nullable=False),
        sa.Column("engine_version", sa.String(50), nullable=False),
        sa.Column("ruleset_digest", sa.String(128), nullable=False),
        sa.Column("packs", JSON, nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("waivers", JSON, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False)
          for c in ("critical", "high", "medium", "low", "info", "total", "waived")],
    )
    op.create_index("ix_audit_runs_version_time", "audit_runs", ["map_version_pk", "audited_at"])
    op.create_table(
        "findings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_pk", sa.Integer(),
                  sa.ForeignKey("audit_runs.id", name="fk_findings_run", ondelete="CASCADE"), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("citation", sa.String(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column", sa.Integer(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("waived", sa.Boolean(), nullable=False),
        sa.Column("pack", sa.String(100), nullable=False),
        sa.Column("subject_kind", sa.String(50), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.UniqueConstraint("run_pk", "fingerprint", name="uq_findings_run_fingerprint"),
    )
    op.create_index("ix_findings_fingerprint", "findings", ["fingerprint"])


def downgrade() -> None:
    raise RuntimeError("audit-engine never downgrades the findings store: it would drop stored history")
