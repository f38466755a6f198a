"use strict";
// Officer console: polls today's decisions and sends actions as JSON with the CSRF token.
(function () {
  const root = document.getElementById("officer-console");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("officer-message");
  const POLL_MS = 3000;

  function say(text, bad) {
    message.textContent = text;
    message.className = "message" + (bad ? " error" : " ok");
  }

  async function call(url, body) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body),
    });
    if (res.status === 401) { window.location.href = root.dataset.loginUrl; return null; }
    const data = await res.json().catch(function () { return {}; });
    if (!res.ok) { say(data.error || ("HTTP " + res.status), true); return null; }
    return data;
  }

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function button(label, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function fill(formField, value, focusId) {
    document.getElementById(formField).value = value;
    const el = document.getElementById(focusId);
    el.scrollIntoView({ block: "center" });
    el.focus();
  }

  function renderAlerts(data) {
    const box = document.getElementById("alerts");
    box.replaceChildren.apply(box, (data.alerts || []).map(function (a) {
      const p = document.createElement("p");
      p.className = "alert alert-" + a.level;
      p.dataset.code = a.code;
      p.textContent = a.message;
      return p;
    }));
    const clock = data.clock || {};
    const section = document.getElementById("business-date");
    section.hidden = clock.trusted !== false;
    if (!section.hidden) {
      document.getElementById("clock-problem").textContent = "(" + clock.problem + ")";
      const input = document.getElementById("confirm-date");
      if (!input.value && clock.clock_date) input.value = clock.clock_date;
    }
  }

  function temperature(e) {
    // Both readings of a re-measured visit: "first 38.4 → 37.2", flagged when the
    // re-measurement was not a valid in-place reading (it could not clear the first).
    let text = e.temperature_c == null ? "" : e.temperature_c.toFixed(1);
    if (e.temperature_first_c != null) {
      text = root.dataset.firstLabel + " " + e.temperature_first_c.toFixed(1) + " → " + text;
      if (e.recheck_trusted === false) text += " (" + root.dataset.notInPlaceLabel + ")";
    }
    if (e.distance_cm != null) text += " · " + e.distance_cm.toFixed(0) + " cm";
    return text;
  }

  function render(data) {
    renderAlerts(data);
    const t = data.today;
    document.getElementById("today-date").textContent = t.date;
    document.getElementById("today-admitted").textContent = t.admitted == null ? "?" : t.admitted;
    document.getElementById("today-cap").textContent = t.cap;
    const places = document.getElementById("today-walkin-places");
    if (places) places.textContent = t.walkin_places == null ? "?" : t.walkin_places;
    const services = document.getElementById("today-services");
    if (services) {
      services.replaceChildren.apply(services, Object.keys(t.services || {}).map(function (code) {
        const s = t.services[code];
        const li = document.createElement("li");
        li.dataset.service = code;
        li.textContent = s.name + ": " + s.admitted + " / " + s.cap +
          (s.open ? "" : " (" + root.dataset.closedLabel + ")");
        return li;
      }));
    }
    const body = document.getElementById("entries-body");
    body.replaceChildren.apply(body, data.entries.map(function (e) {
      const tr = document.createElement("tr");
      tr.dataset.entryId = e.id;
      tr.className = "outcome-" + e.outcome + (e.undone_by ? " undone" : "") + (e.pending ? " pending" : "");
      cell(tr, e.id);
      cell(tr, e.time);
      cell(tr, e.outcome + " · " + e.reason + (e.kind !== "booking" ? " (" + e.kind + ")" : "") +
        (e.queue_number ? " · " + e.queue_number : "") +
        (e.reentry ? " · " + root.dataset.reentryLabel + " " + e.reentry : ""));
      cell(tr, [e.booking_id, e.name, e.note].filter(Boolean).join(" · "));
      cell(tr, temperature(e));
      const actions = cell(tr, e.undone_by ? root.dataset.undoneLabel + " " + e.undone_by : "", "actions");
      if (e.pending) {
        actions.appendChild(document.createTextNode(root.dataset.pendingLabel + " "));
        actions.appendChild(button(root.dataset.admitLabel, "admit", function () {
          fill("priority-entry", e.id, "priority-reason");
          document.getElementById("priority-for").textContent = "#" + e.id;
        }));
        actions.appendChild(button(root.dataset.clinicalLabel, "clinical", function () {
          fill("clinical-entry", e.id, "clinical-celsius");
        }));
        actions.appendChild(button(root.dataset.denyLabel, "deny", function () {
          fill("deny-entry", e.id, "deny-note");
        }));
      }
      if (e.undoable) {
        actions.appendChild(button(root.dataset.undoLabel, "undo", function () {
          fill("undo-entry", e.id, "undo-reason");
        }));
      }
      return tr;
    }));
  }

  async function refresh() {
    try {
      const res = await fetch("/officer/api/today", {
        credentials: "same-origin", headers: { "X-Kiosk-Poll": "1", "Accept": "application/json" },
      });
      if (res.status === 401) { window.location.href = root.dataset.loginUrl; return; }
      if (res.ok) render(await res.json());
    } catch (err) { say(String(err), true); }
  }

  function formData(form) {
    const out = {};
    new FormData(form).forEach(function (v, k) { if (v !== "") out[k] = v; });
    ["entry_id", "celsius"].forEach(function (k) { if (k in out) out[k] = Number(out[k]); });
    return out;
  }

  function wire(formId, url, done) {
    const form = document.getElementById(formId);
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      if (form.getAttribute("aria-busy") === "true") return; // one request at a time
      const buttons = form.querySelectorAll("button");
      form.setAttribute("aria-busy", "true");
      buttons.forEach(function (b) { b.disabled = true; });
      try {
        const data = await call(url, formData(form));
        // A decision that is not an admission (a walk-in with a fever) is not a success.
        if (data) { say(done(data), data.decision !== undefined && data.decision !== "admitted"); form.reset(); refresh(); }
      } catch (err) {
        say(String(err), true);
      } finally {
        form.removeAttribute("aria-busy");
        buttons.forEach(function (b) { b.disabled = false; });
      }
    });
  }

  function decided(d) { return "#" + d.entry_id + ": " + d.message; }
  wire("priority-form", "/officer/api/priority", decided);
  wire("walkin-form", "/officer/api/walkin", decided);
  wire("clinical-form", "/officer/api/clinical", decided);
  wire("undo-form", "/officer/api/undo", function (d) { return "#" + d.entry_id + " ✓"; });
  wire("deny-form", "/officer/api/deny", function (d) { return "#" + d.entry_id + " ✓"; });
  wire("confirm-date-form", "/officer/api/confirm-date", function (d) { return d.today.date + " ✓"; });
  document.getElementById("priority-form").addEventListener("reset", function () {
    document.getElementById("priority-for").textContent = "";
    document.getElementById("priority-entry").value = "";
  });

  refresh();
  setInterval(refresh, POLL_MS);
})();
