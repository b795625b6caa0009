"""Gateway settings: one validated model, loaded from YAML (optional) plus ``--set`` overrides."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.evidence import gs1
from gateway.specs.screening import ScreeningSettings
from junkan.core.config import format_validation_error, read_secret
from junkan.core.json_types import JsonObject
from junkan.core.mqtt import MqttConfig
from junkan.core.overrides import apply_overrides


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiSettings(_Model):
    host: str = Field(default="127.0.0.1", description="Address the REST API and dashboard listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port (0 picks a free one).")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses of reverse proxies whose X-Forwarded-For / -Proto headers "
        "are believed (the client IP of rate limiting). Empty (default): no forwarded header is trusted, "
        "from anywhere, loopback included.")


class IngestSettings(_Model):
    max_past_s: float = Field(default=366 * 86_400.0, gt=0, description="Readings (ts) and messages (sent_at) "
                              "older than this, by the gateway's clock, are dead-lettered (reason clock_window): "
                              "an outbox backlog is days old, a 1970 timestamp is a wrong clock.")
    max_future_s: float = Field(default=300.0, ge=0, description="Tolerated clock skew ahead of the gateway's "
                                "clock; later timestamps are dead-lettered (clock_window).")
    max_redeliveries: int = Field(default=5, ge=1, description="A message delivered this many times without "
                                  "its batch completing is dead-lettered (reason redelivered), not retried "
                                  "forever. A database outage does not count.")
    stall_after_s: float = Field(default=60.0, gt=0, description="/readyz answers 503 when a received message "
                                 "has waited longer than this for its commit and ack, or MQTT is down.")


class DeadLetterSettings(_Model):
    budget_bytes_per_agent: int = Field(default=10_000_000, ge=0, description="Raw payload bytes kept per "
                                        "agent; past it only the first keep_bytes of each payload are kept, "
                                        "with its size and sha256.")
    keep_bytes: int = Field(default=1024, ge=0, le=1_000_000, description="Head kept past the budget.")
    retention_days: float = Field(default=30.0, gt=0, description="Dead letters older than this are deleted.")


class AuthSettings(_Model):
    mode: Literal["open", "tokens"] = Field(
        default="open", description="open: requests without a token act as admin (loopback only, the plant-in-a-box); "
        "tokens: every API/dashboard request needs a valid token or session (production).")
    metrics: Literal["open", "engineer"] = Field(
        default="open", description="/metrics open to scrapers, or only for engineer/admin tokens.")
    session_ttl_s: int = Field(default=43_200, ge=60, description="Dashboard session lifetime (s).")
    max_failures_per_minute: int = Field(default=10, ge=1, description="Auth failures per client IP per minute "
                                         "before further attempts get 429.")


class EvidenceSettings(_Model):
    issuer_domain: str | None = Field(
        default=None, description="host[:port] of the plant's did:web identity (did:web:HOST%3APORT), whose "
        "/.well-known/did.json this gateway serves; null: derived from api.host and api.port (the plant-in-a-box). "
        "Behind a reverse proxy give the public name, e.g. recycler.example.")
    issuer_name: str = Field(default="junkan plant-in-a-box", max_length=200,
                             description="Plant operator named as issuer in every credential.")
    create_keys: bool = Field(default=True, description="At start, create the signing keyring when there is none "
                              "(and set its issuer to this identity).")


class Gs1Settings(_Model):
    """The plant's GS1 keys: with them, EPCIS names lots as LGTIN and the site as SGLN instead of private URNs.
    Check digits are computed (GS1 mod-10), never typed in; quote the digits in YAML ("0614141")."""

    model_config = ConfigDict(extra="forbid", strict=True)

    company_prefix: str = Field(description="GS1 Company Prefix licensed to the plant operator: 6 to 12 digits "
                                "(what the EPC LGTIN/SGLN schemes can carry).")
    item_reference: str = Field(description="Item reference of the plant's GTIN for its material lots; company "
                                "prefix + item reference = 12 digits. Every lot the plant records (intake, "
                                "intermediate, output) is a batch of this GTIN, its lot id the batch number.")
    indicator: str = Field(default="0", pattern=r"^[0-9]$", description="GTIN-14 indicator digit (0: the "
                           "GTIN-13 padded to 14).")
    location_reference: str | None = Field(default=None, description="Location reference of the plant's GLN "
                                           "(company prefix + location reference = 12 digits); null: lots get "
                                           "GS1 keys, the site keeps its private URN.")
    lot_uri: Literal["epc_urn", "digital_link"] = Field(
        default="epc_urn", description="How EPCIS writes a lot: urn:epc:class:lgtin:... (EPC URN) or the GS1 "
        "Digital Link https://id.gs1.org/01/{GTIN}/10/{lot}. A lot id GS1 cannot carry (over 20 characters) "
        "keeps its private URN either way.")

    @model_validator(mode="after")
    def _keys(self) -> Gs1Settings:
        try:
            gs1.gtin14(self.company_prefix, self.item_reference, self.indicator)
            if self.location_reference is not None:
                gs1.gln(self.company_prefix, self.location_reference)
        except gs1.Gs1Error as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def gtin(self) -> str:
        return gs1.gtin14(self.company_prefix, self.item_reference, self.indicator)

    @property
    def gln(self) -> str | None:
        return gs1.gln(self.company_prefix, self.location_reference) if self.location_reference else None


UntpFormat = Literal["untp-dpp-vc", "untp-dcc-vc", "untp-dte-vc"]  # the signed UNTP credentials


class UploadSettings(_Model):
    """The background upload worker of `junkan gateway serve` (gateway/upload/worker.py, docs/evidence.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = Field(default=False, description="Run the upload worker in `junkan gateway serve`: it "
                          "delivers the upload outbox (EPCIS capture, recycler webhooks) with retries. Off: "
                          "rows wait for `junkan gateway evidence-upload`.")
    capture_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000,
                                    description="EPCIS 2.0 repository base URL (/capture is appended) that "
                                    "lots closing are published to when publish_on_close is on.")
    capture_token_file: str | None = Field(default=None, description="File holding a bearer token for the "
                                           "capture repository (sent only to capture_url, never elsewhere).")
    capture_token_env: str | None = Field(default=None, description="Environment variable holding that token.")
    publish_on_close: bool = Field(default=False, description="Queue each closed, issuable lot's evidence "
                                   "(EPCIS to capture_url, the recycler's webhook if registered) once per "
                                   "target; this includes lots closed before it was turned on.")
    untp_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000,
                                 description="Optional: an endpoint that receives the lot's signed UNTP "
                                 "credentials (POST, one per format, enveloped VC-JWT) when publish_on_close "
                                 "is on; null: none are sent.")
    untp_formats: list[UntpFormat] = Field(
        default_factory=lambda: list[UntpFormat](["untp-dpp-vc", "untp-dcc-vc"]), min_length=1,
        description="Which signed UNTP credentials go to untp_url.")
    interval_s: float = Field(default=5.0, gt=0, le=3600, description="Seconds between passes over the "
                              "outbox (and the scan for newly closed lots).")
    max_attempts: int = Field(default=12, ge=1, le=1000, description="Attempts before a row is dead-lettered "
                              "(state failed, the last error kept); a permanent refusal (4xx) fails at once.")
    backoff_base_s: float = Field(default=1.0, gt=0, description="Delay after the first transient failure; "
                                  "doubled after each further one.")
    backoff_max_s: float = Field(default=600.0, gt=0, description="Longest delay between two attempts.")
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="HTTP timeout of one request; a row's "
                             "claim (lease) lasts a few times this, so a worker killed mid-delivery releases it.")

    def capture_token(self) -> str | None:
        return read_secret(self.capture_token_file, self.capture_token_env)


