"""Shared fixtures: a real Mosquitto per test on a free loopback port, temp stores, a plant in a box."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from junkan.broker import Mosquitto

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI clones beside ../shared as well; allow an override
    SHARED = Path(os.environ.get("JUNKAN_SHARED", "../shared")).resolve()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private broker for this test (never the system one on 1883); tests may kill/restart it."""
    broker = Mosquitto(tmp_path / "broker").start()
    yield broker
    broker.stop()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared reference folder not present")
    return SHARED


@pytest.fixture
def sqlite_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from gateway.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "gateway.db")
    yield store
    store.close()
