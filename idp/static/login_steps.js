// The login page's step indicator: the taxpayer choice (step 3) applies to every business entry but
// 自然人业务, so it shows or hides as the person picks one.  Without script the server's choice stands.
(function () {
  "use strict";
  var third = document.getElementById("login-step-3");
  var entries = document.getElementById("business-entries");
  if (!third || !entries) { return; }
  entries.addEventListener("change", function (event) {
    if (event.target.name === "business") { third.hidden = event.target.value === "natural_person"; }
  });
}());
