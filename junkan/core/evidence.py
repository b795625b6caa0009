"""The composition evidence document of one lot (``junkan.evidence/1``, docs/evidence.md), typed.

The gateway builds it (``gateway.evidence.build``) from the stored lot and its Measurement, the process
graph and the buyers' specs; every exporter (JSON, HTML, PDF, EPCIS, UNTP, Catena-X, JWS) renders it.
Frozen: what was signed is what was rendered. Keys that release 1 left out when they did not apply
(``origin.unattributed_kg`` on an untraced lot, the parts of a check that a branch did not compute) are
still left out, so the JSON form is unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from junkan.core.measurement_model import BlindShare, Composition, ThresholdResult

SCHEMA = "junkan.evidence/1"


def _absent(value: Any) -> bool:
    return value is None


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Doc):
    """A reason as a code and its figures: the text beside it (``reason``, ``reasons[i]``) is its English
    rendering, kept for readers of release 1; a reader in another language renders the code
    (``gateway.specs.reason_text``). A param that is itself a reason is a {code, params} object."""

    code: str = Field(description="Stable reason code, e.g. limit.exceeded, claims.pops_suspect.")
    params: dict[str, JsonValue] = Field(default_factory=dict, description="Figures and names it is built from.")


class Gs1Keys(_Doc):
    """The issuer's GS1 keys (the gateway's ``gs1`` settings, check digits computed): EPCIS names its lots as
    batches of ``gtin`` and its site by ``gln``."""

    company_prefix: str = Field(description="GS1 Company Prefix (6-12 digits).")
    gtin: str = Field(description="GTIN-14 of the plant's material lots (lot id = batch number).")
    gln: str | None = Field(description="GLN of the plant's site (null: none configured).")
    lot_uri: Literal["epc_urn", "digital_link"] = Field(description="LGTIN as EPC class URN or GS1 Digital Link.")


class Issuer(_Doc):
    name: str = Field(description="Plant operator issuing the evidence.")
    id: str = Field(description="Issuer DID (did:web:...).")
    gs1: Gs1Keys | None = Field(default=None, exclude_if=_absent,
                                description="The plant's GS1 keys (absent: none configured, private URNs).")


class EvidenceLot(_Doc):
    """The lot the evidence is about, as stored (or as the process graph knows it)."""

    lot_id: str
    site: str | None = Field(description="Site of the line that closed the lot.")
    line: str | None
    agent: str | None
    status: str = Field(description="open / closed, or 'recorded' for a lot known only from the graph.")
    opened_at: str | None
    closed_at: str | None
    net_mass_kg: float = Field(description="From the process graph when the lot was made by a step, else weighed.")
    weighed_kg: float | None = Field(default=None, exclude_if=_absent,
                                     description="Net mass the line's scales weighed (the stored lot; absent: "
                                                 "not weighed on a line, e.g. a lot known only from the graph).")
    n_weighings: int | None
    recycler: str | None = Field(description="Recycler the evidence is addressed to.")
    measurement_method: str | None = Field(description="Measurement schema of the lot (null: none).")


class SourceProduct(_Doc):
    model: str
    product_id: str | None
    manufacturer: str | None
    category: str | None
    n_items: int
    attributed_kg: float


class SourceLot(_Doc):
    """An intake (or untraced) lot feeding the output, with its input-attributed mass."""

    lot_id: str
    attributed_kg: float
    received_at: str | None
    source_stream: str | None = Field(description="weee, elv, ... (null: not recorded as intake).")
    consumer: str | None = Field(description="post_consumer / pre_consumer.")
    plant: str | None
    net_mass_kg: float | None
    allocation: str = Field(description="How its mass was split over products.")
    products: list[SourceProduct]


class ModelContribution(_Doc):
    model: str
    attributed_kg: float
    product_id: str | None
    manufacturer: str | None
    category: str | None
    source_lots: list[str]
    share: float | None = Field(description="Of the source input mass.")


class NamedShare(_Doc):
    name: str
    attributed_kg: float
    share: float | None


class Received(_Doc):
    first: str
    last: str


class Origin(_Doc):
    """Where the lot's material came from (lineage through the process graph)."""

    status: Literal["traced", "partly_traced", "untraced"]
    post_consumer_share: float | None
    streams_kg: dict[str, float]
    source_lots: list[SourceLot]
    models: list[ModelContribution]
    manufacturers: list[NamedShare]
    categories: list[NamedShare]
    plants: list[str]
    received: Received | None
    unattributed_kg: float | None = Field(default=None, exclude_if=_absent,
                                          description="Source mass no product is known for (absent: untraced).")
    identifications: dict[str, dict[str, int]] = Field(description="Per source lot: matches by method/status.")


