// Move the keyboard and screen-reader focus to the element marked data-focus-on-load (the
// booking confirmation's heading), so the outcome is read out at once after the POST's
// redirect. No inline script: the CSP forbids it.
document.addEventListener("DOMContentLoaded", () => {
  const target = document.querySelector("[data-focus-on-load]");
  if (target) target.focus();
});
