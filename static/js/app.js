// Small progressive enhancements; every page works without JavaScript. Nothing in the templates
// is inline (no onclick=, no style=): the Content-Security-Policy allows script and style files
// from this site only, so behaviour hangs on data- attributes here.
document.addEventListener("DOMContentLoaded", () => {
  // Confirm dangerous actions: <button data-confirm="确定撤回？"> or <form data-confirm="…">.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener(el.tagName === "FORM" ? "submit" : "click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // Sizes the page computes (bar widths, calendar positions), in percent:
  // <span data-pct-width="42">, <div data-pct-top="12.5" data-pct-height="8">.
  ["width", "top", "height"].forEach((property) => {
    const attribute = "pct" + property[0].toUpperCase() + property.slice(1);
    document.querySelectorAll(`[data-pct-${property}]`).forEach((el) => {
      const value = Number.parseFloat(el.dataset[attribute]);
      if (Number.isFinite(value)) el.style[property] = `${Math.min(Math.max(value, 0), 100)}%`;
    });
  });
  // Select a read-only value on focus, copy it with a button: <input data-select-on-focus>,
  // <button data-copy-from="input-id" data-copied-text="已复制">.
  document.querySelectorAll("[data-select-on-focus]").forEach((el) => {
    el.addEventListener("focus", () => el.select());
  });
  document.querySelectorAll("[data-copy-from]").forEach((button) => {
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copyFrom);
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.value).then(() => {
        button.textContent = button.dataset.copiedText || "已复制";
      });
    });
  });
  // Auto-submit filter selects: <select data-autosubmit>
  document.querySelectorAll("select[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form.submit());
  });
  // Show/hide blocks by a radio or select value: <div data-show-when="org_mode=new">
  const toggles = document.querySelectorAll("[data-show-when]");
  const refresh = () => {
    toggles.forEach((block) => {
      const [name, value] = block.dataset.showWhen.split("=");
      const field = document.querySelector(`[name="${name}"]:checked`) || document.querySelector(`select[name="${name}"]`);
      const current = field ? field.value : "";
      block.hidden = !value.split("|").includes(current);
    });
  };
  document.querySelectorAll("input[type=radio], select").forEach((el) => el.addEventListener("change", refresh));
  refresh();
});