class InsufficientData(_Doc):
    status: Literal["insufficient_data"] = "insufficient_data"


class ContaminantRow(_Doc):
    """One analyte of the lot's screening (from the Measurement), with its CAS number."""

    analyte: str
    cas: str | None
    n: int
    n_below_lod: int
    mean_ppm: float | None
    p95_ppm: float | None
    max_ppm: float | None
    lod_ppm: float | None
    method: str
    thresholds: dict[str, ThresholdResult]


class DeclaredSubstance(_Doc):
    cas: str | None
    name: str
    group: str | None
    can_carry_over: bool = Field(description="Declared in a plastic part (may reach the recyclate).")
    declared_in_models: list[str]
    materials: list[str]
    max_fraction_in_material: float | None
    source_mass_kg: float
    source_share: float | None


class SubstancesUnknown(_Doc):
    status: Literal["insufficient_data"]
    reason: str
    substances: list[DeclaredSubstance]


class SubstancesDeclared(_Doc):
    status: Literal["complete", "partial"]
    record_coverage_share: float | None
    models_without_record: list[str]
    substances: list[DeclaredSubstance]


class Flow(_Doc):
    lot_id: str
    mass_kg: float


class StepBalance(_Doc):
    step_id: str
    kind: str
    plant: str | None
    site: str | None
    ended_at: str
    balance_ok: bool
    input_mass_kg: float
    output_mass_kg: float
    declared_loss_kg: float
    inputs: list[Flow]
    outputs: list[Flow]


class Lineage(_Doc):
    """An output lot's backward lineage through the process graph (``gateway.traceability.lineage.backward``)."""

    lot_id: str
    lot_mass_kg: float
    source_input_mass_kg: float = Field(description="Input-attributed mass of all source lots.")
    unattributed_kg: float = Field(description="Source mass no product is known for.")
    sources: list[SourceLot]
    models: list[ModelContribution]
    plants: list[str]
    steps: list[StepBalance]


class BalanceAlarm(_Doc):
    id: int
    scope: str = Field(description="step / period.")
    ref: str
    raised_at: str
    detail: dict[str, JsonValue] = Field(description="What the balance check found (free-form).")


class MassBalance(_Doc):
    lot_mass_kg: float
    source_input_mass_kg: float | None
    steps: list[StepBalance]
    ok: bool
    alarms: list[BalanceAlarm]


class ChainOfCustody(_Doc):
    model: Literal["mass_balance", "segregated", "controlled_blending"]
    reason: str
    standard: str
    reason_code: Reason | None = Field(default=None, exclude_if=_absent, description="``reason`` as a code.")


class EvidenceDevice(_Doc):
    device: str
    agent: str
    driver: str | None
    state: str | None
    role: Literal["missing", "contributed"]
    degraded: str | None
    calibration: dict[str, JsonValue] = Field(description="As the device reported it, or status not_reported.")
    reading_kinds: list[str] = Field(default_factory=list, description="Kinds of the readings it stored for the "
                                     "lot (weighing, xrf, nir_object, conveyor, ident ...): which measured values "
                                     "are its own (empty: no stored readings, e.g. a measurement-only lot).")


class Check(_Doc):
    """One conformance check: a purity share or an analyte limit (fields a branch did not compute are absent)."""

    check: str
    analyte: str
    limit_ppm: float | None = Field(default=None, exclude_if=_absent)
    source: str | None = Field(default=None, exclude_if=_absent)
    value: float | None = Field(default=None, exclude_if=_absent, description="Purity: measured share.")
    ci95: tuple[float, float] | None = Field(default=None, exclude_if=_absent)
    value_ppm: float | None = Field(default=None, exclude_if=_absent)
    statistic: str | None = Field(default=None, exclude_if=_absent)
    method: str | None = Field(default=None, exclude_if=_absent)
    result: Literal["conformant", "non_conformant", "insufficient_data"]
    reason: str
    reason_code: Reason | None = Field(default=None, exclude_if=_absent, description="``reason`` as a code.")
    check_code: Reason | None = Field(default=None, exclude_if=_absent, description="``check`` as a code.")


class ConformanceResult(_Doc):
    spec_id: str
    buyer: str
    material: str
    result: Literal["conformant", "non_conformant", "insufficient_data"]
    reasons: list[str]
    checks: list[Check]
    reason_codes: list[Reason] = Field(default_factory=list, description="``reasons`` as codes, in order.")


