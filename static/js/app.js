// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Confirm dangerous actions: <button data-confirm="确定撤回？">
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
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
