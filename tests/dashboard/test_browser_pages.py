"""Every dashboard page in Debian's Chromium, both languages (Accept-Language), 1366 px and 375 px.

A real `junkan gateway serve` (API only, no broker) over a store seeded through the gateway's own write path
and REST API: lots with measurements (one all '<LOD'), composition records, a process step (lineage), a
spec, a balance alarm, a dead letter. Fails on a console error, a page wider than its viewport, an English UI
string on a Japanese page, or a raw JSON body; a recycler's pass checks its landing page and that a staff
page is an HTML error page. Screenshots: test-artifacts/dashboard/pages/.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.auth import AuthRepo
from gateway.store.sqlite import SqliteStore
from junkan.broker import free_port, wait_for_port
from junkan.plant import Service
from tests.dashboard.seed import MEASUREMENT, Seeder, seed_tenants
from tests.dashboard.sweep import ARGS, CHROMIUM, sweep

pytestmark = [pytest.mark.browser, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "dashboard" / "pages"
STAFF_PAGES = ["/lines", "/lots", "/trends", "/lots/A-1", "/lots/A-2", "/lots/LOD-1", "/alarms", "/unmatched",
               "/composition", "/specs", "/report", "/dead-letters", "/login", "/lots/NO-SUCH"]
RECYCLER_PAGES = ["/", "/lots/A-1", "/lots/A-2", "/lines"]
# The evidence page (chart, tables) in each language: A-1 has a process step, A-2 a failed lab result.
EVIDENCE_PAGES = {lang: [f"/api/v1/lots/{lot}/evidence?format={fmt}" for lot in ("A-1", "A-2", "LOD-1")]
                  for lang, fmt in (("en", "html"), ("ja", "html-ja"))}
# A-2's GC-MS result: decaBDE above the POPs limit, so its screening fails and its claims are blocked with reasons.
FAILED_LAB = {"lab": "Kanto Analytical Lab", "method": "GC-MS IEC 62321-6:2015", "analysed_on": "2026-11-27",
              "report_sha256": "ab" * 32, "results": [
                  *({"analyte": g, "below_lod": True, "lod_mg_kg": 5.0}
                    for g in ("tetraBDE", "pentaBDE", "hexaBDE", "heptaBDE", "PBB")),
                  {"analyte": "decaBDE", "value_mg_kg": 900.0}, {"analyte": "PBDE", "value_mg_kg": 905.0}]}


def _call(api: str, method: str, path: str, body: Any, content_type: str = "application/json") -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(api + path, data=data, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=20) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    workdir = tmp_path_factory.mktemp("pages")
    db = workdir / "gateway.db"
    store = SqliteStore(db)
    try:
        seeder = seed_tenants(store)
        lod = json.loads(json.dumps(MEASUREMENT))
        lod["contaminants"]["Br"].update(n=29, n_below_lod=29, mean_ppm=2.0, p95_ppm=None, max_ppm=None,
                                         lod_ppm=5.0)
        Seeder(store).lot("LOD-1", measurement=lod)
        seeder.status(open_lot="LIVE-1", live_mass=123.4, frames_bad=2)
        detail = json.dumps({"balance": {"input_kg": 340.0, "output_kg": 300.0, "declared_loss_kg": 18.5,
                                         "unaccounted_kg": 21.5, "tolerance": 0.02, "ok": False, "reason": "x"},
                             "kind": "sorting"})
        store.db.execute("INSERT INTO balance_alarms (scope, ref, raised_at, detail) VALUES "
                         "('step', 'SORT-1', '2026-11-28T09:00:00+00:00', ?)", (detail,))
        store.db.execute("INSERT INTO dead_letters (topic, payload, reason, received_at) VALUES "
                         "('junkan/v1/site-a/line-1/agent-1/reading', X'7b7d', 'missing field body', "
                         "'2026-11-28T09:00:00+00:00')")
        repo = AuthRepo(store.db)
        assert repo.set_lot_recycler("LOD-1", "recycler-a")
        token = repo.add_user("recycler-a", "recycler")
    finally:
        store.close()
    port = free_port()
    service = Service("gateway", ["gateway", "serve", "--set", "consume=false", "--set", f"api.port={port}",
                                  "--set", f"db_url=sqlite:///{db}"], workdir, bound_to_parent=True).start()
    try:
        wait_for_port(port, timeout=30)
        api = f"http://127.0.0.1:{port}"
        csv = (REPO / "simulators/scenarios/compositions/tv_housings_bfr.csv").read_bytes()
        _call(api, "POST", "/api/v1/composition/import?filename=tv.csv", csv, "text/csv")
        _call(api, "PUT", "/api/v1/specs/pp-1", {"spec_id": "pp-1", "buyer": "Car Parts Co", "material": "PP",
                                                 "min_purity": 0.95, "limits": [{"analyte": "Br", "max_ppm": 100}]})
        _call(api, "POST", "/api/v1/lots/A-2/lab-confirmations", FAILED_LAB)
        _call(api, "POST", "/api/v1/process/steps", {  # 50 kg unaccounted: a violated balance (red outline)
            "step_id": "SHRED-0", "kind": "shredding", "plant": "demo-plant", "started_at": "2026-11-28T06:00:00Z",
            "ended_at": "2026-11-28T07:00:00Z", "inputs": [{"lot_id": "IN-0", "mass_kg": 400.0}],
            "outputs": [{"lot_id": "IN-1", "mass_kg": 200.0}, {"lot_id": "IN-2", "mass_kg": 140.0},
                        {"lot_id": "FINES-1", "mass_kg": 10.0}]})
        _call(api, "POST", "/api/v1/process/steps", {
            "step_id": "SORT-1", "kind": "sorting", "plant": "demo-plant", "started_at": "2026-11-28T08:00:00Z",
            "ended_at": "2026-11-28T08:30:00Z", "inputs": [{"lot_id": "IN-1", "mass_kg": 200.0},
                                                           {"lot_id": "IN-2", "mass_kg": 140.0}],
            "outputs": [{"lot_id": "A-1", "mass_kg": 321.5}], "losses": [{"kind": "dust", "mass_kg": 18.5}]})
        yield api, token, db
    finally:
        service.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, closed after the test."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install -y chromium (make install does it)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_every_page_in_both_languages_at_desktop_and_phone_width(gateway: tuple[str, str, Path], browser: Any) -> None:
    api, token, _ = gateway
    problems = sweep(api, STAFF_PAGES, ARTIFACTS / "staff", browser)
    problems += sweep(api, RECYCLER_PAGES, ARTIFACTS / "recycler", browser, login_token=token)
    for lang, paths in EVIDENCE_PAGES.items():
        problems += sweep(api, paths, ARTIFACTS / "evidence", browser, langs=(lang,))
    page = browser.new_page(extra_http_headers={"Accept-Language": "ja"})
    page.goto(api + "/login")
    page.fill("input[name=token]", token)
    page.click("form.login button[type=submit]")
    assert page.url == api + "/lots"  # a recycler lands on its lots, with verdicts and downloads
    assert page.locator("table.lots tbody tr").count() == 3  # LOD-1: not B-1, not U-1
    assert page.locator('table.lots a[data-format="pdf"]').count() == 3
    resp = page.goto(api + "/lines")
    assert resp is not None and resp.status == 403
    assert "権限がありません" in page.locator("[data-test=error-message]").inner_text()
    page.goto(api + "/lots/LOD-1")
    assert page.locator("[data-test=mean-Br]").inner_text().startswith("<LOD")
    page.goto(api + "/lots/A-2")  # the reasons themselves, in Japanese (the sweep checks no English is left)
    assert "POPs：分析結果" in page.locator("[data-test=claims-reasons]").inner_text()
    assert "スクリーニング閾値" in page.locator("[data-test=screening-causes]").inner_text()
    assert "分析：PBDE" in page.locator("[data-test=lab-reasons]").inner_text()
    assert problems == [], "\n".join(problems)


def test_import_a_composition_file_and_save_a_spec_from_the_pages(gateway: tuple[str, str, Path],
                                                                  tmp_path: Path, browser: Any) -> None:
    from playwright.sync_api import expect

    api, _, _ = gateway
    csv = tmp_path / "one.csv"
    csv.write_text((REPO / "simulators/scenarios/compositions/appliance_pp_line.csv").read_text(encoding="utf-8"),
                   encoding="utf-8")
    page = browser.new_page()
    page.goto(api + "/composition")
    page.set_input_files("form.upload input[type=file]", str(csv))
    page.click("form.upload button[type=submit]")
    expect(page.locator("table.products")).to_contain_text("NA-F70PB1", timeout=15_000)  # after the reload
    page.goto(api + "/specs")
    page.fill("form.spec-edit textarea", json.dumps({"spec_id": "abs-2", "buyer": "Casing Works",
                                                    "material": "ABS", "min_purity": 0.9, "limits": []}))
    page.click("form.spec-edit button[type=submit]")
    expect(page.locator("table.specs")).to_contain_text("Casing Works", timeout=15_000)


def test_trend_charts_take_in_a_new_lot_without_a_reload(gateway: tuple[str, str, Path], browser: Any) -> None:
    """The Trends page swaps in the charts the server draws now: a lot stored after the page loaded shows up
    in the mass chart. The refresh is asked for by a visibility change (what a returning tab does), so the test
    waits for the swap, not for the poll interval."""
    from datetime import timedelta

    from playwright.sync_api import expect

    from tests.dashboard.seed import T0

    api, _, db = gateway
    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto(api + "/trends")
    page.wait_for_function("() => Number(document.getElementById('trend-charts').dataset.swaps || 0) > 0")
    mass = page.locator("svg.trend.mass rect")
    bars = mass.count()
    assert page.locator('svg.trend.mass a[href="/lots/LATE-1"]').count() == 0
    store = SqliteStore(db)
    try:
        Seeder(store).lot("LATE-1", net=888.0, measurement=MEASUREMENT, opened=T0 + timedelta(hours=9))
    finally:
        store.close()
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator('svg.trend.mass a[href="/lots/LATE-1"]')).to_have_count(1, timeout=15_000)
    assert mass.count() == bars + 1
    wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 1  # the swapped-in charts still fit a phone


def test_lineage_zooms_pans_and_explains_every_colour_on_a_phone(gateway: tuple[str, str, Path],
                                                                 browser: Any) -> None:
    api, _, _ = gateway
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(api + "/lots/A-1")
    graph = page.locator("svg.lineage.graph")
    used = set(page.evaluate("""() => [...document.querySelectorAll('svg.lineage.graph g.node')]
        .flatMap(g => [...g.classList]).concat(
          document.querySelector('svg.lineage.graph line.edge') ? ['edge'] : [],
          document.querySelector('svg.lineage.graph text.mass') ? ['mass'] : [])""")) - {"node"}
    assert {"lot", "step", "self", "bad", "edge", "mass"} <= used  # the seed draws every kind
    keys = set(page.locator("[data-test=lineage-legend] [data-key]").evaluate_all(
        "els => els.map(e => e.dataset.key)"))
    assert used <= keys, used - keys  # every colour on the graph has its legend entry
    home = graph.get_attribute("viewBox")
    width = graph.bounding_box()["width"]  # type: ignore[index]

    def view() -> list[float]:
        return [float(v) for v in (graph.get_attribute("viewBox") or "").split()]

    page.click("[data-zoom=in]")
    zoomed = view()
    assert zoomed[2] < float(home.split()[2]) / 1.4 and "zoomed" in (graph.get_attribute("class") or "")
    box = graph.bounding_box()
    assert box is not None and abs(box["width"] - width) < 1  # the element keeps its size: no overflow
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 40, cy - 30, steps=4)
    page.mouse.up()
    panned = view()
    assert panned[0] > zoomed[0] and panned[2] == zoomed[2]  # dragged left: the view moved right
    page.keyboard.down("Control")
    page.mouse.wheel(0, -120)
    page.keyboard.up("Control")
    assert view()[2] < panned[2]
    page.click("[data-zoom=fit]")
    assert graph.get_attribute("viewBox") == home or view() == [float(v) for v in home.split()]
    wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 1
    page.screenshot(path=str(ARTIFACTS / "lineage-375.png"), full_page=True)


def test_evidence_chart_scales_to_a_phone_and_keeps_its_labels(gateway: tuple[str, str, Path], browser: Any) -> None:
    """The evidence page's composition chart is drawn in its own units (viewBox) at the page's width: on a
    phone it shrinks with the page, and no label runs past the drawing (an SVG clips what does)."""
    api, _, _ = gateway
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(api + EVIDENCE_PAGES["ja"][0])
    chart = page.locator("svg[role=img]")
    box = chart.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    view_width = float((chart.get_attribute("viewBox") or "").split()[2])
    right = page.evaluate("() => Math.max(...[...document.querySelectorAll('svg[role=img] text, svg[role=img] rect')]"
                          ".map(e => { const b = e.getBBox(); return b.x + b.width; }))")
    assert 0 < right <= view_width, (right, view_width)
    assert "95%信頼区間" in (chart.text_content() or "")
