"use strict";
// Today's attendance board on the admin staff page: polls /admin/staff/board every few
// seconds and redraws the table (names and times only; nothing is kept in the browser).
(function () {
  const board = document.getElementById("board");
  if (!board) return;
  const rows = document.getElementById("board-rows");
  const everyMs = 1000 * parseFloat(board.dataset.refreshSeconds || "5");
  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : String(text);
    return td;
  }
  async function refresh() {
    let data;
    try {
      const res = await fetch(board.dataset.url, { headers: { Accept: "application/json", "X-Kiosk-Poll": "1" } });
      if (!res.ok) return;
      data = await res.json();
    } catch (err) {
      return;
    }
    document.getElementById("board-day").textContent = data.day;
    if (!data.rows.length) {
      const tr = document.createElement("tr");
      const td = cell(board.dataset.empty);
      td.colSpan = 5;
      tr.appendChild(td);
      rows.replaceChildren(tr);
      return;
    }
    rows.replaceChildren(...data.rows.map(function (r) {
      const tr = document.createElement("tr");
      tr.dataset.state = r.state;
      tr.appendChild(cell(r.name));
      tr.appendChild(cell(r.state_text + (r.late ? " (" + board.dataset.late + ")" : "")));
      tr.appendChild(cell(r.in));
      tr.appendChild(cell(r.out));
      tr.appendChild(cell(r.refused));
      return tr;
    }));
  }
  refresh();
  setInterval(refresh, everyMs);
})();
