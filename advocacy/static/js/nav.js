// The phone menu. Loaded as a classic script in <head> (it blocks for a moment, on purpose) so the page is marked
// as scripted before it paints: with JavaScript the menu folds behind its button at phone width, without it the
// links simply wrap and every one stays reachable. The Content-Security-Policy allows no inline script.
document.documentElement.classList.add("js");

function setOpen(button, open) {
  button.setAttribute("aria-expanded", String(open));
  document.getElementById(button.getAttribute("aria-controls"))?.classList.toggle("open", open);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-disclosure][aria-controls]")) {
    button.hidden = false;
    button.addEventListener("click", () => setOpen(button, button.getAttribute("aria-expanded") !== "true"));
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const button of document.querySelectorAll("button[data-disclosure][aria-expanded=true]")) {
    setOpen(button, false);
    button.focus();
  }
});
