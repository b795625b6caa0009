// junkan dashboard: live line updates over Server-Sent Events and the few buttons that call the REST API.
"use strict";

(function () {
  const fmt = (v) => (v === null || v === undefined ? "\u2014" : Number(v).toFixed(2));
  let live = {};
  // Labels in the page's language (base.html): a live update never writes an English word into a Japanese page.
  let labels = {};
  try { labels = JSON.parse((document.getElementById("i18n") || {}).textContent || "{}"); } catch (e) { labels = {}; }
  const label = (key) => labels[key] || key;

  async function api(method, url, body) {
    const resp = await fetch(url, {
      method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    let data = null;
    try { data = JSON.parse(text); } catch (e) { data = {detail: text}; }
    if (!resp.ok) throw new Error((data && data.detail) || resp.statusText);
    return data;
  }

  function applyLive(payload) {
    live = payload;
    for (const [line, v] of Object.entries(payload)) {
      const section = document.querySelector(`section.line[data-line="${CSS.escape(line)}"]`);
      if (!section) continue;
      const set = (field, text) => {
        const el = section.querySelector(`.lot-box [data-field="${field}"]`);
        if (el) el.textContent = text;
      };
      set("live_mass_kg", fmt(v.live_mass_kg));
      set("net_mass_kg", fmt(v.net_mass_kg));
      set("n_weighings", v.n_weighings === null ? "\u2014" : String(v.n_weighings));
      const lotEl = section.querySelector('.lot-box [data-field="lot_id"]');
      if (lotEl && lotEl.dataset.current !== String(v.lot_id)) {
        lotEl.dataset.current = String(v.lot_id);
        lotEl.textContent = "";
        if (v.lot_id) {
          const a = document.createElement("a");
          a.href = "/lots/" + encodeURIComponent(v.lot_id);
          a.textContent = v.lot_id;
          lotEl.appendChild(a);
        } else {
          lotEl.textContent = lotEl.closest(".lot-box").dataset.noLot || "\u2014";
        }
      }
      for (const [key, d] of Object.entries(v.devices || {})) {
        const row = section.querySelector(`tr[data-device="${CSS.escape(key)}"]`);
        if (!row) continue;
        const st = row.querySelector('[data-field="state"]');
        if (st && st.dataset.state !== d.state) {
          st.dataset.state = d.state;
          st.className = "state " + d.state;
          st.textContent = label(d.state);
        }
        const bad = row.querySelector('[data-field="frames_bad"]');
        if (bad) bad.textContent = String(d.frames_bad);
        const last = row.querySelector('[data-field="last_reading_at"]');
        if (last && d.last_reading_at) last.textContent = d.last_reading_at.slice(0, 19);
      }
    }
  }

  function startLive() {
    const initial = document.getElementById("live-initial");
    if (!initial) return;
    applyLive(JSON.parse(initial.textContent || "{}"));
    const dot = document.getElementById("live-dot");
    const source = new EventSource("/events");
    source.addEventListener("lines", (ev) => {
      applyLive(JSON.parse(ev.data));
      if (dot) { dot.classList.add("on"); dot.dataset.updates = String(Number(dot.dataset.updates || 0) + 1); }
    });
    source.onerror = () => { if (dot) dot.classList.remove("on"); };
  }

  // Server-drawn parts of a page (the Trends charts: SVG made from the store) fetched again every
  // data-interval-s seconds and swapped in when they changed; nothing is drawn here, no chart library.
  function startFragments() {
    for (const box of document.querySelectorAll("[data-live-fragment]")) {
      const every = 1000 * Math.max(1, Number(box.dataset.intervalS || 10));
      const dot = document.getElementById(box.dataset.dot || "");
      let last = null;
      let busy = false;
      const refresh = async () => {
        if (busy || document.hidden) return;
        busy = true;
        try {
          const resp = await fetch(box.dataset.liveFragment, {credentials: "same-origin", headers: {"Accept": "text/html"}});
          if (!resp.ok) throw new Error(resp.statusText);
          const html = await resp.text();
          if (html !== last) {  // the first answer is swapped in too: the page may be a moment old
            box.innerHTML = html;
            box.dataset.swaps = String(Number(box.dataset.swaps || 0) + 1);
          }
          last = html;
          if (dot) { dot.classList.add("on"); dot.dataset.updates = String(Number(dot.dataset.updates || 0) + 1); }
        } catch (err) {
          if (dot) dot.classList.remove("on");
        } finally {
          busy = false;
        }
      };
      refresh();
      window.setInterval(refresh, every);
      document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
    }
  }

  // Lineage graph: zoom and pan by changing the SVG's viewBox (buttons, Ctrl + wheel, drag when zoomed in);
  // the element keeps its size, so the page never gets wider than the screen.
  function wireZoom() {
    for (const box of document.querySelectorAll("[data-zoomable]")) {
      const svg = box.querySelector("svg.graph");
      if (!svg) continue;
      const vb = svg.viewBox.baseVal;
      const home = {x: vb.x, y: vb.y, w: vb.width, h: vb.height};
      let view = {...home};
      const clamp = () => {
        view.x = Math.min(Math.max(view.x, home.x), home.x + home.w - view.w);
        view.y = Math.min(Math.max(view.y, home.y), home.y + home.h - view.h);
      };
      const apply = () => {
        clamp();
        svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
        svg.classList.toggle("zoomed", view.w < home.w - 0.01);
        box.dataset.zoom = (home.w / view.w).toFixed(2);
      };
      const zoom = (factor, cx, cy) => {  // factor > 1 zooms in, keeping the point (cx, cy) where it is
        const w = Math.min(home.w, Math.max(home.w / 8, view.w / factor));
        const h = w * home.h / home.w;
        const px = cx === undefined ? view.x + view.w / 2 : cx;
        const py = cy === undefined ? view.y + view.h / 2 : cy;
        view = {x: px - (px - view.x) * w / view.w, y: py - (py - view.y) * h / view.h, w, h};
        apply();
      };
      const at = (ev) => {  // the pointer in the graph's own units
        const r = svg.getBoundingClientRect();
        return {x: view.x + (ev.clientX - r.left) * view.w / r.width, y: view.y + (ev.clientY - r.top) * view.h / r.height};
      };
      const on = (name, fn) => { const b = box.querySelector(`[data-zoom="${name}"]`); if (b) b.addEventListener("click", fn); };
      on("in", () => zoom(1.5));
      on("out", () => zoom(1 / 1.5));
      on("fit", () => { view = {...home}; apply(); });
      svg.addEventListener("wheel", (ev) => {
        if (!ev.ctrlKey && !ev.metaKey) return;  // a plain wheel scrolls the page as everywhere else
        ev.preventDefault();
        const p = at(ev);
        zoom(ev.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
      }, {passive: false});
      let drag = null;
      svg.addEventListener("pointerdown", (ev) => {
        if (!svg.classList.contains("zoomed") || ev.target.closest("a")) return;  // links stay links
        drag = {x: ev.clientX, y: ev.clientY, from: {...view}};
        svg.setPointerCapture(ev.pointerId);
        svg.classList.add("dragging");
      });
      svg.addEventListener("pointermove", (ev) => {
        if (!drag) return;
        const r = svg.getBoundingClientRect();
        view.x = drag.from.x - (ev.clientX - drag.x) * view.w / r.width;
        view.y = drag.from.y - (ev.clientY - drag.y) * view.h / r.height;
        apply();
      });
      const stop = () => { drag = null; svg.classList.remove("dragging"); };
      svg.addEventListener("pointerup", stop);
      svg.addEventListener("pointercancel", stop);
      apply();
    }
  }

  function wireLotButtons() {
    for (const button of document.querySelectorAll("button.act")) {
      button.addEventListener("click", async () => {
        const line = button.dataset.line;
        const action = button.dataset.action;
        const out = button.parentElement.querySelector('[data-field="act_result"]');
        const body = {action};
        if (action === "close" && live[line] && live[line].lot_id) body.lot_id = live[line].lot_id;
        button.disabled = true;
        try {
          const res = await api("POST", `/api/v1/lines/${encodeURIComponent(line)}/lots`, body);
          if (out) { out.textContent = `${label("act_" + action)} \u2192 ${res.lot_id || ""} (${(res.agents || []).join(", ")})`; out.dataset.ok = "1"; }
        } catch (err) {
          if (out) { out.textContent = String(err.message || err); out.dataset.ok = "0"; }
        } finally {
          button.disabled = false;
        }
      });
    }
  }

  function wireAssign() {
    for (const form of document.querySelectorAll("form.assign")) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const value = form.querySelector("input[name=recycler]").value.trim();
        try {
          const res = await api("PUT", `/api/v1/lots/${encodeURIComponent(form.dataset.lot)}/recycler`,
                                {recycler: value || null});
          const shown = document.querySelector('[data-test="recycler"]');
          if (shown) shown.textContent = res.recycler || "\u2014";
        } catch (err) {
          alert(String(err.message || err));
        }
      });
    }
  }

  function wireResolve() {
    for (const button of document.querySelectorAll("button.resolve")) {
      button.addEventListener("click", async () => {
        const route = button.dataset.route
          .replace("{agent}", encodeURIComponent(button.dataset.agent))
          .replace("{msg_id}", encodeURIComponent(button.dataset.msg))
          .replace("{idx}", encodeURIComponent(button.dataset.idx));
        try {
          await api("POST", route, {product_id: button.dataset.product, resolved_by: button.dataset.by || null});
          button.closest("tr").remove();
        } catch (err) {
          alert(String(err.message || err));
        }
      });
    }
  }

  function wirePostButtons() {  // e.g. clear an alarm: POST the route, drop the row once the API accepted it
    for (const button of document.querySelectorAll("button.post")) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await api("POST", button.dataset.route, {});
          button.closest("tr").remove();
        } catch (err) {
          button.disabled = false;
          alert(String(err.message || err));
        }
      });
    }
  }

  function wireUploads() {  // composition import: the file's bytes as the body, as the API takes it
    for (const form of document.querySelectorAll("form.upload")) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const out = form.querySelector('[data-field="result"]');
        const file = form.querySelector("input[type=file]").files[0];
        if (!file) return;
        try {
          const resp = await fetch(`${form.dataset.route}?filename=${encodeURIComponent(file.name)}`, {
            method: "POST", credentials: "same-origin", body: await file.arrayBuffer(),
            headers: {"Content-Type": "application/octet-stream", "Accept": "application/json"}});
          const data = await resp.json();
          if (!resp.ok) throw new Error(JSON.stringify(data.detail || data).slice(0, 300));
          out.textContent = `${label("imported")}: ${file.name}`;
          window.setTimeout(() => window.location.reload(), 800);
        } catch (err) { out.textContent = String(err.message || err); }
      });
    }
  }

  function wireSpecs() {  // specs: PUT the JSON document; "Edit" loads an existing one into the form
    const form = document.querySelector("form.spec-edit");
    if (!form) return;
    const area = form.querySelector("textarea");
    const out = form.querySelector('[data-field="result"]');
    for (const button of document.querySelectorAll("button.spec-load")) {
      button.addEventListener("click", () => { area.value = JSON.stringify(JSON.parse(button.dataset.doc), null, 1); });
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let doc;
      try { doc = JSON.parse(area.value); } catch (e) { out.textContent = label("bad_json"); return; }
      try {
        await api("PUT", `/api/v1/specs/${encodeURIComponent(doc.spec_id || "")}`, doc);
        out.textContent = label("saved");
        window.setTimeout(() => window.location.reload(), 800);
      } catch (err) { out.textContent = String(err.message || err); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireUploads();
    wireSpecs();
    wirePostButtons();
    startLive();
    startFragments();
    wireZoom();
    wireLotButtons();
    wireAssign();
    wireResolve();
  });
})();
