"use strict";
(function () {
  let csrf = null;
  // Every POST carries the session's CSRF token (see ui/security.py).
  async function token() {
    if (csrf === null) csrf = (await (await fetch("/api/csrf")).json()).csrf_token;
    return csrf;
  }
  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": await token() },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }
  async function refresh() {
    const s = await (await fetch("/api/sim/state")).json();
    document.getElementById("sim-outputs").textContent = JSON.stringify(s.simulator.outputs);
    const list = document.getElementById("bookings");
    list.replaceChildren(...s.bookings.map(function (b) {
      const li = document.createElement("li");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.id + (b.service ? " (" + b.service + ")" : "");
      btn.addEventListener("click", function () { document.getElementById("qr").value = b.id; });
      li.appendChild(btn);
      return li;
    }));
    const today = await (await fetch("/api/today")).json();
    document.getElementById("sim-admitted").textContent = today.admitted;
  }
  document.getElementById("present-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const t = parseFloat(document.getElementById("temperature").value);
    const num = function (id) {
      const v = parseFloat(document.getElementById(id).value);
      return isNaN(v) ? null : v;
    };
    const r = await post("/api/sim/present", {
      qr: document.getElementById("qr").value, temperature_c: isNaN(t) ? null : t,
      distance_cm: num("distance"), recheck_temperature_c: num("recheck-temperature"),
      recheck_distance_cm: num("recheck-distance"),
    });
    document.getElementById("sim-result").textContent = JSON.stringify(r.body, null, 2);
    refresh();
  });
  // The same body temperature is the person an officer's walk-in places at the thermometer.
  document.getElementById("temperature").addEventListener("change", function () {
    const t = parseFloat(document.getElementById("temperature").value);
    if (!isNaN(t)) post("/api/sim/body", { temperature_c: t });
  });
  document.getElementById("fault-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const r = await post("/api/sim/fault", { fault: document.getElementById("fault").value });
    document.getElementById("sim-result").textContent = JSON.stringify(r.body, null, 2);
  });
  // A staff photo as camera frames (POST /api/sim/face, multipart): uploaded, or picked
  // from the folder the server offers (attendance.sim_photos_dir).
  async function listPhotos() {
    const res = await fetch("/api/sim/faces");
    if (!res.ok) return;
    const select = document.getElementById("face-photo");
    (await res.json()).photos.forEach(function (name) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      select.appendChild(option);
    });
  }
  document.getElementById("face-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const form = new FormData();
    const file = document.getElementById("face-image").files[0];
    if (file) form.append("image", file);
    else form.append("photo", document.getElementById("face-photo").value);
    form.append("skin_c", document.getElementById("face-skin").value);
    const res = await fetch("/api/sim/face", {
      method: "POST", headers: { "X-CSRF-Token": await token() }, body: form,
    });
    document.getElementById("sim-result").textContent = JSON.stringify(await res.json(), null, 2);
    refresh();
  });
  listPhotos();
  refresh();
  setInterval(refresh, 2000);
})();
