/* Small helpers every pucha page loads (pucha/baselayout.html, after FAB's ab.js).

   1. A required field carrying data-required-message warns with that text when it is left
      empty: the browser's own "Please fill out this field" is in the browser's language, not
      the page's, and says nothing about what is missing.
   2. FAB's list actions call ab_alert('No row selected') in English; the page's words replace
      the texts FAB hard-codes (given by this script tag's data-* attributes).
*/
(function () {
  "use strict";

  function requiredMessage(field) {
    return field && field.getAttribute ? field.getAttribute("data-required-message") : null;
  }

  document.addEventListener("invalid", function (event) {
    var field = event.target, message = requiredMessage(field);
    if (!message) { return; }
    // Only for an empty field: any other check keeps the browser's own message.
    field.setCustomValidity(field.validity.valueMissing ? message : "");
  }, true);

  document.addEventListener("input", function (event) {
    if (requiredMessage(event.target)) { event.target.setCustomValidity(""); }
  }, true);

  var script = document.currentScript, texts = script ? script.dataset : {};
  var fabAlert = window.ab_alert;
  if (typeof fabAlert === "function") {
    var replacements = {"No row selected": texts.noRowSelected};
    window.ab_alert = function (text) {
      return fabAlert(replacements[text] || text);
    };
  }
})();
