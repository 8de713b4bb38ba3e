// Progressive enhancement only: every action works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The language selector submits itself; its button stays for no-JS users.
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    const select = form.querySelector("select");
    const button = form.querySelector("button");
    if (!select || !button) continue;
    button.hidden = true;
    select.addEventListener("change", () => form.submit());
  }
});
