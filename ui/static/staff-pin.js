"use strict";
// The staff PIN keypad (ui/templates/_staff_pin.html): staff number, then PIN, then
// POST /api/staff/pin. The server words every answer; refusals never say whether the
// number exists. The keypad closes by itself after a result and when left alone.
(function () {
  const box = document.getElementById("staff-pin");
  const opener = document.getElementById("staff-pin-open");
  if (!box || !opener) return;
  const prompt = document.getElementById("staff-pin-prompt");
  const display = document.getElementById("staff-pin-display");
  const message = document.getElementById("staff-pin-message");
  const idleMs = 1000 * parseFloat(box.dataset.idleSeconds || "30");
  const doneMs = 1000 * parseFloat(box.dataset.doneSeconds || "4");
  let step = "number";
  let number = "";
  let pin = "";
  let busy = false;
  let timer = null;
  let csrf = null;

  async function token() {
    if (csrf === null) csrf = (await (await fetch("/api/csrf")).json()).csrf_token;
    return csrf;
  }

  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(close, ms);
  }
  function show() {
    prompt.textContent = step === "number" ? box.dataset.promptNumber : box.dataset.promptPin;
    display.textContent = step === "number" ? number : "•".repeat(pin.length);
  }
  function say(text, ok) {
    message.textContent = text || "";
    message.classList.toggle("ok", !!ok);
  }
  function open() {
    step = "number"; number = ""; pin = ""; busy = false;
    say("");
    show();
    box.hidden = false;
    later(idleMs);
  }
  function close() {
    clearTimeout(timer);
    box.hidden = true;
    number = ""; pin = ""; step = "number"; busy = false;
    say("");
  }
  async function send() {
    busy = true;
    say(box.dataset.checking, true);
    let body = null;
    try {
      const res = await fetch("/api/staff/pin", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": await token() },
        body: JSON.stringify({ staff: number, pin: pin }),
      });
      body = await res.json();
    } catch (err) {
      body = null;
    }
    busy = false;
    pin = "";
    if (body && body.ok) {
      say(body.result.message, body.result.decision === "admitted");
      number = "";
      step = "number";
      display.textContent = "";
      later(doneMs);
      return;
    }
    say(body && body.message ? body.message : box.dataset.failed, false);
    step = "number";
    number = "";
    show();
    later(idleMs);
  }
  function press(key) {
    if (busy) return;
    later(idleMs);
    if (key === "clear") {
      if (step === "number") number = number.slice(0, -1); else pin = pin.slice(0, -1);
    } else if (key === "ok") {
      if (step === "number" && number) { step = "pin"; say(""); }
      else if (step === "pin" && pin.length >= 4) { send(); return; }
    } else if (step === "number" && number.length < 9) {
      number += key;
    } else if (step === "pin" && pin.length < 8) {
      pin += key;
    }
    show();
  }
  opener.addEventListener("click", open);
  document.getElementById("staff-pin-cancel").addEventListener("click", close);
  box.querySelectorAll(".staff-pin-key").forEach(function (btn) {
    btn.addEventListener("click", function () { press(btn.dataset.key); });
  });
})();
