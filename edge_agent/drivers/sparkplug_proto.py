"""The Sparkplug B payload schema, for Google's protobuf runtime.

Sparkplug B 3.0 payloads are protobuf messages (spec ch.6 "Payload"; the schema is Eclipse Tahu's
``sparkplug_b.proto``, proto2, package ``org.eclipse.tahu.protobuf``). The schema is declared here as a
descriptor instead of shipping Tahu's generated ``sparkplug_b_pb2.py``: that file predates protoc 3.19 and
fails on protobuf >= 4 ("Descriptors cannot be created directly"), and a .proto would need protoc at build
time. Field numbers and types are the wire contract; ``tests/devices/test_sparkplug_b.py`` checks them
against pysparkplug's compiled copy of Tahu's schema and decodes payloads that library encoded.

Only what a host needs is declared: DataSet, Template and extension values (Metric fields 17-19) and
Metric.metadata (8) stay unknown fields, so such a metric decodes with no value and the driver says so.
The messages live in a private descriptor pool, so another Sparkplug library in the same process cannot
clash with these names.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "junkan.sparkplug_b"
F: Any = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED

# DataType enum values (spec ch.6 "Datatype Details").
INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 = 1, 2, 3, 4, 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT, UUID = 9, 10, 11, 12, 13, 14, 15
DATASET, BYTES, FILE, TEMPLATE = 16, 17, 18, 19
INTEGER_TYPES = {INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, DATETIME}
SIGNED_32 = {INT8, INT16, INT32}


def _field(name: str, number: int, ftype: int, label: int = _OPT, type_name: str = "",
           oneof: int | None = None) -> Any:
    f = F(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = f".{PACKAGE}.Payload.{type_name}" if type_name != "Payload" else f".{PACKAGE}.Payload"
    if oneof is not None:
        f.oneof_index = oneof
    return f


def _message(name: str, fields: list[Any], oneofs: tuple[str, ...] = ()) -> descriptor_pb2.DescriptorProto:
    msg = descriptor_pb2.DescriptorProto(name=name, field=fields)
    for o in oneofs:
        msg.oneof_decl.add(name=o)
    return msg


def _file() -> descriptor_pb2.FileDescriptorProto:
    u64, u32, s, b, fl, db, by, msg = (F.TYPE_UINT64, F.TYPE_UINT32, F.TYPE_STRING, F.TYPE_BOOL, F.TYPE_FLOAT,
                                       F.TYPE_DOUBLE, F.TYPE_BYTES, F.TYPE_MESSAGE)
    property_value = _message("PropertyValue", [
        _field("type", 1, u32), _field("is_null", 2, b),
        _field("int_value", 3, u32, oneof=0), _field("long_value", 4, u64, oneof=0),
        _field("float_value", 5, fl, oneof=0), _field("double_value", 6, db, oneof=0),
        _field("boolean_value", 7, b, oneof=0), _field("string_value", 8, s, oneof=0),
        _field("propertyset_value", 9, msg, type_name="PropertySet", oneof=0),
        _field("propertysets_value", 10, msg, type_name="PropertySetList", oneof=0),
    ], ("value",))
    property_set = _message("PropertySet", [
        _field("keys", 1, s, _REP), _field("values", 2, msg, _REP, "PropertyValue"),
    ])
    property_set_list = _message("PropertySetList", [_field("propertyset", 1, msg, _REP, "PropertySet")])
    metric = _message("Metric", [
        _field("name", 1, s), _field("alias", 2, u64), _field("timestamp", 3, u64), _field("datatype", 4, u32),
        _field("is_historical", 5, b), _field("is_transient", 6, b), _field("is_null", 7, b),
        _field("properties", 9, msg, type_name="PropertySet"),
        _field("int_value", 10, u32, oneof=0), _field("long_value", 11, u64, oneof=0),
        _field("float_value", 12, fl, oneof=0), _field("double_value", 13, db, oneof=0),
        _field("boolean_value", 14, b, oneof=0), _field("string_value", 15, s, oneof=0),
        _field("bytes_value", 16, by, oneof=0),
    ], ("value",))
    payload = _message("Payload", [
        _field("timestamp", 1, u64), _field("metrics", 2, msg, _REP, "Metric"), _field("seq", 3, u64),
        _field("uuid", 4, s), _field("body", 5, by),
    ])
    payload.nested_type.extend([property_value, property_set, property_set_list, metric])
    return descriptor_pb2.FileDescriptorProto(name="junkan_sparkplug_b.proto", package=PACKAGE, syntax="proto2",
                                              message_type=[payload])


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
Payload: Any = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.Payload"))


def schema_fields() -> dict[str, dict[str, tuple[int, int, int]]]:
    """{message: {field: (number, type, label)}} of the declared schema (what the cross-check compares)."""
    out: dict[str, dict[str, tuple[int, int, int]]] = {}
    for m in [_file().message_type[0], *_file().message_type[0].nested_type]:
        out[m.name] = {f.name: (f.number, f.type, f.label) for f in m.field}
    return out


def metric_value(metric: Any, datatype: int) -> tuple[Any, str | None]:
    """The metric's value as Python (signed ints restored, spec ch.6), or (None, why not)."""
    if metric.is_null:
        return None, "null"
    which = metric.WhichOneof("value")
    if which is None:
        return None, "no value (DataSet/Template/extension values are not supported)"
    value = getattr(metric, which)
    if which == "int_value" and datatype in SIGNED_32 and value >= 1 << 31:
        value -= 1 << 32
    elif which == "long_value" and datatype == INT64 and value >= 1 << 63:
        value -= 1 << 64
    return value, None


def property_value(metric: Any, key: str) -> Any:
    """A scalar property of a metric (PropertySet keys/values), or None when absent or null."""
    if not metric.HasField("properties"):
        return None
    props = metric.properties
    for k, v in zip(props.keys, props.values, strict=False):
        if k == key and not v.is_null:
            which = v.WhichOneof("value")
            return getattr(v, which) if which and which not in ("propertyset_value", "propertysets_value") else None
    return None


def rebirth_request(timestamp_ms: int) -> bytes:
    """NCMD payload asking an edge node to republish its BIRTHs: ``Node Control/Rebirth`` = true."""
    p = Payload(timestamp=timestamp_ms)
    p.metrics.add(name="Node Control/Rebirth", timestamp=timestamp_ms, datatype=BOOLEAN, boolean_value=True)
    return bytes(p.SerializeToString())
