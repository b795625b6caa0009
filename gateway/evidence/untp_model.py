"""The UNTP 0.6.1 credentials this gateway writes, typed (``untp.py`` fills them from the Evidence).

Field names are the UNTP JSON-LD keys; fields an object does not carry are absent from its JSON.
Validated against the published UNTP schemas in tests/evidence/test_formats.py.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _absent(value: Any) -> bool:
    return value is None


class _Untp(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_json(self) -> dict[str, Any]:
        """The JSON-LD object (``@context`` by its alias, absent fields left out)."""
        return self.model_dump(mode="json", by_alias=True)


class Issuer(_Untp):
    type: list[str] = ["CredentialIssuer"]
    id: str
    name: str


class MetricValue(_Untp):
    value: float
    unit: str = Field(description="UN/ECE rec 20: P1 (percent, value 0-100), 59 (ppm = mg/kg by mass), KGM.")


class Metric(_Untp):
    """A declared value. ``score`` qualifies values that are not measurements: "<LOD" (not detected; the value
    is the limit of detection) or "upper bound" (the value bounds the quantity from above)."""

    metricName: str
    metricValue: MetricValue
    score: str | None = Field(default=None, exclude_if=_absent)
    accuracy: float | None = Field(default=None, exclude_if=_absent, ge=0, le=1)


class Body(_Untp):
    """A party named by a standard or regulation (issuingParty, administeredBy)."""

    id: str
    name: str


class Standard(_Untp):
    type: list[str] = ["Standard"]
    id: str
    name: str
    issuingParty: Body


class Regulation(_Untp):
    type: list[str] = ["Regulation"]
    id: str
    name: str
    administeredBy: Body


class Criterion(_Untp):
    type: list[str] = ["Criterion"]
    id: str
    name: str
    description: str
    conformityTopic: str
    status: str = "active"
    thresholdValue: Metric | None = Field(default=None, exclude_if=_absent)


class VerifiedProduct(_Untp):
    id: str
    name: str
    batchNumber: str


class ProductVerification(_Untp):
    type: list[str] = ["ProductVerification"]
    product: VerifiedProduct
    IDverifiedByCAB: bool = False


class Conformity(_Untp):
    """What a DCC assessment and a DPP claim have in common (the claim is made from the assessment)."""

    type: list[str]
    id: str
    description: str
    assessmentDate: str
    conformance: bool
    conformityTopic: str
    referenceStandard: Standard | None = Field(default=None, exclude_if=_absent)
    referenceRegulation: Regulation | None = Field(default=None, exclude_if=_absent)
    assessmentCriteria: list[Criterion] | None = Field(default=None, exclude_if=_absent)
    declaredValue: list[Metric]


class Assessment(Conformity):
    type: list[str] = ["ConformityAssessment", "Declaration"]
    name: str
    assessedProduct: list[ProductVerification]


class Party(_Untp):
    id: str
    name: str


class Attestation(_Untp):
    type: list[str] = ["ConformityAttestation", "Attestation"]
    id: str
    name: str
    assessorLevel: str = "Self"
    assessmentLevel: str = "Unspecified"
    attestationType: str = "declaration"
    description: str
    issuedToParty: Party
    assessment: list[Assessment]


class _Credential(_Untp):
    """What every UNTP credential carries before its subject (VCDM 2.0 envelope of the unsigned payload)."""

    type: list[str]
    context: list[str] = Field(serialization_alias="@context")
    id: str
    issuer: Issuer
    validFrom: str


class ConformityCredential(_Credential):
    """DigitalConformityCredential (unsigned)."""

    type: list[str] = ["DigitalConformityCredential", "VerifiableCredential"]
    credentialSubject: Attestation


class QuantityElement(_Untp):
    type: list[str] = ["QuantityElement"]
    productId: str
    productName: str
    quantity: float
    uom: str


class Item(_Untp):
    type: list[str] = ["Item"]
    id: str
    name: str


class Sensor(_Untp):
    type: list[str] = ["Sensor"]
    device: Item


class SensorData(_Untp):
    type: list[str] = ["SensorData"]
    time: str
    sensorType: str
    value: float
    uom: str


class SensorElement(_Untp):
    """One measuring function's data; ``sensorMetadata`` only when exactly one device produced it."""

    type: list[str] = ["SensorElement"]
    sensorMetadata: Sensor | None = Field(default=None, exclude_if=_absent)
    sensorReport: list[SensorData]


class TraceabilityEvent(_Untp):
    """One EPCIS event as a UNTP DTE event object."""

    type: list[str]
    id: str
    eventTime: str
    action: str
    bizStep: str
    processType: str
    disposition: str | None = Field(default=None, exclude_if=_absent)
    inputQuantityList: list[QuantityElement] | None = Field(default=None, exclude_if=_absent)
    outputQuantityList: list[QuantityElement] | None = Field(default=None, exclude_if=_absent)
    quantityList: list[QuantityElement] | None = Field(default=None, exclude_if=_absent)
    bizLocation: str | None = Field(default=None, exclude_if=_absent)
    sensorElementList: list[SensorElement] | None = Field(default=None, exclude_if=_absent)


class TraceabilityCredential(_Credential):
    """DigitalTraceabilityEvent (unsigned)."""

    type: list[str] = ["DigitalTraceabilityEvent", "VerifiableCredential"]
    credentialSubject: list[TraceabilityEvent]


class Measure(_Untp):
    value: float
    unit: str


class Link(_Untp):
    linkURL: str
    linkName: str
    linkType: str


class SecureLink(_Untp):
    """A link to another credential with the SHA-256 of the exact bytes it was issued as."""

    linkURL: str
    linkName: str
    linkType: str
    hashDigest: str
    hashMethod: str = "SHA-256"
    encryptionMethod: str = "none"


class Dimension(_Untp):
    weight: Measure


class PassportProduct(_Untp):
    type: list[str] = ["Product"]
    id: str
    name: str
    batchNumber: str
    description: str
    producedByParty: Body
    productionDate: str | None = Field(default=None, exclude_if=_absent)
    dimensions: Dimension


class Claim(Conformity):
    """A conformity claim of the passport: the DCC assessment it rests on, linked as conformityEvidence."""

    type: list[str] = ["Claim", "Declaration"]
    conformityEvidence: SecureLink


class Material(_Untp):
    name: str
    massFraction: float = Field(ge=0, le=1)
    mass: Measure
    recycledMassFraction: float | None = Field(default=None, exclude_if=_absent, ge=0, le=1)


class Circularity(_Untp):
    recycledContent: float | None = Field(default=None, exclude_if=_absent, ge=0, le=1)


class TraceabilityPerformance(_Untp):
    valueChainProcess: str
    verifiedRatio: float = Field(ge=0, le=1)
    traceabilityEvent: list[SecureLink]


class ProductPassport(_Untp):
    type: list[str] = ["ProductPassport"]
    id: str
    product: PassportProduct
    granularityLevel: str = "batch"
    conformityClaim: list[Claim]
    circularityScorecard: Circularity
    traceabilityInformation: list[TraceabilityPerformance]
    materialsProvenance: list[Material]


class PassportCredential(_Credential):
    """DigitalProductPassport (unsigned)."""

    type: list[str] = ["DigitalProductPassport", "VerifiableCredential"]
    credentialSubject: ProductPassport
