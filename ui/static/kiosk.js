"use strict";
// Citizen screen: poll the server for today's count and the latest decision.
(function () {
  const ICON = { admitted: "\u2714", denied: "\u2716", refer: "\u26A0" };
  let lastEntry = null;
  let resetTimer = null;

  function showResult(r) {
    const screen = document.getElementById("screen");
    screen.dataset.state = "result";
    screen.dataset.outcome = r.decision;
    document.getElementById("idle").hidden = true;
    document.getElementById("result").hidden = false;
    document.getElementById("result-icon").textContent = ICON[r.decision] || "";
    document.getElementById("result-message").textContent = r.message;
    document.getElementById("result-message-en").textContent = r.message_en;
    const t = r.temperature && r.temperature.estimated_c;
    document.getElementById("result-temp").textContent = t ? t.toFixed(1) + " \u00B0C" : "";
    clearTimeout(resetTimer);
    resetTimer = setTimeout(showIdle, 6000);
  }

  function showIdle() {
    const screen = document.getElementById("screen");
    screen.dataset.state = "idle";
    delete screen.dataset.outcome;
    document.getElementById("idle").hidden = false;
    document.getElementById("result").hidden = true;
  }

  async function poll() {
    try {
      const today = await (await fetch("/api/today")).json();
      document.getElementById("admitted").textContent = today.admitted;
      document.getElementById("cap").textContent = today.cap;
      const state = await (await fetch("/api/last")).json();
      document.getElementById("scanner-down").hidden = state.scanner !== "unavailable";
      const last = state.result;
      if (last && last.entry_id !== lastEntry && last.ts) {
        const fresh = lastEntry !== null || Date.now() - Date.parse(last.ts) < 6000;
        lastEntry = last.entry_id;
        if (fresh) showResult(last);
      }
    } catch (e) { /* server restarting: keep the last screen */ }
  }
  poll();
  setInterval(poll, 1000);
})();
