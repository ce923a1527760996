// Every htmx request carries the CSRF token from the page's meta tag.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});
// Show server-side errors of htmx requests instead of failing silently.
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("htmx-error");
  if (!box) {
    box = document.createElement("p");
    box.id = "htmx-error";
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    var main = document.getElementById("main");
    (main || document.body).prepend(box);
  }
  box.textContent = "The server refused the change (" + event.detail.xhr.status + "). Reload the page and try again.";
});
