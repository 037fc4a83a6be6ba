// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // "Add another" for formsets rendered with an empty template row.
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      event.preventDefault();
      var prefix = add.getAttribute("data-add-row");
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var template = document.getElementById(prefix + "-empty");
      var target = document.getElementById(prefix + "-rows");
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, index).replace(/__num__/g, index + 1);
      var wrapper = document.createElement("div");
      wrapper.innerHTML = html.trim();
      var row = wrapper.firstElementChild;
      target.appendChild(row);
      total.value = index + 1;
      var first = row.querySelector("input, select, textarea");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      event.preventDefault();
      var r = remove.closest(".formset-row");
      var del = r.querySelector("input[type=checkbox][name$='-DELETE']");
      if (del) { del.checked = true; r.hidden = true; } else { r.remove(); }
    }
  });
  // Selects that act at once (the language switch): no inline handlers under the CSP.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) { select.form.submit(); }
    var kind = event.target.closest("select[data-only-for-party]");
    if (kind) { showPartyField(kind); }
  });
  // The signature form: the party is asked only for a party's signature, not the mediator's or the seal.
  function showPartyField(kind) {
    var party = kind.form && kind.form.querySelector("[name=" + kind.getAttribute("data-only-for-party") + "]");
    var field = party && party.closest(".field");
    if (field) { field.hidden = kind.value !== "party"; }
  }
  document.querySelectorAll("select[data-only-for-party]").forEach(showPartyField);
  // The narrow-screen menu is a popover (opens without script); keep the button's aria-expanded in step
  // for older screen readers, and close the menu when the window grows back to the side-column layout.
  var menu = document.getElementById("site-nav");
  var menuButton = document.querySelector(".menu-button");
  if (menu && menuButton && typeof menu.hidePopover === "function") {
    menuButton.setAttribute("aria-expanded", "false");
    var mark = function (event) {
      menuButton.setAttribute("aria-expanded", event.newState === "open" ? "true" : "false");
    };
    menu.addEventListener("beforetoggle", mark);  // at once, before the menu shows
    menu.addEventListener("toggle", mark);
    var wide = window.matchMedia("(min-width: 901px)");
    var closeWhenWide = function () {
      if (wide.matches && menu.matches(":popover-open")) { menu.hidePopover(); }
    };
    if (wide.addEventListener) { wide.addEventListener("change", closeWhenWide); }
  }
  // Block a second submit of the same form (the server also refuses duplicates).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted === "1") { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    window.setTimeout(function () { form.dataset.submitted = ""; }, 8000);
  });
})();