class GatewaySettings(_Model):
    db_url: str = Field(default="sqlite:///var/gateway.db", description="sqlite:///PATH or postgresql://...")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection.")
    api: ApiSettings = Field(default_factory=ApiSettings, description="REST API / dashboard.")
    share_group: str = Field(default="junkan-gateway", description="MQTT shared-subscription group of the workers.")
    worker_id: str = Field(default="gw1", description="Unique per worker process; part of the MQTT client id.")
    batch_max: int = Field(default=500, ge=1, description="Messages committed per transaction at most.")
    max_payload_bytes: int = Field(default=1_000_000, ge=1024, description="Larger payloads are dead-lettered.")
    consume: bool = Field(default=True, description="Run the MQTT consumer (off: API only, e.g. for exports).")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="API/dashboard authentication.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Validation window, "
                                   "redelivery limit, readiness.")
    dead_letters: DeadLetterSettings = Field(default_factory=DeadLetterSettings,
                                             description="Dead-letter byte budget and retention.")
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings, description="The plant as an issuer of "
                                       "evidence: its did:web identity and signing keys.")
    gs1: Gs1Settings | None = Field(default=None, description="The plant's GS1 company prefix and keys (GTIN "
                                    "for its lots, GLN for its site); null: EPCIS uses private URNs.")
    upload: UploadSettings = Field(default_factory=UploadSettings, description="Background delivery of "
                                   "evidence (EPCIS capture, webhooks): retries, backoff, dead-letter.")
    screening: ScreeningSettings = Field(default_factory=ScreeningSettings, description="Always-on BFR "
                                         "screening of every lot (POPs-suspect threshold on XRF total Br).")

    @model_validator(mode="after")
    def _open_only_on_loopback(self) -> GatewaySettings:
        """Open mode trusts every caller, so it must not listen beyond this machine."""
        if self.auth.mode == "open" and not is_loopback(self.api.host):
            raise ValueError(f"auth.mode 'open' needs a loopback api.host, got {self.api.host!r}: "
                             "use auth.mode=tokens (see docs/security.md)")
        return self


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(Exception):
    pass


def load_settings(path: str | Path | None, overrides: dict[str, object] | None = None) -> GatewaySettings:
    raw: JsonObject = {}  # the YAML tree, until GatewaySettings validates it
    where = Path(path) if path else Path("<defaults>")
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: top level must be a mapping")
        raw = loaded
    try:
        apply_overrides(raw, overrides)
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    try:
        return GatewaySettings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(where, exc)) from None
