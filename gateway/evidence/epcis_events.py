"""The EPCIS 2.0 events this gateway writes, typed: ``epcis.py`` builds them from the Evidence, the EPCIS
document and the UNTP traceability events are both serialised from them (so the two cannot drift).

Field names are the EPCIS JSON-LD keys (``rcy:`` extension keys via aliases); fields a given event does
not carry are absent from its JSON, as the standard's schema expects.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _absent(value: Any) -> bool:
    return value is None


def _empty(value: Any) -> bool:
    return value is None or value == []


class _Epcis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_json(self) -> dict[str, Any]:
        """The JSON-LD object (aliases, absent fields left out)."""
        return self.model_dump(mode="json", by_alias=True)


class Quantity(_Epcis):
    epcClass: str = Field(description="The lot: LGTIN (EPC class URN or GS1 Digital Link) or urn:junkan:lot:...")
    quantity: float
    uom: Literal["KGM"] = "KGM"


class Product(_Epcis):
    model: str = Field(serialization_alias="rcy:model")
    items: int = Field(serialization_alias="rcy:items")
    attributed_kg: float = Field(serialization_alias="rcy:attributedKg")


class MassBalanceExt(_Epcis):
    input_kg: float = Field(serialization_alias="rcy:inputKg")
    output_kg: float = Field(serialization_alias="rcy:outputKg")
    declared_loss_kg: float = Field(serialization_alias="rcy:declaredLossKg")
    ok: bool = Field(serialization_alias="rcy:ok")


class MassReport(_Epcis):
    type: Literal["Mass"] = "Mass"
    value: float
    uom: Literal["KGM"] = "KGM"
    time: str
    feature: str = Field(serialization_alias="rcy:feature")


class AnalyteReport(_Epcis):
    """One analyte's screening over the lot, in mg/kg: lot statistics (meanValue, maxValue, p95 as percRank /
    percValue). Censoring (``rcy:censoring``): ``none``; ``partial`` (some readings '<LOD': the mean is the
    Kaplan-Meier estimate); ``all_below_lod`` (no value, no mean: ``maxValue`` is the LOD as an upper bound).
    ``rcy:maxValueIsUpperBound`` says maxValue is a bound, not a reading (a LOD above every detect)."""

    type: Literal["Dimensionless"] = "Dimensionless"
    uom: Literal["59"] = "59"
    time: str
    chemicalSubstance: str | None = Field(default=None, exclude_if=_absent)
    analyte: str | None = Field(default=None, serialization_alias="rcy:analyte", exclude_if=_absent,
                                description="The analyte as the screening names it (Cr = total chromium, "
                                            "not CrVI), beside its CAS substance.")
    meanValue: float | None = Field(default=None, exclude_if=_absent)
    maxValue: float | None = Field(default=None, exclude_if=_absent)
    percRank: int | None = Field(default=None, exclude_if=_absent)
    percValue: float | None = Field(default=None, exclude_if=_absent)
    value: float | None = Field(default=None, exclude_if=_absent)
    method: str | None = Field(default=None, serialization_alias="rcy:method", exclude_if=_absent)
    lod_ppm: float | None = Field(default=None, serialization_alias="rcy:lodPpm", exclude_if=_absent)
    n: int = Field(serialization_alias="rcy:n")
    n_below_lod: int = Field(serialization_alias="rcy:nBelowLod")
    censoring: Literal["none", "partial", "all_below_lod"] = Field(serialization_alias="rcy:censoring")
    max_is_bound: bool = Field(serialization_alias="rcy:maxValueIsUpperBound")


class PolymerShareReport(_Epcis):
    type: Literal["rcy:PolymerMassShare"] = "rcy:PolymerMassShare"
    stringValue: str = Field(description="The polymer.")
    value: float = Field(description="Mass share, %.")
    uom: Literal["P1"] = "P1"
    time: str
    minValue: float
    maxValue: float


SensorReport = MassReport | AnalyteReport | PolymerShareReport


class SensorMetadata(_Epcis):
    """The one device that produced an element's values: its id, what kind of instrument it is, when."""

    deviceID: str
    deviceMetadata: str = Field(description="Device type as a vocabulary URI (rcy:DeviceType-...).")
    startTime: str | None = Field(default=None, exclude_if=_absent)
    endTime: str | None = Field(default=None, exclude_if=_absent)
    device_type: str = Field(serialization_alias="rcy:deviceType")
    driver: str | None = Field(default=None, serialization_alias="rcy:driver", exclude_if=_absent)


