// Hosted payment page: checks the IBAN as it is typed and pays with /pay/ (the form also works
// without this script: it posts to /s/{token}).
(function () {
  "use strict";
  var main = document.getElementById("checkout");
  function send(path, body, token) {
    var headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  function reload() { window.location.assign(window.location.pathname + window.location.search); }

  var verifyForm = document.getElementById("verify-form");
  if (verifyForm) {
    verifyForm.addEventListener("submit", function (e) {
      e.preventDefault();
      document.getElementById("verify-button").disabled = true;
      send("/api/v1/payment-sessions/" + verifyForm.dataset.token + "/verify/", {}).then(reload, reload);
    });
  }

  var form = document.getElementById("pay-form");
  if (!form) return;
  var token = form.dataset.token;
  var iban = document.getElementById("iban");
  var feedback = document.getElementById("iban-feedback");
  var error = document.getElementById("form-error");
  var button = document.getElementById("pay-button");
  var timer = null;
  var seq = 0;

  function show(state, nodes) {
    feedback.dataset.state = state;
    feedback.textContent = "";
    nodes.forEach(function (n) { feedback.appendChild(n); });
  }
  // The error in the page's language: the template in data-msg-<error_code>, {name}s filled in.
  function explain(b) {
    var template = b.error_code && feedback.getAttribute("data-msg-" + b.error_code);
    if (!template) return b.error || "";
    var p = b.error_params || {};
    return template.replace(/\{(\w+)\}/g, function (m, name) { return p[name] == null ? m : String(p[name]); });
  }
  function span(id, text) {
    var s = document.createElement("span");
    s.id = id;
    s.textContent = text;
    return s;
  }

  iban.addEventListener("input", function () {
    var raw = iban.value.replace(/\s+/g, "").toUpperCase();
    var grouped = raw.replace(/(.{4})(?=.)/g, "$1 ");
    if (grouped !== iban.value) {
      var atEnd = iban.selectionStart === iban.value.length;
      iban.value = grouped;
      if (atEnd) iban.setSelectionRange(grouped.length, grouped.length);
    }
    clearTimeout(timer);
    if (!raw) { show("empty", []); return; }
    show("checking", []);
    var mine = ++seq;
    timer = setTimeout(function () {
      send("/api/v1/iban-validate/", { iban: raw }, token).then(function (r) {
        if (mine !== seq) return;
        if (r.status !== 200) { show("empty", []); return; }
        if (r.body.valid) {
          show("valid", [span("bank-name", r.body.bank_name || ""), document.createTextNode(" "), span("bank-bic", r.body.bic || "")]);
        } else {
          show("invalid", [document.createTextNode(explain(r.body))]);
        }
      });
    }, 300);
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (main.dataset.busy === "true") return;
    if (!document.getElementById("accept").checked) {
      error.textContent = form.dataset.mustAccept || error.dataset.mustAccept || "";
      document.getElementById("accept").focus();
      return;
    }
    main.dataset.busy = "true";
    button.disabled = true;
    error.textContent = "";
    send("/api/v1/payment-sessions/" + token + "/pay/", {
      iban: iban.value.replace(/\s+/g, ""), iban_holder_name: document.getElementById("holder").value,
      locale: document.documentElement.lang
    }).then(function (r) {
      var b = r.body;
      if (b.verification_url) { window.location.assign(b.verification_url); return; }
      if (r.status === 200) { reload(); return; }
      // Refused before any debit (a bad IBAN or name, a session no longer payable): the plain
      // form post words the same refusal in the page's language.
      if (r.status < 500) { form.submit(); return; }
      error.textContent = (b.error_details && b.error_details.message) || b.detail || "";
      main.dataset.busy = "false";
      button.disabled = false;
    }, function () { main.dataset.busy = "false"; button.disabled = false; });
  });
})();
