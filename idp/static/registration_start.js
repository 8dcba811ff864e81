// The issuing-country field of the registration start page only for the document types that
// need one (a foreign passport); without this script it stays visible and the server decides.
(function () {
  "use strict";
  var type = document.getElementById("doc_type");
  var field = document.getElementById("country-field");
  if (!type || !field) { return; }
  var input = field.querySelector("input");
  function update() {
    var needed = type.options[type.selectedIndex].hasAttribute("data-needs-country");
    field.hidden = !needed;
    input.disabled = !needed;  // a hidden field sends nothing
  }
  type.addEventListener("change", update);
  update();
})();
