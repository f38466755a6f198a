"use strict";
// Officer console, queue first: polls today's decisions; a referred visitor becomes a card at
// the top with one-touch decisions (and a sound); walk-in and undo start from the page and
// the list, never from typed entry numbers. Actions are JSON POSTs with the CSRF token.
// Every word comes from the page (data-* attributes and the data-words map of codes).
(function () {
  const root = document.getElementById("officer-console");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("officer-message");
  const words = JSON.parse(root.dataset.words || "{}");
  const cardTemplate = document.getElementById("referral-template");
  const referrals = document.getElementById("referrals");
  const alertSound = document.getElementById("referral-alert");
  const undoForm = document.getElementById("undo-form");
  const walkinForm = document.getElementById("walkin-form");
  const walkinOpen = document.getElementById("walkin-open");
  const POLL_MS = 3000;
  const HIGHLIGHT_MS = 15000;
  const baseTitle = document.title;
  const seen = new Set(); // referrals already announced (no second alert for the same visitor)

  function $(id) { return document.getElementById(id); }

  // "ok" (green), "error" (red) or "busy" (a request on its way: neither yet).
  function say(text, bad, state) {
    message.textContent = text;
    message.className = "message " + (state || (bad ? "error" : "ok"));
  }

  function word(group, code) {
    const table = words[group] || {};
    return table[code] || code;
  }

  class Refused extends Error {}

  // POST → the JSON answer; a refusal throws with the server's words (shown as an error).
  async function call(url, body) {
    let res;
    try {
      res = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new Refused(root.dataset.offlineLabel);
    }
    if (res.status === 401) { window.location.href = root.dataset.loginUrl; throw new Refused(""); }
    const data = await res.json().catch(function () { return {}; });
    // One referral takes one decision: a second (another officer was quicker) is a 409.
    if (res.status === 409) throw new Refused(root.dataset.decidedLabel);
    if (!res.ok) throw new Refused(data.error || ("HTTP " + res.status));
    return data;
  }

  // While a request is on its way the element's buttons and fields wait (one at a time).
  function busy(el, on) {
    if (on) el.setAttribute("aria-busy", "true"); else el.removeAttribute("aria-busy");
    el.querySelectorAll("button, input, select").forEach(function (b) { b.disabled = on; });
  }

  function describe(e) {
    let what = word("outcome", e.outcome) + " · " + word("reason", e.reason);
    if (e.kind !== "booking" && e.reason !== e.kind) what += " (" + word("kind", e.kind) + ")";
    const t = temperature(e);
    if (t) what += " · " + t;
    return what;
  }

  function temperature(e) {
    // Both readings of a re-measured visit: "first 38.4 → 37.2 °C", flagged when the
    // re-measurement was not a valid in-place reading (it could not clear the first).
    let text = e.temperature_c == null ? "" : e.temperature_c.toFixed(1) + " °C";
    if (e.temperature_first_c != null) {
      text = root.dataset.firstLabel + " " + e.temperature_first_c.toFixed(1) + " → " + text;
      if (e.recheck_trusted === false) text += " (" + root.dataset.notInPlaceLabel + ")";
    }
    if (e.distance_cm != null) text += " · " + e.distance_cm.toFixed(0) + " cm";
    return text;
  }

  // A priority admission's stored note starts with its reason code and the referral it
  // decided ("medical_bpjs: entry 12: …"): shown as words and "#12".
  function noteWords(note) {
    if (!note) return note;
    const m = /^([a-z_]+)(?:: ([\s\S]*))?$/.exec(note);
    const priority = words.priority || {};
    if (m && priority[m[1]]) {
      const rest = (m[2] || "").replace(/^entry (\d+)/, "#$1");
      return priority[m[1]] + (rest ? ": " + rest : "");
    }
    return note.replace(/^entry (\d+)/, "#$1");
  }

  function who(e) {
    return ["#" + e.id, e.time, e.booking_id, e.name, noteWords(e.note)].filter(Boolean).join(" · ");
  }

  // -- referral cards -------------------------------------------------------------
  function newCard(e) {
    const card = cardTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.entryId = e.id;
    const celsius = card.querySelector(".celsius");
    celsius.id = "celsius-" + e.id;
    card.querySelector(".celsius-label").htmlFor = celsius.id;
    const note = card.querySelector(".note");
    note.id = "note-" + e.id;
    card.querySelector(".note-label").htmlFor = note.id;
    card.querySelectorAll("button.reason").forEach(function (b) {
      b.addEventListener("click", function () {
        if (b.dataset.reason === "other") {
          card.querySelector(".other-note").hidden = false;
          note.focus();
          return;
        }
        decide(card, "/officer/api/priority", { entry_id: e.id, reason: b.dataset.reason });
      });
    });
    card.querySelector(".confirm-other").addEventListener("click", function () {
      if (!note.value.trim()) { status(card, root.dataset.noteNeededLabel, true); note.focus(); return; }
      decide(card, "/officer/api/priority", { entry_id: e.id, reason: "other", note: note.value.trim() });
    });
    card.querySelector(".record").addEventListener("click", function () {
      const value = Number(celsius.value);
      if (!celsius.value || !(value >= 30 && value <= 45)) {
        status(card, root.dataset.readingNeededLabel, true);
        celsius.focus();
        return;
      }
      decide(card, "/officer/api/clinical", { entry_id: e.id, celsius: value });
    });
    card.querySelector(".deny").addEventListener("click", function () {
      decide(card, "/officer/api/deny", { entry_id: e.id });
    });
    card.addEventListener("pointerdown", function () { card.classList.remove("new"); });
    return card;
  }

  function fillCard(card, e) {
    card.querySelector(".referral-what").textContent = describe(e);
    card.querySelector(".referral-who").textContent = who(e);
  }

  function status(card, text, bad) {
    const p = card.querySelector(".referral-status");
    p.textContent = text;
    p.className = "referral-status" + (bad ? " error" : "");
  }

  async function decide(card, url, body) {
    if (card.getAttribute("aria-busy") === "true") return;
    busy(card, true);
    status(card, root.dataset.busyLabel, false);
    try {
      const data = await call(url, body);
      card.remove();
      const text = data.message || root.dataset.deniedLabel;
      say("#" + body.entry_id + ": " + text, data.decision !== undefined && data.decision !== "admitted");
    } catch (err) {
      busy(card, false);
      status(card, err.message, true);
      if (err.message) say("#" + body.entry_id + ": " + err.message, true);
    }
    refresh();
  }

  function renderReferrals(entries) {
    const pending = entries.filter(function (e) { return e.pending; });
    const ids = new Set(pending.map(function (e) { return String(e.id); }));
    referrals.querySelectorAll(".referral").forEach(function (card) {
      // A card being decided stays until its answer; a decided one (elsewhere too) goes.
      if (!ids.has(card.dataset.entryId) && card.getAttribute("aria-busy") !== "true") card.remove();
    });
    let fresh = 0;
    pending.forEach(function (e) {
      let card = referrals.querySelector('.referral[data-entry-id="' + e.id + '"]');
      if (!card) {
        card = newCard(e);
        referrals.prepend(card);
        if (!seen.has(e.id)) {
          seen.add(e.id);
          fresh += 1;
          card.classList.add("new");
          setTimeout(function () { card.classList.remove("new"); }, HIGHLIGHT_MS);
        }
      }
      fillCard(card, e);
    });
    const waiting = referrals.querySelectorAll(".referral").length;
    root.dataset.waiting = String(waiting);
    document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
    if (fresh) alert();
  }

  // A phone's browser may refuse sound until the page is touched once: the first touch
  // plays the alert silently so that later alerts are heard.
  function unlockSound() {
    if (!alertSound || root.dataset.alerts) return;
    alertSound.muted = true;
    const playing = alertSound.play();
    const restore = function () { alertSound.pause(); alertSound.currentTime = 0; alertSound.muted = false; };
    if (playing && playing.then) playing.then(restore, restore); else restore();
  }
  document.addEventListener("pointerdown", unlockSound, { once: true });

  function alert() {
    root.dataset.alerts = String(Number(root.dataset.alerts || 0) + 1);
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    if (!alertSound) return;
    alertSound.muted = false;
    try {
      alertSound.currentTime = 0;
      const playing = alertSound.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused: the card still shows */ });
    } catch (err) { /* no audio device */ }
  }

  // -- the live list ----------------------------------------------------------------
  function row(e) {
    const li = document.createElement("li");
    li.dataset.entryId = e.id;
    li.className = "entry outcome-" + e.outcome + (e.undone_by ? " undone" : "") + (e.pending ? " pending" : "");
    const what = document.createElement("p");
    what.className = "entry-what";
    let text = describe(e);
    if (e.queue_number) text += " · " + e.queue_number;
    if (e.reentry) text += " · " + root.dataset.reentryLabel + " " + e.reentry;
    what.textContent = text;
    const detail = document.createElement("p");
    detail.className = "entry-who";
    detail.textContent = who(e) + (e.officer ? " · " + root.dataset.byLabel + " " + e.officer : "");
    li.append(what, detail);
    if (e.undone_by || e.pending) {
      const note = document.createElement("p");
      note.className = "entry-note";
      note.textContent = e.undone_by
        ? root.dataset.undoneLabel + " " + e.undone_by + (e.undo_reason ? " — " + e.undo_reason : "")
        : root.dataset.pendingLabel;
      li.append(note);
    }
    if (e.undoable) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "undo warn";
      b.textContent = root.dataset.undoLabel;
      b.addEventListener("click", function () { openUndo(e, li); });
      li.append(b);
    }
    return li;
  }

  function openUndo(e, li) {
    $("undo-entry").value = e.id;
    $("undo-for").textContent = describe(e) + " — " + who(e);
    undoForm.hidden = false;
    li.after(undoForm);
    $("undo-reason").focus();
  }

  function closeUndo() {
    undoForm.hidden = true;
    undoForm.reset();
    $("undo-entry").value = "";
  }

  function renderList(entries) {
    const body = $("entries-body");
    const open = undoForm.hidden ? null : $("undo-entry").value;
    body.replaceChildren.apply(body, entries.map(row));
    if (open) {
      const li = body.querySelector('li[data-entry-id="' + open + '"]');
      const still = entries.some(function (e) { return String(e.id) === open && e.undoable; });
      if (li && still) li.after(undoForm);
      else if (undoForm.getAttribute("aria-busy") !== "true") closeUndo();
    }
  }

  // -- figures and alerts -----------------------------------------------------------
  function renderAlerts(data) {
    const box = $("alerts");
    box.replaceChildren.apply(box, (data.alerts || []).map(function (a) {
      const p = document.createElement("p");
      p.className = "alert alert-" + a.level;
      p.dataset.code = a.code;
      if (a.title) {
        const title = document.createElement("strong");
        title.textContent = a.title;
        p.append(title, " — " + a.message);
      } else {
        p.textContent = a.message;
      }
      return p;
    }));
    const clock = data.clock || {};
    const section = $("business-date");
    section.hidden = clock.trusted !== false;
    if (!section.hidden) {
      $("clock-problem").textContent = "(" + clock.problem + ")";
      const input = $("confirm-date");
      if (!input.value && clock.clock_date) input.value = clock.clock_date;
    }
  }

  function renderToday(t) {
    $("today-date").textContent = t.date;
    $("today-admitted").textContent = t.admitted == null ? "?" : t.admitted;
    $("today-cap").textContent = t.cap;
    const places = $("today-walkin-places");
    if (places) places.textContent = t.walkin_places == null ? "?" : t.walkin_places;
    const services = $("today-services");
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
  }

  function render(data) {
    renderAlerts(data);
    renderToday(data.today);
    renderReferrals(data.entries);
    renderList(data.entries);
  }

  let offline = false;
  async function refresh() {
    try {
      const res = await fetch("/officer/api/today", {
        credentials: "same-origin", headers: { "X-Kiosk-Poll": "1", "Accept": "application/json" },
      });
      if (res.status === 401) { window.location.href = root.dataset.loginUrl; return; }
      if (!res.ok) throw new Error("HTTP " + res.status);
      render(await res.json());
      root.dataset.connection = "ok";
      if (offline) { offline = false; say("", false); }
    } catch (err) {
      offline = true;
      root.dataset.connection = "lost";
      say(root.dataset.offlineLabel, true);
    }
  }

  // -- forms: walk-in, undo, confirm date ---------------------------------------------
  function formData(form) {
    const out = {};
    new FormData(form).forEach(function (v, k) { if (v !== "") out[k] = v; });
    if ("entry_id" in out) out.entry_id = Number(out.entry_id);
    return out;
  }

  function wire(form, url, done) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      if (form.getAttribute("aria-busy") === "true") return; // one request at a time
      const body = formData(form);
      busy(form, true);
      say(root.dataset.busyLabel, false, "busy");
      try {
        const data = await call(url, body);
        // A decision that is not an admission (a walk-in with a fever) is not a success.
        say(done(data, body), data.decision !== undefined && data.decision !== "admitted");
        busy(form, false);
        form.dispatchEvent(new Event("done"));
      } catch (err) {
        busy(form, false);
        if (err.message) say(err.message, true);
      }
      refresh();
    });
  }

  function decided(d) { return "#" + d.entry_id + ": " + d.message; }

  walkinOpen.addEventListener("click", function () {
    walkinForm.hidden = !walkinForm.hidden;
    walkinOpen.setAttribute("aria-expanded", String(!walkinForm.hidden));
    if (!walkinForm.hidden) $("walkin-submit").focus();
  });
  function closeWalkin() {
    walkinForm.reset();
    walkinForm.hidden = true;
    walkinOpen.setAttribute("aria-expanded", "false");
  }
  $("walkin-cancel").addEventListener("click", closeWalkin);
  walkinForm.addEventListener("done", closeWalkin);
  wire(walkinForm, "/officer/api/walkin", decided);

  $("undo-cancel").addEventListener("click", closeUndo);
  undoForm.addEventListener("done", closeUndo);
  wire(undoForm, "/officer/api/undo", function (d) { return "#" + d.entry_id + ": " + root.dataset.undoneDoneLabel; });

  wire($("confirm-date-form"), "/officer/api/confirm-date", function (d) {
    return root.dataset.dateDoneLabel + ": " + d.today.date;
  });

  refresh();
  setInterval(refresh, POLL_MS);
})();
