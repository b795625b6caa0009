"""Visit dashboard pages in Chromium at phone and desktop widths in both languages and list what is wrong.

Used by test_browser_pages.py (and by hand: ``python -m tests.dashboard.sweep URL [LOT ...]``). A problem is a
console error, a page wider than its viewport, an English UI string on a Japanese page, or a raw JSON body.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.dashboard.i18n import LABELS
from gateway.specs.reason_text import english_phrases

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
WIDTHS = (1366, 375)
LANGS = ("en", "ja")


def english_ui_strings() -> list[str]:
    """The UI's English labels that differ from their Japanese ones, and the fixed wording of every English
    reason (conformance, screening, claims, data gaps): what a Japanese page must not show."""
    out = set(english_phrases())
    for entry in LABELS.values():
        en, ja = entry.get("en", ""), entry.get("ja", "")
        if en and ja and en != ja and re.search("[A-Za-z]{3,}", en):
            out.add(en)
    return sorted(out, key=len, reverse=True)


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


_VISIBLE_TEXT = """() => {
  const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE']);
  const out = [];
  const walk = (node) => {
    if (node.nodeType === 3) { out.push(node.textContent); return; }
    if (node.nodeType !== 1 || skip.has(node.tagName)) return;
    if (node.dataset && node.dataset.i18nExempt !== undefined) return;  // data (ids, device names), not UI text
    for (const child of node.childNodes) walk(child);
    for (const a of ['title', 'placeholder', 'aria-label']) {
      if (node.getAttribute && node.getAttribute(a)) out.push(node.getAttribute(a));
    }
  };
  walk(document.body);
  return out.join('\\n');
}"""


def check_page(page: Any, url: str, lang: str, width: int, problems: Problems, shot: Path | None,
               english: list[str], errors: list[str]) -> None:
    errors.clear()
    resp = page.goto(url, wait_until="load")
    if page.locator("#live-initial").count():
        page.wait_for_function("() => Number(document.getElementById('live-dot').dataset.updates || 0) > 0",
                               timeout=10_000)  # one live update (SSE) applied: what dashboard.js writes is checked
    where = f"{url} [{lang} {width}px]"
    body = page.locator("body").inner_text().strip()
    ctype = (resp.headers.get("content-type", "") if resp else "")
    if "json" in ctype or (body[:1] in "{[" and body[-1:] in "}]"):
        problems.add(where, f"raw JSON body: {body[:120]!r}")
    wide = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if wide[0] > wide[1] + 1:
        culprits = page.evaluate("""(w) => [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect(); return r.right > w + 1 && getComputedStyle(e).position !== 'fixed';
          }).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""",
                                 wide[1])
        problems.add(where, f"horizontal overflow {wide[0]} > {wide[1]} px: {culprits}")
    status = resp.status if resp else 0
    for err in errors:
        if status >= 400 and "Failed to load resource" in err and f"status of {status}" in err:
            continue  # the document's own error status (an error page on purpose), not a broken resource
        problems.add(where, f"console error: {err}")
    if lang == "ja":
        text = page.evaluate(_VISIBLE_TEXT)
        found = [w for w in english if re.search(r"(?<![A-Za-z])" + re.escape(w) + r"(?![A-Za-z])", text)]
        if found:
            problems.add(where, f"English on a Japanese page: {found[:8]}")
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)


def sweep(base: str, paths: list[str], out_dir: Path | None, browser: Any, login_token: str | None = None,
          extra_headers: dict[str, str] | None = None, langs: tuple[str, ...] = LANGS) -> list[str]:
    """Every path at every width in ``langs`` (chosen by Accept-Language; a page whose language is in its URL,
    like the evidence page's ``format=html-ja``, is swept in its own language only); returns the problems."""
    problems = Problems()
    english = english_ui_strings()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        for width in WIDTHS:
            accept = "ja,en;q=0.5" if lang == "ja" else "en-US,en;q=0.9"
            ctx = browser.new_context(viewport={"width": width, "height": 900},
                                      locale="ja-JP" if lang == "ja" else "en-US",
                                      extra_http_headers={"Accept-Language": accept, **(extra_headers or {})})
            page = ctx.new_page()
            errors: list[str] = []
            page.on("console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            if login_token:
                page.goto(base + "/login")
                page.fill("input[name=token]", login_token)
                page.click("form.login button[type=submit]")
            for path in paths:
                name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "home"
                shot = out_dir / f"{name}-{lang}-{width}.png" if out_dir is not None else None
                check_page(page, base + path, lang, width, problems, shot, english, errors)
            ctx.close()
    return problems.items


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    base, paths = argv[0], argv[1:] or ["/lines", "/lots", "/alarms", "/unmatched", "/login"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            found = sweep(base, paths, Path("test-artifacts/dashboard/sweep"), browser)
        finally:
            browser.close()
    print("\n".join(found) or "no problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
