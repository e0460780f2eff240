"""The store's tables (sqlmodel). The schema itself is created and changed only by the
Alembic migrations in ``migrations/versions``; a test checks the two never drift apart.

    maps           one row per map id
    map_versions   one row per (map, version label, content hash); first seen path and time
    audit_runs     one row per recorded audit: engine, packs, rule-set digest and each
                   rule's digest, params, waivers applied, status and the unwaived counts
    findings       one row per finding of a run: its text in columns, the rest as JSON
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JsonType = JSON().with_variant(JSONB(), "postgresql")


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=JsonType, nullable=nullable)


class MapRow(SQLModel, table=True):
    __tablename__ = "maps"
    __table_args__ = (UniqueConstraint("map_id", name="uq_maps_map_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    map_id: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class MapVersionRow(SQLModel, table=True):
    __tablename__ = "map_versions"
    __table_args__ = (UniqueConstraint("map_pk", "version", "content_hash", name="uq_map_versions_map_version_hash"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    map_pk: int = Field(sa_column=Column(Integer, ForeignKey("maps.id", name="fk_map_versions_map"), nullable=False))
    version: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    source_path: str
    first_audited_at: datetime = Field(sa_type=DateTime(timezone=True))


class RunRow(SQLModel, table=True):
    __tablename__ = "audit_runs"
    __table_args__ = (Index("ix_audit_runs_version_time", "map_version_pk", "audited_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    map_version_pk: int = Field(sa_column=Column(
        Integer, ForeignKey("map_versions.id", name="fk_audit_runs_map_version"), nullable=False))
    audited_at: datetime = Field(sa_type=DateTime(timezone=True))
    engine_version: str = Field(max_length=50)
    ruleset_digest: str = Field(max_length=128)
    packs: Any = _json()  # {pack id: pack version}
    params: Any = _json()  # {param: value}
    rules: Any = _json(nullable=True)  # {rule id: digest of what its findings depend on}; null before 0002
    waivers: Any = _json(nullable=True)  # WaiverReport.to_dict(), or null when waivers were not applied
    status: str = Field(max_length=20)
    source_path: str  # the file audited in this run
    seconds: float = 0.0
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0
    total: int = 0  # unwaived findings
    waived: int = 0


class FindingRow(SQLModel, table=True):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("run_pk", "fingerprint", name="uq_findings_run_fingerprint"),
        Index("ix_findings_fingerprint", "fingerprint"),
    )

    id: Optional[int] = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    run_pk: int = Field(sa_column=Column(
        Integer, ForeignKey("audit_runs.id", name="fk_findings_run", ondelete="CASCADE"), nullable=False))
    rule_id: str = Field(max_length=100)
    severity: str = Field(max_length=20)
    subject: str
    fingerprint: str = Field(max_length=128)
    title: str
    message: str
    citation: str
    file: str
    line: int
    column: int
    evidence: Any = _json()
    waived: bool = False
    pack: str = Field(max_length=100)
    subject_kind: str = Field(max_length=50)
    data: Any = _json()  # what Finding.to_dict() holds beyond the columns (waiver, citations, ...)


TABLES = [MapRow.__table__, MapVersionRow.__table__, RunRow.__table__, FindingRow.__table__]