class LabVerdict(_Doc):
    """A lab confirmation (GC-MS, IEC 62321-6) of the lot judged against the POPs/RoHS limits in force."""

    confirmation_id: str = Field(description="Id of the stored lab confirmation.")
    lab: str = Field(description="Laboratory that analysed the lot.")
    method: str = Field(description="Analytical method, e.g. GC-MS IEC 62321-6.")
    analysed_on: str = Field(description="Date of analysis (ISO 8601).")
    report_sha256: str = Field(description="SHA-256 of the lab report file.")
    result: Literal["pass", "fail", "insufficient"] = Field(
        description="pass: every regulated group below its limit; fail: one above; insufficient: a required "
        "group not reported or its LOD-based bound above the limit.")
    reasons: list[str] = Field(description="Why, with the figures (one per check not passed; the pass line).")
    checks: list[Check] = Field(description="One per regulated group (value_ppm: upper bound, LODs counted).")
    reason_codes: list[Reason] = Field(default_factory=list, description="``reasons`` as codes, in order.")


class Screening(_Doc):
    """Regulatory BFR screening of the lot, always run (no buyer spec needed): declared PBDE/PBB/HBCDD in the
    sources' plastic parts and/or XRF Br above the screening threshold make it ``pops_suspect``; a passing
    lab confirmation clears it, a failing one makes it ``lab_failed``."""

    status: Literal["clear", "pops_suspect", "lab_confirmed", "lab_failed"]
    pops_suspect: bool = Field(description="True while the lot may hold POP-BFRs and no lab result clears it.")
    causes: list[str] = Field(description="Why the lot is suspect, with the figures (empty: clear).")
    br_statistic: str | None = Field(description="Lot Br statistic compared with the threshold (max_ppm, or "
                                     "lod_ppm when every reading was below LOD); null: no Br screening.")
    br_value_ppm: float | None = Field(description="Its value in mg/kg.")
    br_threshold_ppm: float = Field(description="Screening threshold on total Br (mg/kg).")
    declared_bfr: list[str] = Field(description="Regulated BFRs declared in plastic parts of the sources, "
                                    "with the source mass share declaring them.")
    lab: LabVerdict | None = Field(description="The latest lab confirmation attached to the lot (null: none).")
    cause_codes: list[Reason] = Field(default_factory=list, description="``causes`` as codes, in order.")
    declared_bfr_codes: list[Reason] = Field(default_factory=list, description="``declared_bfr`` as codes.")


class IdentMismatch(_Doc):
    """Camera identifications of a lot that disagree with its intake record."""

    lot_id: str = Field(description="Lot whose camera reads were compared (a source lot or the lot itself).")
    intake_lots: list[str] = Field(description="Intake records compared with.")
    expected: dict[str, int] = Field(description="Models (items) the intake record declares.")
    seen: dict[str, int] = Field(description="Models (items) the camera identified (matched or resolved).")
    reason: str = Field(description="What disagrees, with the counts.")
    reason_code: Reason | None = Field(default=None, exclude_if=_absent, description="``reason`` as a code.")


class Claims(_Doc):
    blocked: bool
    reasons: list[str]
    recycled_content_share: float | None
    chain_of_custody_model: str
    reason_codes: list[Reason] = Field(default_factory=list, description="``reasons`` as codes, in order.")


class Evidence(_Doc):
    """Composition evidence of one lot: measured composition, contaminants, origin, balance, conformance."""

    schema_: Literal["junkan.evidence/1"] = Field(default="junkan.evidence/1", alias="schema")
    evidence_id: str
    issued_at: str = Field(description="UTC, ISO 8601 with Z.")
    issuer: Issuer
    lot: EvidenceLot
    origin: Origin
    composition: Composition | InsufficientData
    nir_blind_share: BlindShare | None
    contaminants: list[ContaminantRow]
    declared_substances: Annotated[SubstancesUnknown | SubstancesDeclared, Field(discriminator="status")]
    mass_balance: MassBalance
    chain_of_custody: ChainOfCustody
    devices: list[EvidenceDevice]
    conformance: list[ConformanceResult]
    claims: Claims
    data_gaps: list[str]
    screening: Screening | None = Field(default=None, exclude_if=_absent,
                                        description="Regulatory BFR screening (absent: evidence made before it).")
    ident_mismatches: list[IdentMismatch] = Field(default_factory=list, description="Camera identifications "
                                                  "that disagree with intake records (also in data_gaps).")
    data_gap_codes: list[Reason] = Field(default_factory=list, description="``data_gaps`` as codes, in order.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def as_json(self) -> dict[str, Any]:
        """The document as JSON types (what the json format writes and the JWS signs)."""
        return self.model_dump(mode="json", by_alias=True)
