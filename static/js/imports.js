// The bulk import page: large files take a while, so show that the work is running and prevent
// a double submit.
document.querySelectorAll("form[data-import-form]").forEach((form) => {
  form.addEventListener("submit", () => {
    const button = form.querySelector("[data-busy-text]");
    if (!button) return;
    button.disabled = true;
    const spinner = document.createElement("span");
    spinner.className = "spinner-border spinner-border-sm";
    spinner.setAttribute("role", "status");
    button.replaceChildren(spinner, " " + button.dataset.busyText);
  });
});
