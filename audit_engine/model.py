"""The journey map format, version 1 (revision 1.1), as pydantic models.

This module is the one table of the format's vocabulary: every enum (a ``Literal``
type with a tuple of its values next to it), every entity kind (:data:`ENTITIES`:
list key, kind, noun, model), every reference between entities (:class:`Ref`
metadata on the field) and which fields become facts (``facts.py`` reads the
models; fields marked :data:`NOT_A_FACT` are for people and reports, never for rules).

Models only check the shape of one value at a time: types (strictly: ``"5"`` is not
an int, ``yes`` is not a string), enum values, slugs, required keys, unknown keys.
Cross-references between entities are checked by :mod:`audit_engine.validate`, which
reads the :class:`Ref` metadata. Keys starting ``x-`` are allowed on every mapping,
kept in ``extensions`` and never validated (revision 1.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

FORMAT_VERSION = 1
FORMAT_REVISION = "1.1"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"
EXTENSION_PREFIX = "x-"


@dataclass(frozen=True)
class Ref:
    """Field metadata: the value is the id of an entry of ``lists`` (or a list of such ids).

    ``relation`` names the fact asserted once per id of a list field (``item`` is the
    field holding the id); ``group`` requires the referenced stakeholder to be of that group.
    """

    lists: tuple[str, ...]
    noun: str
    relation: str | None = None
    item: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class ListRelation:
    """Field metadata for a list of enum values: besides the list on the entity's fact,
    one ``relation`` fact per value (``item`` holds it), so rules can join on it."""

    relation: str
    item: str


@dataclass(frozen=True)
class _NotAFact:
    """Field metadata: journey content for people and reports; rules never see it."""


NOT_A_FACT = _NotAFact()

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
NonNegativeInt = Annotated[int, Field(ge=0)]
MAX_VERSION_LENGTH = 200  # the store's limit, the same on SQLite and PostgreSQL
Text = Annotated[str, StringConstraints(min_length=1)]
VersionLabel = Annotated[str, StringConstraints(min_length=1, max_length=MAX_VERSION_LENGTH)]

StakeholderGroup = Literal["patient", "clinical", "administrative", "it", "compliance", "vendor", "family"]
Operator = Literal["internal", "vendor", "covered_entity", "individual", "third_party"]
InteropStandard = Literal[
    "fhir-r4", "fhir-r5", "hl7v2", "cda", "dicom", "ncpdp", "x12", "direct", "proprietary-api", "csv"
]
Classification = Literal["phi", "pii", "deidentified", "credentials", "internal", "public"]
Sensitivity = Literal["part2", "psychotherapy_notes", "minor_confidential", "mental_health", "hiv", "genetic"]
Deidentification = Literal["safe_harbor", "expert_determination"]
ControlType = Literal[
    "audit_logging", "unique_user_id", "mfa", "sso", "badge_tap", "rbac", "auto_logoff",
    "encryption_at_rest", "encryption_in_transit", "break_glass", "break_glass_review",
    "consent_capture", "minimum_necessary", "two_identifier_check", "read_back",
    "alert_escalation", "other", "identity_verification", "segmentation", "language_assistance",
]
Channel = Literal["web", "mobile", "kiosk", "phone", "in_person", "ehr", "email", "sms", "device", "paper"]
Context = Literal["patient_care", "documentation", "administrative", "self_service", "training"]
TimePressure = Literal["low", "medium", "high"]
Authentication = Literal["unique", "sso", "badge", "shared", "none", "one_time_link"]
Action = Literal["view", "create", "modify", "delete", "share", "export", "print"]
Harm = Literal["none", "minor", "moderate", "severe", "death"]
Purpose = Literal[
    "treatment", "payment", "operations", "patient_request", "research", "marketing",
    "public_health", "legal", "family_involvement", "required_by_law", "family_notification", "serious_threat",
]
Medium = Literal["electronic", "paper", "voice", "physical"]
Emotion = Literal["very_negative", "negative", "neutral", "positive", "very_positive"]
CheckpointType = Literal[
    "consent", "authorization", "baa_review", "breach_notification", "retention_review",
    "compliance_review", "security_training", "access_review", "risk_assessment",
    "irb_waiver", "data_use_agreement", "restriction",
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
SENSITIVITIES: tuple[str, ...] = get_args(Sensitivity)
DEIDENTIFICATIONS: tuple[str, ...] = get_args(Deidentification)
CONTROL_TYPES: tuple[str, ...] = get_args(ControlType)
CHANNELS: tuple[str, ...] = get_args(Channel)
CONTEXTS: tuple[str, ...] = get_args(Context)
TIME_PRESSURES: tuple[str, ...] = get_args(TimePressure)
AUTHENTICATIONS: tuple[str, ...] = get_args(Authentication)
ACTIONS: tuple[str, ...] = get_args(Action)
HARMS: tuple[str, ...] = get_args(Harm)
PURPOSES: tuple[str, ...] = get_args(Purpose)
MEDIA: tuple[str, ...] = get_args(Medium)
EMOTIONS: tuple[str, ...] = get_args(Emotion)
CHECKPOINT_TYPES: tuple[str, ...] = get_args(CheckpointType)
TRAINING_TOPICS: tuple[str, ...] = get_args(TrainingTopic)
CAPTURES: tuple[str, ...] = get_args(Capture)
TIMINGS: tuple[str, ...] = get_args(Timing)

_STAGE, _STAKEHOLDER, _SYSTEM = Ref(("stages",), "stage"), Ref(("stakeholders",), "stakeholder"), Ref(("systems",), "system")


def _d(text: str, **kw: Any) -> Any:
    """A field with a description (shown by editors from ``audit-engine schema``).

    An empty list default is made by ``list`` for each model (the schema still says
    ``"default": []``): pydantic deep-copies a default list, 60,000 times in a large map."""
    if kw.get("default") == []:
        del kw["default"]
        kw.update(default_factory=list, json_schema_extra={"default": []})
    return Field(description=text, **kw)


class _Model(BaseModel):
    """Strict, frozen, no unknown keys except ``x-`` extensions (kept, never validated).

    Built on first use (``defer_build``): validating a map builds :class:`JourneyMap` with
    every entity model inside it, once, instead of each entity model on its own first
    (about 10 ms of every command's start-up)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False, defer_build=True,
                              json_schema_extra=lambda s, _: _extension_schema(s))

    extensions: Annotated[dict[str, Any], NOT_A_FACT] = Field(
        default_factory=dict, alias="x-*", exclude=True,
        description="Keys starting 'x-' (e.g. x-uxpressia-lane): kept, never validated, ignored by rules.")

    @model_validator(mode="before")
    @classmethod
    def _collect_extensions(cls, data: Any) -> Any:
        if type(data) is dict:
            ext = None
            for k in data:
                if type(k) is str and k.startswith(EXTENSION_PREFIX):
                    ext = ext or {}
                    ext[k] = data[k]
            if ext is not None:
                data = {k: v for k, v in data.items() if k not in ext}
                data["x-*"] = ext
        return data


