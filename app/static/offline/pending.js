// Pending offline actions: the "Check all" button (without JavaScript, staff tick the boxes). Its
// label follows the boxes, also after processed or deleted rows are swapped in place; it hides
// when no row is left to choose.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var button = document.getElementById("check-all");
  if (!button) { return; }

  function boxes() {
    return document.querySelectorAll('#pending-rows input[name="operation"]');
  }

  function allChecked() {
    var found = boxes();
    return found.length > 0 && Array.prototype.every.call(found, function (box) { return box.checked; });
  }

  function refresh() {
    button.hidden = boxes().length === 0;
    button.textContent = allChecked() ? "Uncheck all" : "Check all";
  }

  button.addEventListener("click", function () {
    var check = !allChecked();
    boxes().forEach(function (box) { box.checked = check; });
    refresh();
  });
  document.getElementById("pending-rows").addEventListener("change", refresh);
  document.body.addEventListener("htmx:afterSettle", refresh);
  refresh();
});
