// Pending offline actions: the "Check all" button (without JavaScript, staff tick the boxes).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var button = document.getElementById("check-all");
  if (!button) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var boxes = document.querySelectorAll('#pending-rows input[name="operation"]');
    var all = Array.prototype.every.call(boxes, function (box) { return box.checked; });
    boxes.forEach(function (box) { box.checked = !all; });
    button.textContent = all ? "Check all" : "Uncheck all";
  });
});