def _extension_schema(schema: dict[str, Any]) -> None:
    schema.get("properties", {}).pop("x-*", None)
    schema["patternProperties"] = {"^x-": {"description": "Extension key: kept, never validated, ignored by rules."}}


class _Entity(_Model):
    id: Slug = _d("Stable id (a slug): findings, fingerprints and diffs are keyed on it; never rename it.")
    name: str = _d("Free text for people.")
    description: Annotated[str | None, NOT_A_FACT] = _d("Free text for people.", default=None)


class Stakeholder(_Entity):
    group: StakeholderGroup = _d(
        "patient, clinical, administrative, it, compliance, vendor, or family (a relative, friend or caregiver "
        "who is not the patient and not a personal representative).")
    role: str | None = _d("e.g. 'ICU nurse', 'IT director'.", default=None)
    concerns: Annotated[list[str], NOT_A_FACT] = _d("What this stakeholder prioritises.", default=[])
    represents: Annotated[Slug | None, Ref(("stakeholders",), "stakeholder", group="patient")] = _d(
        "The patient (a stakeholder of group patient) this person acts for as personal representative or "
        "portal proxy: parent or guardian of a minor, health-care agent.", default=None)
    external: bool = _d("Works for another organization, not this organization's workforce (agency staff "
                        "working under this organization's direction are not external).", default=False)
    privileged: bool = _d("With external: true, practises here under this organization's clinical privileges or a "
                          "services contract, so takes part in its patient-safety and competency programs.",
                          default=False)
    limited_english: bool = _d("Has limited English proficiency.", default=False)
    language: str | None = _d("Preferred language, a BCP 47 tag such as 'es'.", default=None)


