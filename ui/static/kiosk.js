"use strict";
// Citizen screen: shows what the server pushes over Server-Sent Events (/api/events).
// The server decides and words everything (in the page's language); this file only
// switches panels, fills in the pushed texts and plays a sound. It holds no text.
(function () {
  const screen = document.getElementById("screen");
  const resultMs = 1000 * Number(screen.dataset.resultSeconds || 8);
  const langResetMs = 1000 * Number(screen.dataset.languageResetSeconds || 90);
  const PANELS = ["idle", "scanning", "measuring", "result"];
  const STUCK_MS = 30000; // a phase without a result (server restarted): back to idle
  let toIdle = null;
  let langTimer = null;
  let source = null;
  let offlineTimer = null;

  function $(id) { return document.getElementById(id); }

  function setText(id, text) {
    const el = $(id);
    if (el && typeof text === "string" && el.textContent !== text) el.textContent = text;
  }

  function show(state) {
    screen.dataset.state = state;
    PANELS.forEach(function (p) { $(p).hidden = p !== state; });
    if (state !== "result") delete screen.dataset.outcome;
  }

  function later(fn, ms) {
    clearTimeout(toIdle);
    toIdle = setTimeout(fn, ms);
  }

  function today(t) {
    setText("count", t.count_text);
    setText("date", t.date_text);
    const out = t.in_service === false;
    $("idle-out").hidden = !out;
    $("idle-open").hidden = out || t.full || !t.open;
    $("idle-full").hidden = out || !t.full;
    $("idle-closed").hidden = out || t.full || t.open;
    $("scanner-down").hidden = out || t.scanner !== "unavailable";
    screen.dataset.full = t.full ? "yes" : "no";
    screen.dataset.service = out ? "out" : "in";
  }

  function phase(p) {
    if (p.phase === "scanning") {
      show("scanning");
    } else {
      show("measuring");
      const recheck = p.phase === "recheck";
      $("measuring-text").hidden = recheck;
      $("recheck-text").hidden = !recheck;
      if (recheck && p.message) setText("recheck-text", p.message);
      $("progress").value = p.progress || 0;
    }
    later(idle, STUCK_MS);
  }

  function result(r) {
    show("result");
    // No reading (too far, nobody, unstable) is amber "try again", never the red refusal.
    screen.dataset.outcome = r.code === "no_reading" ? "retry" : r.decision;
    setText("result-message", r.message);
    const temp = $("result-temperature");
    temp.hidden = !r.temperature;
    setText("result-temperature", r.temperature || "");
    if (r.today) today(r.today);
    play(r.decision);
    later(idle, resultMs);
  }

  function idle() {
    show("idle");
    armLanguageReset();
  }

  function play(outcome) {
    const sound = $("sound-" + outcome);
    if (!sound) return;
    screen.dataset.sound = outcome;
    try {
      sound.currentTime = 0;
      const playing = sound.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused */ });
    } catch (e) { /* no audio device */ }
  }

  // A screen switched to another language returns to Indonesian when nobody uses it.
  function armLanguageReset() {
    clearTimeout(langTimer);
    if (document.documentElement.lang === screen.dataset.defaultLang) return;
    langTimer = setTimeout(function () {
      if (screen.dataset.state === "idle") window.location.replace($("lang-button").href);
      else armLanguageReset();
    }, langResetMs);
  }

  function json(handler) {
    return function (ev) {
      try { handler(JSON.parse(ev.data)); } catch (e) { /* a malformed event is ignored */ }
    };
  }

  function connect() {
    source = new EventSource("/api/events");
    source.addEventListener("open", function () {
      clearTimeout(offlineTimer);
      screen.dataset.connection = "ok";
      $("offline").hidden = true;
    });
    source.addEventListener("today", json(today));
    source.addEventListener("phase", json(phase));
    source.addEventListener("result", json(result));
    source.addEventListener("error", function () {
      screen.dataset.connection = "lost";
      clearTimeout(offlineTimer); // a stream that ends is renewed within seconds: no banner
      offlineTimer = setTimeout(function () { $("offline").hidden = false; }, 8000);
      // EventSource retries by itself after a dropped stream; after a refusal (503,
      // too many screens) it gives up, so start a new one a little later.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, 5000);
      }
    });
  }

  document.addEventListener("pointerdown", armLanguageReset);
  // Leaving the page (language switch) frees the server's stream at once.
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  armLanguageReset();
  connect();
})();
