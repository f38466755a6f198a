"use strict";
// Admin pages: the print button of the daily report (no inline handlers: CSP forbids them).
(function () {
  const print = document.getElementById("print-report");
  if (print) print.addEventListener("click", function () { window.print(); });
})();
