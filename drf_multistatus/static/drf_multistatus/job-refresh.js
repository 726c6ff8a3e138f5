/* Refreshes a background job's page in the browsable API until the job has ended, as the page's
 * <noscript> meta refresh does without JavaScript, but never while a dialog or menu is open (DRF's
 * DELETE confirmation), a form is being edited or a request is on its way: a refresh would close
 * or lose them. An ended job's page (its 207) has no progress panel, so nothing to refresh. */
(function () {
  "use strict";

  var panel = document.querySelector(".bulk-job[data-refresh]");
  if (!panel) {
    return;
  }
  var period = 1000 * (parseFloat(panel.getAttribute("data-refresh")) || 1);
  var target = new URL(panel.getAttribute("data-href") || window.location.href, window.location.href);

  function dialogOpen() {
    return document.body.classList.contains("modal-open") || document.querySelector(".modal.in, .open > .dropdown-menu") !== null;
  }

  function changed(field) {
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return field.type !== "hidden" && field.value !== field.defaultValue;
  }

  function editing() {
    var active = document.activeElement;
    if (active && active.form && /^(TEXTAREA|SELECT)$/.test(active.tagName)) {
      return true;
    }
    if (active && active.form && active.tagName === "INPUT" && !/^(button|submit|reset|image|hidden)$/.test(active.type)) {
      return true;
    }
    return Array.prototype.some.call(document.querySelectorAll("form input, form textarea, form select"), changed);
  }

  function requesting() {
    return Boolean(window.jQuery && window.jQuery.active);
  }

  function tick() {
    if (!document.body || !document.body.contains(panel)) {
      return; // the page was replaced: DRF writes the answer of its forms' requests into it
    }
    if (dialogOpen() || editing() || requesting()) {
      window.setTimeout(tick, period);
    } else if (target.pathname === window.location.pathname) {
      window.location.reload();
    } else {
      window.location.replace(target.href);
    }
  }

  window.setTimeout(tick, period);
})();
