// Suggestions while posting: keywords and a technology field from the text being written.
// Progressive enhancement for <form data-suggest-url="/api/v1/suggest" data-suggest-kind="...">:
// without JavaScript the form works as before. Nothing the user typed is ever overwritten:
// keyword chips are appended to the keywords input on click, the field is set only on click.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-suggest-url]");
  if (!form || !window.fetch) return;
  const url = form.dataset.suggestUrl;
  const kind = form.dataset.suggestKind || "achievement";
  const title = form.querySelector('[name="title"]');
  const texts = ["summary", "description"].map((n) => form.querySelector(`[name="${n}"]`)).filter(Boolean);
  const keywords = form.querySelector('[name="keywords"]');
  const fieldSelect = form.querySelector('select[name="field"]');
  if (!keywords || !texts.length) return;
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const SEPARATORS = /[,，、;；\s]+/;
  const MAX_CHARS = 20000;
  const DELAY_MS = 600;

  const panel = document.createElement("div");
  panel.className = "small mb-3";
  panel.dataset.testid = "suggestions";
  panel.setAttribute("aria-live", "polite");
  panel.hidden = true;
  keywords.closest(".mb-3").after(panel);

  const current = () => keywords.value.split(SEPARATORS).map((k) => k.trim()).filter(Boolean);
  let timer = null;
  let lastSent = "";
  let controller = null;

  const chip = (label, className, onClick) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `btn btn-sm ${className} me-1 mb-1`;
    button.textContent = label;
    button.addEventListener("click", onClick);
    return button;
  };

  const render = (data) => {
    panel.replaceChildren();
    const have = new Set(current().map((k) => k.toLowerCase()));
    const words = (data.keywords || []).filter((k) => !have.has(k.toLowerCase()));
    if (words.length) {
      const row = document.createElement("div");
      row.append("建议关键词（点击添加）：");
      words.forEach((word) => {
        row.append(
          chip(`+ ${word}`, "btn-outline-primary", (event) => {
            const list = current();
            if (!list.some((k) => k.toLowerCase() === word.toLowerCase())) {
              keywords.value = [...list, word].join("；");
              keywords.dispatchEvent(new Event("change", { bubbles: true }));
            }
            event.currentTarget.remove();
          })
        );
      });
      panel.append(row);
    }
    const field = data.field;
    if (field && fieldSelect && fieldSelect.value !== field.code && fieldSelect.querySelector(`option[value="${field.code}"]`)) {
      const row = document.createElement("div");
      row.append("建议技术领域：");
      row.append(
        chip(`${field.path}（采用）`, "btn-outline-success", () => {
          fieldSelect.value = field.code;
          fieldSelect.dispatchEvent(new Event("change", { bubbles: true }));
          row.remove();
          panel.hidden = !panel.childElementCount;
        })
      );
      panel.append(row);
    }
    panel.hidden = !panel.childElementCount;
  };

  const ask = async () => {
    const text = texts.map((el) => el.value).join("\n").trim();
    const titleText = title ? title.value.trim().slice(0, 200) : "";
    const key = `${titleText}\n${text}\n${keywords.value}`;
    if (text.length < 10 || text.length > MAX_CHARS || key === lastSent) return;
    lastSent = key;
    form.dataset.suggestState = "pending"; // lets tests (and styles) know a panel may still appear
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        signal: controller.signal,
        headers: { "Content-Type": "application/json", ...(csrf ? { "X-CSRFToken": csrf.content } : {}) },
        body: JSON.stringify({ text, title: titleText, kind, keywords: current() }),
      });
      if (response.ok) render(await response.json());
      form.dataset.suggestState = "done";
    } catch (error) {
      if (error.name === "AbortError") return; // a newer request is on its way
      panel.hidden = true; // suggestions are optional: fail quietly
      form.dataset.suggestState = "done";
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(ask, DELAY_MS);
  };
  [title, ...texts].filter(Boolean).forEach((el) => el.addEventListener("input", schedule));
  if (texts.some((el) => el.value.trim())) schedule(); // editing an existing listing
});
