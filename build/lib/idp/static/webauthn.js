// Security-key pages: ask the browser for a WebAuthn credential (create on registration, get on
// login) with the server's options, then post the page's form with PublicKeyCredential.toJSON().
// No inline script: the page's CSP allows only scripts from this origin.
(function () {
  "use strict";
  var form = document.getElementById("webauthn-form");
  if (!form) { return; }
  var status = document.getElementById("webauthn-status");
  var options = JSON.parse(document.getElementById("webauthn-options").textContent);

  function show(text) {
    status.textContent = text;
    status.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      show(form.dataset.textUnsupported);
      return;
    }
    var request = form.dataset.mode === "create"
      ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
      : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    request.then(function (credential) {
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();  // submit() fires no submit event: no loop
    }, function () {
      show(form.dataset.textFailed);
    });
  });
})();
