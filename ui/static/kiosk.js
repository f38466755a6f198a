"use strict";
// Citizen screen: shows what the server pushes over Server-Sent Events (/api/events).
// The server decides and words everything (in the page's language); this file only
// switches panels, fills in the pushed texts and plays a sound. It holds no text.
(function () {
  const screen = document.getElementById("screen");
  const resultMs = 1000 * Number(screen.dataset.resultSeconds || 8);
  const langResetMs = 1000 * Number(screen.dataset.languageResetSeconds || 90);
  const PANELS = ["idle", "scanning", "measuring", "result", "offline"];
  const STUCK_MS = 30000; // a phase without a result (server restarted): back to idle
  // A lost connection shows the out-of-service screen after this long, counted from the
  // FIRST error: the browser's retries (every few seconds) must not restart the count.
  const OFFLINE_MS = 6000;
  const RECONNECT_MS = 3000;
  let toIdle = null;
  let langTimer = null;
  let source = null;
  let offlineTimer = null;
  let reconnectTimer = null;
  // The progress bar moves all through a visit: the first measurement fills it to 60 %,
  // the pause before a re-measurement keeps it moving, the re-measurement fills the rest.
  let creepTimer = null;
  let creepTarget = 0;
  let rechecking = false;

  function $(id) { return document.getElementById(id); }

  function setText(id, text) {
    const el = $(id);
    if (el && typeof text === "string" && el.textContent !== text) el.textContent = text;
  }

  function show(state) {
    screen.dataset.state = state;
    PANELS.forEach(function (p) { $(p).hidden = p !== state; });
    if (state !== "result") {
      delete screen.dataset.outcome;
      delete screen.dataset.tone;
    }
    if (state !== "measuring") stopProgress();
  }

  function setProgress(value, target) {
    const bar = $("progress");
    bar.value = Math.max(Number(bar.value) || 0, Math.min(100, value));
    creepTarget = Math.max(creepTarget, target);
    if (creepTimer === null) creepTimer = setInterval(creep, 150);
  }

  function creep() {
    const bar = $("progress");
    const value = Number(bar.value) || 0;
    if (value < creepTarget) bar.value = Math.min(creepTarget, value + Math.max(0.25, (creepTarget - value) * 0.04));
  }

  function stopProgress() {
    clearInterval(creepTimer);
    creepTimer = null;
    creepTarget = 0;
    rechecking = false;
    $("progress").value = 0;
  }

  function later(fn, ms) {
    clearTimeout(toIdle);
    toIdle = setTimeout(fn, ms);
  }

  function today(t) {
    setText("count", t.count_text);
    if ($("services-open")) {
      setText("services-open", t.services_text || "");
      $("services-open").hidden = !t.services_text;
    }
    if ($("walkin-places")) {
      setText("walkin-places", t.walkin_text || "");
      $("walkin-places").hidden = !t.walkin_text;
    }
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
    if (screen.dataset.state === "offline") return;
    if (p.phase === "scanning") {
      show("scanning");
    } else {
      if (screen.dataset.state !== "measuring") show("measuring");
      const recheck = p.phase === "recheck";
      $("measuring-text").hidden = recheck;
      $("recheck-text").hidden = !recheck;
      if (recheck && p.message) setText("recheck-text", p.message);
      const progress = Number(p.progress) || 0;
      if (recheck) {
        rechecking = true;
        setProgress(60, 70);
      } else if (rechecking) {
        setProgress(70 + 0.3 * progress, 97);
      } else {
        setProgress(0.6 * progress, 60);
      }
    }
    later(idle, STUCK_MS);
  }

  function result(r) {
    if (r.today) today(r.today);
    if (screen.dataset.state === "offline") return;
    show("result");
    screen.dataset.outcome = r.decision;
    screen.dataset.tone = r.tone || r.decision;
    setText("result-headline", r.headline || "");
    setText("result-message", r.message);
    const temp = $("result-temperature");
    temp.hidden = !r.temperature;
    setText("result-temperature", r.temperature || "");
    if ($("result-queue")) {
      $("result-queue").hidden = !r.queue_text;
      setText("result-queue", r.queue_text || "");
    }
    play(r.decision, r.tone || r.decision);
    later(idle, resultMs);
  }

  function idle() {
    show("idle");
    armLanguageReset();
  }

  // The tone for the outcome, then the spoken prompt for the tone (amber "retry" has its
  // own words) in the page's language. Both at the configured volume.
  const TONE_MAX_MS = 1500; // the tones last under a second: speak even if "ended" never comes
  let voiceTimer = null;

  function start(audio, failed) {
    try {
      audio.currentTime = 0;
      const playing = audio.play();
      if (playing && playing.catch) playing.catch(function () { if (failed) failed(); });
    } catch (e) { if (failed) failed(); } // no audio device
  }

  function play(outcome, tone) {
    const sound = $("sound-" + outcome);
    const voice = $("voice-" + tone);
    clearTimeout(voiceTimer);
    document.querySelectorAll("audio").forEach(function (a) { a.onended = null; if (!a.paused) a.pause(); });
    let spoken = false;
    function speak() {
      if (spoken || !voice) return;
      spoken = true;
      clearTimeout(voiceTimer);
      if (sound) sound.onended = null;
      screen.dataset.voice = tone;
      start(voice);
    }
    if (!sound) { speak(); return; }
    screen.dataset.sound = outcome;
    sound.onended = speak;
    voiceTimer = setTimeout(speak, TONE_MAX_MS);
    start(sound, speak);
  }

  function setVolume() {
    const volume = Math.max(0, Math.min(1, Number(screen.dataset.soundVolume)));
    if (isNaN(volume)) return;
    document.querySelectorAll("audio").forEach(function (a) { a.volume = volume; });
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

  // The connection: "ok" while the stream is open, "lost" from the first error, and
  // "offline" (the out-of-service panel) when it has not come back within OFFLINE_MS.
  function connected() {
    clearTimeout(offlineTimer);
    offlineTimer = null;
    screen.dataset.connection = "ok";
    if (screen.dataset.state === "offline") idle();
  }

  function lost() {
    if (screen.dataset.connection === "ok" || screen.dataset.connection === "connecting") {
      screen.dataset.connection = "lost";
    }
    if (offlineTimer === null) offlineTimer = setTimeout(offline, OFFLINE_MS);
  }

  function offline() {
    screen.dataset.connection = "offline";
    clearTimeout(toIdle);
    show("offline");
  }

  function connect() {
    reconnectTimer = null;
    source = new EventSource("/api/events");
    source.addEventListener("open", connected);
    source.addEventListener("today", json(today));
    source.addEventListener("phase", json(phase));
    source.addEventListener("result", json(result));
    source.addEventListener("error", function () {
      lost();
      // EventSource retries by itself after a dropped stream; after a refusal (503, too
      // many screens) or a server that is gone it may give up: start a new one later.
      if (source.readyState === EventSource.CLOSED && reconnectTimer === null) {
        source.close();
        reconnectTimer = setTimeout(connect, RECONNECT_MS);
      }
    });
  }

  document.addEventListener("pointerdown", armLanguageReset);
  // Leaving the page (language switch) frees the server's stream at once.
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  setVolume();
  armLanguageReset();
  connect();
})();