class Stage(_Entity):
    duration: Annotated[str | None, NOT_A_FACT] = _d("Typical duration, e.g. '2d'.", default=None)


class System(_Entity):
    operator: Operator = _d(
        "internal; vendor (creates, receives, maintains or transmits data on the organization's behalf); "
        "covered_entity (another provider or plan receiving data for its own purposes); individual (the "
        "patient's or representative's own device or app); third_party (receives PHI for its own purposes "
        "under an authorization or other permitted disclosure).", default="internal")
    baa: bool = _d("A business associate agreement is on file (meaningful for vendors).", default=False)
    ehr: bool = _d("This system is an electronic health record.", default=False)
    interop: list[InteropStandard] = _d("Standards it exchanges data with.", default=[])
    shared_workstation: bool = _d("Used from shared terminals (nursing station, workstation on wheels).",
                                  default=False)
    auto_logoff_minutes: NonNegativeInt | None = _d("Idle timeout in minutes; absent means none.", default=None)
    controls: Annotated[list[str], Ref(("controls",), "control", "system_control", "control")] = _d(
        "Controls that apply to every touchpoint on this system.", default=[])
    tracking: bool = _d("A third-party tracking technology (pixel, analytics or session-replay script, app SDK) "
                        "fed from pages or apps.", default=False)
    conduit: bool = _d("Only transports PHI (postal service, courier or their electronic equivalent); not a "
                       "business associate.", default=False)
    single_patient: bool = _d("A device dedicated to one patient's use at home, used only by the patient or "
                              "their representative.", default=False)


