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
    unit: str = Field(description="UN/CEFACT rec 20: P1 (percent), 59 (mg/kg).")


class Metric(_Untp):
    metricName: str
    metricValue: MetricValue


class VerifiedProduct(_Untp):
    id: str
    name: str
    batchNumber: str


class ProductVerification(_Untp):
    type: list[str] = ["ProductVerification"]
    product: VerifiedProduct
    IDverifiedByCAB: bool = False


class Assessment(_Untp):
    type: list[str] = ["ConformityAssessment", "Declaration"]
    id: str
    name: str
    description: str
    assessmentDate: str
    conformance: bool
    conformityTopic: str
    declaredValue: list[Metric]
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


class ConformityCredential(_Untp):
    """DigitalConformityCredential (unsigned)."""

    type: list[str] = ["DigitalConformityCredential", "VerifiableCredential"]
    context: list[str] = Field(serialization_alias="@context")
    id: str
    issuer: Issuer
    validFrom: str
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
    type: list[str] = ["SensorElement"]
    sensorMetadata: Sensor
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


class TraceabilityCredential(_Untp):
    """DigitalTraceabilityEvent (unsigned)."""

    type: list[str] = ["DigitalTraceabilityEvent", "VerifiableCredential"]
    context: list[str] = Field(serialization_alias="@context")
    id: str
    issuer: Issuer
    validFrom: str
    credentialSubject: list[TraceabilityEvent]
