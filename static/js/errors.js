/* A request htmx sent that failed (a 4xx or 5xx it does not swap in, or no answer at all) says so
   in the banner at the top of the page instead of leaving the button looking dead. The server's
   own short plain-text message is shown when there is one (as text, never as markup). */
(function () {
  "use strict";
  function show(message) {
    var banner = document.getElementById("request-error");
    if (!banner) return;
    banner.textContent = message;
    banner.hidden = false;
  }
  document.addEventListener("htmx:beforeRequest", function () {
    var banner = document.getElementById("request-error");
    if (banner) banner.hidden = true;
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 ? xhr.responseText.trim() : "";
    show(text && text.length <= 300 ? "Not sent: " + text : "The request failed (" + xhr.status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    show("The server did not answer: check your connection and try again.");
  });
})();
