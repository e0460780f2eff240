"""The journey map format, version 1, as pydantic models (the contract is
``spec/journey-map-format.md``).

Models only check the shape of one value at a time: types (strictly: ``"5"`` is not
an int, ``yes`` is not a string), enum values, slugs, required keys, unknown keys.
Cross-references between entities are checked by :mod:`audit_engine.validate`.
Every enum is a ``Literal`` type with a tuple of its values next to it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

FORMAT_VERSION = 1
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
NonNegativeInt = Annotated[int, Field(ge=0)]

StakeholderGroup = Literal["patient", "clinical", "administrative", "it", "compliance", "vendor"]
Operator = Literal["internal", "vendor"]
InteropStandard = Literal[
    "fhir-r4", "fhir-r5", "hl7v2", "cda", "dicom", "ncpdp", "x12", "direct", "proprietary-api", "csv"
]
Classification = Literal["phi", "pii", "deidentified", "credentials", "internal", "public"]
ControlType = Literal[
    "audit_logging", "unique_user_id", "mfa", "sso", "badge_tap", "rbac", "auto_logoff",
    "encryption_at_rest", "encryption_in_transit", "break_glass", "break_glass_review",
    "consent_capture", "minimum_necessary", "two_identifier_check", "read_back",
    "alert_escalation", "other",
]
Channel = Literal["web", "mobile", "kiosk", "phone", "in_person", "ehr", "email", "sms", "device", "paper"]
Context = Literal["patient_care", "documentation", "administrative", "self_service", "training"]
TimePressure = Literal["low", "medium", "high"]
Authentication = Literal["unique", "sso", "badge", "shared", "none"]
Action = Literal["view", "create", "modify", "delete", "share", "export", "print"]
Harm = Literal["none", "minor", "moderate", "severe", "death"]
Purpose = Literal[
    "treatment", "payment", "operations", "patient_request", "research", "marketing",
    "public_health", "legal",
]
CheckpointType = Literal[
    "consent", "authorization", "baa_review", "breach_notification", "retention_review",
    "compliance_review", "security_training", "access_review", "risk_assessment",
]
TrainingTopic = Literal["product", "clinical", "security", "privacy"]
Capture = Literal[
    "near_miss", "adverse_event", "unsafe_condition", "usability", "workflow_disruption",
    "privacy_incident",
]
Timing = Literal["during_care", "between_tasks", "end_of_shift", "async"]

STAKEHOLDER_GROUPS: tuple[str, ...] = get_args(StakeholderGroup)
OPERATORS: tuple[str, ...] = get_args(Operator)
INTEROP_STANDARDS: tuple[str, ...] = get_args(InteropStandard)
CLASSIFICATIONS: tuple[str, ...] = get_args(Classification)
CONTROL_TYPES: tuple[str, ...] = get_args(ControlType)
CHANNELS: tuple[str, ...] = get_args(Channel)
CONTEXTS: tuple[str, ...] = get_args(Context)
TIME_PRESSURES: tuple[str, ...] = get_args(TimePressure)
AUTHENTICATIONS: tuple[str, ...] = get_args(Authentication)
ACTIONS: tuple[str, ...] = get_args(Action)
HARMS: tuple[str, ...] = get_args(Harm)
PURPOSES: tuple[str, ...] = get_args(Purpose)
CHECKPOINT_TYPES: tuple[str, ...] = get_args(CheckpointType)
TRAINING_TOPICS: tuple[str, ...] = get_args(TrainingTopic)
CAPTURES: tuple[str, ...] = get_args(Capture)
TIMINGS: tuple[str, ...] = get_args(Timing)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Stakeholder(_Model):
    id: Slug
    name: str
    group: StakeholderGroup
    role: str | None = None
    concerns: list[str] = []


class Stage(_Model):
    id: Slug
    name: str
    description: str | None = None


class System(_Model):
    id: Slug
    name: str
    operator: Operator = "internal"
    baa: bool = False
    ehr: bool = False
    interop: list[InteropStandard] = []
    shared_workstation: bool = False
    auto_logoff_minutes: NonNegativeInt | None = None
    controls: list[str] = []


class DataAsset(_Model):
    id: Slug
    name: str
    classification: Classification
    derived_from: list[str] = []
    retention: str | None = None


class Control(_Model):
    id: Slug
    name: str
    type: ControlType
    description: str | None = None


class DataAccess(_Model):
    data: str
    actions: list[Action] = []


class FailureMode(_Model):
    id: Slug
    description: str
    harm: Harm | None = None
    safeguards: list[str] = []


class Touchpoint(_Model):
    id: Slug
    name: str
    stage: str
    stakeholder: str
    system: str | None = None
    channel: Channel | None = None
    context: Context | None = None
    time_pressure: TimePressure | None = None
    authentication: Authentication | None = None
    data_access: list[DataAccess] = []
    controls: list[str] = []
    clinical_decision: bool = False
    safety_critical: bool = False
    verification: bool = False
    failure_modes: list[FailureMode] = []


class DataFlow(_Model):
    id: Slug
    from_: str = Field(alias="from")
    to: str
    data: Annotated[list[str], Field(min_length=1)]
    encrypted: bool = False
    purpose: Purpose | None = None
    consent: str | None = None
    interop: InteropStandard | None = None


class Checkpoint(_Model):
    id: Slug
    name: str
    type: CheckpointType
    stage: str | None = None
    owner: str | None = None
    timeline_days: NonNegativeInt | None = None
    applies_to: list[str] = []


class Training(_Model):
    id: Slug
    name: str
    audience: Annotated[list[str], Field(min_length=1)]
    covers: list[str] = []
    topics: list[TrainingTopic] = []
    competency_check: bool = False
    refresher_days: NonNegativeInt | None = None
    mentoring: bool = False


class FeedbackChannel(_Model):
    id: Slug
    name: str
    audience: Annotated[list[str], Field(min_length=1)]
    captures: list[Capture] = []
    timing: Timing | None = None
    investigation_sla_days: NonNegativeInt | None = None
    closes_loop: bool = False


class JourneyMap(_Model):
    format: Literal[1]
    id: Slug
    name: str
    version: str
    organization: str | None = None
    description: str | None = None
    stakeholders: Annotated[list[Stakeholder], Field(min_length=1)]
    stages: Annotated[list[Stage], Field(min_length=1)]
    systems: list[System] = []
    data: list[DataAsset] = []
    controls: list[Control] = []
    touchpoints: list[Touchpoint] = []
    data_flows: list[DataFlow] = []
    checkpoints: list[Checkpoint] = []
    trainings: list[Training] = []
    feedback_channels: list[FeedbackChannel] = []

    @field_validator("format", mode="before")
    @classmethod
    def _format_is_not_a_bool(cls, v: Any) -> Any:
        # Literal[1] alone would accept `true` (True == 1 in Python).
        if isinstance(v, bool):
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        return v


def map_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a journey map, keys as written in map files."""
    schema = JourneyMap.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Journey map, format {FORMAT_VERSION}",
        **{k: v for k, v in schema.items() if k != "title"},
    }
