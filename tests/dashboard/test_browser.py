"""The dashboard in Debian's Chromium (Playwright) against a real plant in a box.

Broker, `junkan gateway serve` and `junkan agent run` run as processes (``junkan.plant.Plant``), the
MT-SICS scale simulator on a PTY plays containers being filled. The browser checks that the Lines page
loads, the live mass moves, an operator opens and closes lots with the buttons, a recycler sees only
its own lots, and an evidence PDF downloads. Screenshots go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.auth import AuthRepo
from gateway.store.sqlite import SqliteStore
from junkan.plant import Plant
from simulators.commands.scale import rest_operator
from simulators.pty_port import PtyPort
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import ContainerScenario, PlatformScale

pytestmark = [pytest.mark.browser, pytest.mark.integration]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
FAST = {"devices.0.poll_interval_s": 0.05, "outbox.ack_timeout_s": 2, "status_interval_s": 0.5}


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[tuple[Plant, threading.Event, Any]]:
    """A running line and a ``start()`` for its scenario; the simulated operator only opens the first lot —
    closing is the browser's job."""
    plant = Plant(tmp_path / "plant")
    port = PtyPort()
    scale = PlatformScale(seed=5)
    scenario = ContainerScenario(line="line-1", lots=1, speed=2.5, seed=5, containers_per_lot=(2, 2))
    filled = threading.Event()
    opener = rest_operator(plant.api, "line-1")

    def operator(action: str, lot_id: str) -> None:
        if action == "open":
            opener(action, lot_id)
        else:
            filled.set()  # the scenario would close now; leave it to the browser

    try:
        plant.start_broker()
        plant.start_gateway()
        threading.Thread(target=MtSicsDevice(scale, port, seed=5).serve, args=(plant.stop_event,), daemon=True).start()
        plant.start_agent(plant.agent_config({"scale-pp": port.path}, overrides=FAST))
        plant.wait_agent_online("agent-line-1")
        player = threading.Thread(target=scenario.run, args=(scale, plant.stop_event, operator), daemon=True)
        yield plant, filled, player.start
    finally:
        plant.stop()
        port.close()


def add_user(plant: Plant, name: str, role: str) -> str:
    store = SqliteStore(plant.db_path)
    try:
        return AuthRepo(store.db).add_user(name, role)
    finally:
        store.close()


def put(plant: Plant, path: str, body: dict[str, Any]) -> None:
    import json
    import urllib.request

    req = urllib.request.Request(plant.api + path, data=json.dumps(body).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def test_dashboard_end_to_end(plant: tuple[Plant, threading.Event, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install -y chromium (make install does it)"
    line, filled, start_scenario = plant
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            operator_page = browser.new_page(viewport={"width": 1280, "height": 900})
            # 1. the page loads (open mode: the plant-in-a-box operator needs no login)
            operator_page.goto(line.api + "/")
            expect(operator_page).to_have_url(line.api + "/lines")
            box = operator_page.locator('section.line[data-line="line-1"] .lot-box')
            operator_page.wait_for_function(
                "() => document.getElementById('live-dot').dataset.updates > 0", timeout=15_000)
            start_scenario()
            expect(box.locator('[data-field="lot_id"] a')).to_have_text("line-1-L005-0001", timeout=20_000)
            # 2. live mass changes over SSE while containers are filled and weighed, without a reload
            mass = box.locator('[data-field="live_mass_kg"]')
            seen: list[str] = []
            for _ in range(160):
                value = mass.inner_text()
                if value != "\u2014" and value not in seen:
                    seen.append(value)
                if len(seen) >= 3 or filled.is_set():
                    break
                operator_page.wait_for_timeout(200)
            assert len(seen) >= 3, f"live mass did not move: {seen}"
            assert float(seen[-1]) > float(seen[0]), seen
            operator_page.screenshot(path=str(ARTIFACTS / "01-lines-live.png"), full_page=True)
            # 3. the operator closes the lot with the button, then opens and closes a second one
            assert filled.wait(60), "scenario did not finish filling"
            expect(box.locator('[data-field="n_weighings"]')).to_have_text("2", timeout=20_000)
            box.locator('button[data-action="close"]').click()
            expect(box.locator('[data-field="act_result"]')).to_contain_text("close", timeout=10_000)
            first = line.wait_for(lambda: [lot for lot in line.get("/api/v1/lots?status=closed")
                                           if lot["lot_id"] == "line-1-L005-0001"], 30, "first lot closed")[0]
            assert first["close_reason"] == "operator" and first["n_weighings"] == 2
            box.locator('button[data-action="open"]').click()
            expect(box.locator('[data-field="lot_id"] a')).not_to_have_text("line-1-L005-0001", timeout=20_000)
            second_id = box.locator('[data-field="lot_id"] a').inner_text()
            box.locator('button[data-action="close"]').click()
            line.wait_for(lambda: any(lot["lot_id"] == second_id and lot["status"] == "closed"
                                      for lot in line.get("/api/v1/lots")), 30, "second lot closed")
            operator_page.goto(f"{line.api}/lots/{first['lot_id']}")
            expect(operator_page.locator('[data-test="lot-status"]')).to_have_text("closed")
            operator_page.screenshot(path=str(ARTIFACTS / "02-lot-closed.png"), full_page=True)

            # 4. lots addressed to two recyclers; recycler A logs in and sees only its own
            put(line, f"/api/v1/lots/{first['lot_id']}/recycler", {"recycler": "recycler-a"})
            put(line, f"/api/v1/lots/{second_id}/recycler", {"recycler": "recycler-b"})
            token = add_user(line, "recycler-a", "recycler")
            recycler = browser.new_context(accept_downloads=True).new_page()
            recycler.goto(line.api + "/login")
            recycler.fill("input[name=token]", token)
            recycler.click("form.login button[type=submit]")
            expect(recycler.locator('[data-test="user"]')).to_have_text("recycler-a")
            expect(recycler).to_have_url(line.api + "/lots")
            rows = recycler.locator("table.lots tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_have_attribute("data-lot", first["lot_id"])
            recycler.screenshot(path=str(ARTIFACTS / "03-recycler-lots.png"), full_page=True)
            foreign = recycler.goto(f"{line.api}/lots/{second_id}")
            assert foreign is not None and foreign.status == 404
            assert recycler.goto(line.api + "/lines").status == 403  # type: ignore[union-attr]

            # 5. the evidence PDF downloads from the lot page
            recycler.goto(f"{line.api}/lots/{first['lot_id']}")
            link = recycler.locator('.evidence a[data-format="pdf"]')
            assert link.count() == 1, ("no evidence links: GET /api/v1/lots/{lot_id}/evidence is not served by "
                                       "this gateway (evidence engineer's endpoint missing)")
            with recycler.expect_download() as info:
                link.click()
            pdf = Path(info.value.path())
            assert pdf.read_bytes()[:5] == b"%PDF-", pdf.read_bytes()[:40]
            recycler.screenshot(path=str(ARTIFACTS / "04-recycler-lot.png"), full_page=True)
        finally:
            browser.close()