class SensorElement(_Epcis):
    """Values one measuring function produced (weighing, XRF, NIR), with the device(s) whose stored readings
    they come from: ``sensorMetadata`` only when exactly one device did; ``rcy:devices`` lists them all
    (empty: the lot's stored readings name none, e.g. a measurement sent without its readings)."""

    sensorReport: list[SensorReport]
    sensorMetadata: SensorMetadata | None = Field(default=None, exclude_if=_absent)
    function: str = Field(serialization_alias="rcy:function")
    devices: list[str] = Field(serialization_alias="rcy:devices")
    degraded: list[str] | None = Field(default=None, serialization_alias="rcy:degraded", exclude_if=_empty,
                                       description="Why the data of these devices is impaired (DEVICE: reason), "
                                                   "as the measurement flagged it; absent when it is not.")


class ReadPoint(_Epcis):
    id: str


class PersistentDisposition(_Epcis):
    set: list[str]


class SpecResult(_Epcis):
    spec: str = Field(serialization_alias="rcy:spec")
    result: str = Field(serialization_alias="rcy:result")


class IntakeEvent(_Epcis):
    """An intake lot received (ObjectEvent OBSERVE / receiving)."""

    type: Literal["ObjectEvent"] = "ObjectEvent"
    eventID: str
    eventTime: str
    eventTimeZoneOffset: str = "+00:00"
    action: Literal["OBSERVE"] = "OBSERVE"
    bizStep: Literal["receiving"] = "receiving"
    disposition: Literal["in_progress"] = "in_progress"
    quantityList: list[Quantity]
    mass_source: Literal["intake_record", "step_inputs", "attributed"] = Field(
        serialization_alias="rcy:massSource", description="Where the quantity comes from: the intake record's "
        "net mass, else the mass this lineage's steps took in from the lot, else its share attributed here.")
    source_stream: str | None = Field(serialization_alias="rcy:sourceStream")
    consumer: str | None = Field(serialization_alias="rcy:consumer")
    products: list[Product] = Field(serialization_alias="rcy:products")
    plant: str | None = Field(default=None, serialization_alias="rcy:plant", exclude_if=_absent)


class StepEvent(_Epcis):
    """A process step (TransformationEvent); quantity lists only when both sides are known; bizStep per step
    kind (``epcis.STEP_BIZSTEPS``)."""

    type: Literal["TransformationEvent"] = "TransformationEvent"
    eventID: str
    eventTime: str
    eventTimeZoneOffset: str = "+00:00"
    transformationID: str
    inputQuantityList: list[Quantity] | None = Field(default=None, exclude_if=_empty)
    outputQuantityList: list[Quantity] | None = Field(default=None, exclude_if=_empty)
    bizStep: Literal["disassembling", "creating_class_instance", "other"]
    disposition: Literal["active"] = "active"
    process_type: str = Field(serialization_alias="rcy:processType")
    mass_balance: MassBalanceExt = Field(serialization_alias="rcy:massBalance")


class MeasurementEvent(_Epcis):
    """The lot measured (ObjectEvent OBSERVE / inspecting with sensor data), disposition from the specs."""

    type: Literal["ObjectEvent"] = "ObjectEvent"
    eventID: str
    eventTime: str
    eventTimeZoneOffset: str = "+00:00"
    action: Literal["OBSERVE"] = "OBSERVE"
    bizStep: Literal["inspecting"] = "inspecting"
    quantityList: list[Quantity]
    readPoint: ReadPoint
    sensorElementList: list[SensorElement]
    devices: list[str] = Field(serialization_alias="rcy:devices")
    disposition: Literal["conformant", "non_conformant"] | None = Field(default=None, exclude_if=_absent)
    persistentDisposition: PersistentDisposition | None = Field(default=None, exclude_if=_absent)
    conformance: list[SpecResult] = Field(serialization_alias="rcy:conformance")
    claims_blocked: bool = Field(serialization_alias="rcy:claimsBlocked")
    screening: str | None = Field(default=None, serialization_alias="rcy:screening", exclude_if=_absent,
                                  description="Regulatory BFR screening: clear, pops_suspect, lab_confirmed, "
                                              "lab_failed (absent: evidence made before screening).")


Event = IntakeEvent | StepEvent | MeasurementEvent
