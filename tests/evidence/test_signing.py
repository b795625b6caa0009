"""VC-JWT signing and offline verification with the plant key: any flipped byte, a wrong or rotated key, are
caught (trust anchors and revocation: test_trust.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence import keys
from gateway.evidence.formats import produce
from gateway.evidence.signing import enveloped, sign, verify_token
from junkan.verify import verify


@pytest.fixture
def signed(plant: dict[str, Any], tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "keys"
    keys.generate(folder, {"name": "Plant A", "id": "did:web:plant-a.example"})
    token, _ = produce(plant["store"], "PP-OUT-1", "jws", folder)
    path = tmp_path / "PP-OUT-1.jwt"
    path.write_bytes(token)
    pub = tmp_path / "plant_public_key.pem"
    pub.write_bytes(keys.active(folder).public_pem())
    return path, pub


def test_header_and_payload(signed: tuple[Path, Path]) -> None:
    path, pub = signed
    result = verify_token(path.read_text().strip(), pub.read_bytes())
    assert result["header"]["alg"] == "EdDSA" and result["header"]["typ"] == "vc+jwt"
    assert result["header"]["kid"].startswith("did:web:plant-a.example#")
    vc = result["payload"]
    assert "VerifiableCredential" in vc["type"] and vc["credentialSubject"]["lot"]["lot_id"] == "PP-OUT-1"
    assert vc["issuer"]["id"] == "did:web:plant-a.example"


def test_every_flipped_byte_fails(signed: tuple[Path, Path], tmp_path: Path) -> None:
    path, pub = signed
    original = path.read_bytes().rstrip(b"\n")
    assert verify(str(path), key=str(pub))[0] == 0
    tampered = tmp_path / "t.jwt"
    positions = sorted(set(range(0, len(original), max(1, len(original) // 400))) | {len(original) - 1,
                                                                                     len(original) - 2})
    for pos in positions:
        data = bytearray(original)
        data[pos] ^= 0x01
        tampered.write_bytes(bytes(data))
        assert verify(str(tampered), key=str(pub))[0] == 1, pos
    assert "INVALID" in verify(str(tampered), key=str(pub))[1]
    head = original.split(b".")[0]
    for pos in range(len(head)):  # every byte of the protected header (alg, typ, kid)
        data = bytearray(original)
        data[pos] ^= 0x01
        tampered.write_bytes(bytes(data))
        assert verify(str(tampered), key=str(pub))[0] == 1, pos


def test_payload_swapped_and_resigned_with_other_key_fails(signed: tuple[Path, Path], tmp_path: Path) -> None:
    path, pub = signed
    _, body, _ = path.read_text().strip().split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["credentialSubject"]["lot"]["net_mass_kg"] = 999.0
    forger = keys.generate(tmp_path / "forger", {"name": "Plant A", "id": "did:web:plant-a.example"})
    forged = tmp_path / "forged.jwt"
    forged.write_text(sign(payload, forger))
    forged.write_text(sign(payload, forger, embed_jwk=True))
    assert verify_token(forged.read_text(), forger.public_pem())  # self-consistent with its own embedded key...
    assert verify(str(forged), key=str(pub))[0] == 1  # ...but not signed by the plant
    assert verify(str(forged), trust=str(tmp_path / "none.json"))[0] == 2  # and never trusted by itself


def test_rotation_keeps_old_evidence_verifiable(signed: tuple[Path, Path], tmp_path: Path) -> None:
    path, _ = signed
    new = keys.rotate(tmp_path / "keys")
    ring = keys.load_ring(tmp_path / "keys")
    assert ring.active == new.kid and len(ring.keys) == 2 and ring.keys[0].retired_at
    old_kid = ring.keys[0].kid
    old_pub = tmp_path / "old.pem"
    old_pub.write_bytes(keys.public_keys(tmp_path / "keys")[old_kid])
    assert verify(str(path), key=str(old_pub))[0] == 0
    new_pub = tmp_path / "new.pem"
    new_pub.write_bytes(new.public_pem())
    assert verify(str(path), key=str(new_pub))[0] == 1


def test_enveloped_and_json_wrappers(signed: tuple[Path, Path], tmp_path: Path) -> None:
    path, pub = signed
    token = path.read_text().strip()
    env = tmp_path / "env.json"
    env.write_text(json.dumps(enveloped(token)))
    assert verify(str(env), key=str(pub))[0] == 0
    wrapped = tmp_path / "w.json"
    wrapped.write_text(json.dumps({"jws": token}))
    assert verify(str(wrapped), key=str(pub))[0] == 0
    assert verify(str(tmp_path / "missing.jwt"), key=str(pub))[0] == 2
    garbage = tmp_path / "g.jwt"
    garbage.write_bytes(b"\xff\xfe not text")
    assert verify(str(garbage), key=str(pub))[0] == 1


def test_junkan_verify_cli(signed: tuple[Path, Path], tmp_path: Path) -> None:
    path, pub = signed
    ok = subprocess.run([sys.executable, "-m", "junkan.cli", "verify", str(path), "--key", str(pub)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "VALID" in ok.stdout
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    bad = tmp_path / "bad.jwt"
    bad.write_bytes(bytes(data))
    fail = subprocess.run([sys.executable, "-m", "junkan.cli", "verify", str(bad), "--key", str(pub)],
                          capture_output=True, text=True, timeout=60)
    assert fail.returncode != 0 and "INVALID" in fail.stderr


def test_keys_refuse_overwrite_and_write_public_key(tmp_path: Path) -> None:
    keys.generate(tmp_path / "k")
    with pytest.raises(keys.KeyError_):
        keys.generate(tmp_path / "k")
    assert (tmp_path / "k" / f"{keys.active(tmp_path / 'k').kid}.key.pem").stat().st_mode & 0o077 == 0
    out = keys.write_plant_public_key(tmp_path)
    assert out.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert keys.write_plant_public_key(tmp_path).read_bytes() == out.read_bytes()  # loaded, not regenerated