class DataAsset(_Entity):
    classification: Classification = _d("phi, pii, deidentified, credentials, internal or public.")
    derived_from: Annotated[list[str], Ref(("data",), "data asset", "data_source", "source")] = _d(
        "Data this one is computed or copied from (no cycles).", default=[])
    retention: str | None = _d("Declared retention period, e.g. '6y' or '90d'.", default=None)
    sensitivity: Annotated[list[Sensitivity], ListRelation("data_sensitivity", "category")] = _d(
        "Categories with rules beyond HIPAA: part2, psychotherapy_notes, minor_confidential, mental_health, "
        "hiv, genetic. Inherited through derived_from.", default=[])
    deidentification: Deidentification | None = _d(
        "How deidentified data was de-identified: safe_harbor or expert_determination.", default=None)
    transient: bool = _d("Never stored (a live stream, a conversation); retention does not apply.", default=False)
    standard_transaction: bool = _d("The data elements of a HIPAA standard transaction (e.g. an X12 837 claim).",
                                    default=False)
    controlled_substance: bool = _d("A prescription or order for a controlled substance (schedules II-V).",
                                    default=False)

    @field_validator("retention")
    @classmethod
    def _blank_retention_is_absent(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None


class Control(_Entity):
    type: ControlType = _d("The kind of safeguard, e.g. audit_logging, mfa, minimum_necessary, segmentation.")


class DataAccess(_Model):
    data: Annotated[str, Ref(("data",), "data asset")] = _d("The data asset accessed.")
    actions: list[Action] = _d("view, create, modify, delete, share, export, print.", default=[])
    automatic: bool = _d("Captured by a scan or device, not typed.", default=False)


class FailureMode(_Model):
    id: Slug = _d("Unique within the map.")
    description: Annotated[str | None, NOT_A_FACT] = _d("What goes wrong.", default=None)
    harm: Harm | None = _d("Patient-safety harm: none, minor, moderate, severe, death.", default=None)
    safeguards: Annotated[list[str], Ref(("controls",), "control", "safeguard", "control")] = _d(
        "Controls that prevent or catch it.", default=[])
    privacy: bool = _d("The failure would disclose PHI to someone not entitled to it.", default=False)


class Touchpoint(_Entity):
    stage: Annotated[str, _STAGE] = _d("The stage it belongs to.")
    stakeholder: Annotated[str, _STAKEHOLDER] = _d("Who acts here.")
    system: Annotated[str | None, _SYSTEM] = _d("The system used.", default=None)
    systems: Annotated[list[str], Ref(("systems",), "system", "touchpoint_system", "system")] = _d(
        "Further systems used here (same meaning as system).", default=[])
    channel: Channel | None = _d("web, mobile, kiosk, phone, in_person, ehr, email, sms, device, paper.",
                                 default=None)
    context: Context | None = _d("Clinical workflow context: patient_care, documentation, administrative, "
                                 "self_service, training.", default=None)
    time_pressure: TimePressure | None = _d("low, medium or high.", default=None)
    authentication: Authentication | None = _d(
        "How the actor is identified: unique, sso, badge, shared, none, one_time_link.", default=None)
    data_access: list[DataAccess] = _d("Data read or written here, with the actions allowed.", default=[])
    controls: Annotated[list[str], Ref(("controls",), "control", "touchpoint_control", "control")] = _d(
        "Controls applied here, in addition to those of its systems.", default=[])
    clinical_decision: bool = _d("A clinical decision is made here.", default=False)
    safety_critical: bool = _d("An error here can harm a patient.", default=False)
    verification: bool = _d("The actor verifies information accuracy here.", default=False)
    failure_modes: list[FailureMode] = _d("What can go wrong here, its harm and its safeguards.", default=[])
    recipients: Annotated[list[str], Ref(("stakeholders",), "stakeholder", "recipient", "stakeholder")] = _d(
        "Who, besides the actor, is told, shown, handed or granted access to PHI here.", default=[])
    purpose: Purpose | None = _d("Why PHI is shared, exported, printed or told here.", default=None)
    objected: bool = _d("The individual objected to telling these recipients and was told anyway.", default=False)
    emotion: Annotated[Emotion | None, NOT_A_FACT] = _d("The actor's feeling.", default=None)
    pain_points: Annotated[list[str], NOT_A_FACT] = _d("What hurts here.", default=[])
    moment_that_matters: Annotated[bool, NOT_A_FACT] = _d("A moment that shapes the whole experience.",
                                                           default=False)
    duration: Annotated[str | None, NOT_A_FACT] = _d("Typical duration, e.g. '15m'.", default=None)


class DataFlow(_Model):
    id: Slug = _d("Stable id of the flow.")
    description: Annotated[str | None, NOT_A_FACT] = _d("Free text for people.", default=None)
    from_: Annotated[str, Ref(("systems", "touchpoints"), "system or touchpoint")] = Field(
        alias="from", description="The system or touchpoint the data leaves.")
    to: Annotated[str, Ref(("systems", "touchpoints"), "system or touchpoint")] = _d(
        "The system or touchpoint the data reaches.")
    data: Annotated[list[str], Ref(("data",), "data asset", "flow_data", "data"), Field(min_length=1)] = _d(
        "The data assets carried.")
    encrypted: bool = _d("Encrypted in transit.", default=False)
    purpose: Purpose | None = _d("Why the data is used or disclosed.", default=None)
    consent: Annotated[str | None, Ref(("checkpoints",), "checkpoint")] = _d(
        "The checkpoint that authorizes this flow.", default=None)
    medium: Medium = _d("electronic, paper (mail, a printed copy), voice (a call), physical (a specimen or "
                        "package).", default="electronic")
    interop: InteropStandard | None = _d("Standard used on this flow.", default=None)


class Checkpoint(_Entity):
    type: CheckpointType = _d("consent, authorization, breach_notification, risk_assessment, access_review, "
                              "restriction, ...")
    stage: Annotated[str | None, _STAGE] = _d("Where in the journey it happens.", default=None)
    owner: Annotated[str | None, _STAKEHOLDER] = _d("Who is accountable.", default=None)
    timeline_days: NonNegativeInt | None = _d("The deadline it commits to, in days.", default=None)
    applies_to: Annotated[list[str], Ref(("data", "data_flows", "touchpoints", "systems"),
                                         "data asset, data flow, touchpoint or system",
                                         "checkpoint_scope", "target")] = _d(
        "Data, flows, touchpoints or systems it covers (a risk_assessment without it covers the whole map).",
        default=[])
    sensitivity: Annotated[list[Sensitivity], ListRelation("checkpoint_sensitivity", "category")] = _d(
        "For consent and authorization: the sensitive categories the signed form expressly covers.", default=[])


class Training(_Entity):
    audience: Annotated[list[str], Ref(("stakeholders",), "stakeholder", "training_audience", "stakeholder"),
                        Field(min_length=1)] = _d("Who attends.")
    covers: Annotated[list[str], Ref(("touchpoints",), "touchpoint", "training_covers", "touchpoint")] = _d(
        "Touchpoints (features) it teaches.", default=[])
    topics: list[TrainingTopic] = _d("product, clinical, security, privacy.", default=[])
    competency_check: bool = _d("Competency is verified before independent use.", default=False)
    refresher_days: NonNegativeInt | None = _d("How often it is repeated; absent means never.", default=None)
    mentoring: bool = _d("Experienced users mentor new ones.", default=False)


class FeedbackChannel(_Entity):
    audience: Annotated[list[str], Ref(("stakeholders",), "stakeholder", "channel_audience", "stakeholder"),
                        Field(min_length=1)] = _d("Who can report through it.")
    captures: list[Capture] = _d("near_miss, adverse_event, unsafe_condition, usability, workflow_disruption, "
                                 "privacy_incident.", default=[])
    timing: Timing | None = _d("When reporting happens: during_care, between_tasks, end_of_shift, async.",
                               default=None)
    investigation_sla_days: NonNegativeInt | None = _d("Committed time to investigate a report, in calendar days.",
                                                       default=None)
    closes_loop: bool = _d("Reporters are told what was found and done.", default=False)


class JourneyMap(_Model):
    format: Literal[1] = _d("Always 1 for this version of the format.")
    id: Slug = _d("Stable map id, e.g. 'patient-portal'.")
    name: str = _d("Human title.")
    version: VersionLabel = _d("The map's own version label, e.g. '2.1.0' (quote it); at most 200 characters.")
    organization: str | None = _d("Covered entity the map is for.", default=None)
    description: Annotated[str | None, NOT_A_FACT] = _d("Free text for people.", default=None)
    stakeholders: Annotated[list[Stakeholder], Field(min_length=1)] = _d("Everyone involved (at least one).")
    stages: Annotated[list[Stage], Field(min_length=1)] = _d("In journey order (at least one).")
    systems: list[System] = _d("Software and devices touchpoints use and data flows connect.", default=[])
    data: list[DataAsset] = _d("Data assets.", default=[])
    controls: list[Control] = _d("Catalogue of safeguards referenced by touchpoints and systems.", default=[])
    touchpoints: list[Touchpoint] = _d("Where a stakeholder acts.", default=[])
    data_flows: list[DataFlow] = _d("Data moving between systems and touchpoints.", default=[])
    checkpoints: list[Checkpoint] = _d("Compliance and regulatory checkpoints.", default=[])
    trainings: list[Training] = _d("The training and adoption pathway.", default=[])
    feedback_channels: list[FeedbackChannel] = _d("Safety and usability reporting.", default=[])

    @field_validator("format", mode="before")
    @classmethod
    def _format_is_not_a_bool(cls, v: Any) -> Any:
        # Literal[1] alone would accept `true` (True == 1 in Python).
        if isinstance(v, bool):
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        return v


@dataclass(frozen=True)
class EntityKind:
    """One list of the format: its key in a map, the kind of its entries (as findings,
    facts and locations name it), what one entry is called in messages, its model."""

    key: str
    kind: str
    noun: str
    model: type[_Model]


ENTITIES: tuple[EntityKind, ...] = (
    EntityKind("stakeholders", "stakeholder", "stakeholder", Stakeholder),
    EntityKind("stages", "stage", "stage", Stage),
    EntityKind("systems", "system", "system", System),
    EntityKind("data", "data", "data asset", DataAsset),
    EntityKind("controls", "control", "control", Control),
    EntityKind("touchpoints", "touchpoint", "touchpoint", Touchpoint),
    EntityKind("data_flows", "flow", "data flow", DataFlow),
    EntityKind("checkpoints", "checkpoint", "checkpoint", Checkpoint),
    EntityKind("trainings", "training", "training", Training),
    EntityKind("feedback_channels", "channel", "feedback channel", FeedbackChannel),
)


def map_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a journey map, keys as written in map files."""
    schema = JourneyMap.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Journey map, format {FORMAT_VERSION} (revision {FORMAT_REVISION})",
        **{k: v for k, v in schema.items() if k != "title"},
    }
