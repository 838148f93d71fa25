// Copy buttons on the "Aktiver ePortal" admin page (no inline script: the CSP forbids it).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copyTarget);
  if (!target) return;
  const text = target.value !== undefined ? target.value : target.textContent;
  navigator.clipboard.writeText(text.trim()).then(() => {
    button.setAttribute("aria-live", "polite");
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = "✓ " + button.dataset.label;
  });
});
