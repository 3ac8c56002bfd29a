// The technology-contract form: 技术交易额 = 成交额 − 非技术性费用, computed live to the fen
// (integer fen with BigInt, never floats), and the license / transfer sections shown only for
// the contract types that need them. The server computes the stored amounts again on save.
(function () {
  "use strict";
  const form = document.getElementById("contract-form");
  if (!form) return;

  const UNITS = { "": 1n, "元": 1n, "万": 10000n, "万元": 10000n, "亿": 100000000n, "亿元": 100000000n };
  const AMOUNT = /^([0-9]+)(?:\.([0-9]+))?\s*(亿元|万元|亿|万|元)?$/;

  // Text as typed -> integer fen (BigInt), 0n for blank, null when unreadable.
  function toFen(text) {
    const folded = (text || "").replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
      .replace(/[,，\s]/g, "").replace("．", ".");
    if (!folded) return 0n;
    const match = AMOUNT.exec(folded);
    if (!match) return null;
    const fraction = match[2] || "";
    const digits = BigInt(match[1] + fraction);
    const scale = 10n ** BigInt(fraction.length);
    const numerator = digits * UNITS[match[3] || ""] * 100n;
    return (numerator * 2n + scale) / (2n * scale); // round half up to the fen
  }

  function show(fen) {
    if (fen === null) return "—";
    const negative = fen < 0n;
    const abs = negative ? -fen : fen;
    const yuan = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const cents = (abs % 100n).toString().padStart(2, "0");
    return `${negative ? "−" : ""}${yuan}.${cents} 元`;
  }

  const amountInput = form.querySelector("[name=amount]");
  const costInputs = Array.from(form.querySelectorAll("[data-cost]"));
  const totalOut = document.getElementById("non-tech-total");
  const techOut = document.getElementById("technology-amount");

  function recompute() {
    const amount = toFen(amountInput.value);
    let costs = 0n;
    let readable = true;
    for (const input of costInputs) {
      const fen = toFen(input.value);
      if (fen === null) readable = false;
      else costs += fen;
    }
    totalOut.textContent = readable ? show(costs) : "—";
    if (amount === null || !readable || !amountInput.value.trim()) {
      techOut.textContent = "—";
      techOut.classList.remove("text-danger");
      return;
    }
    const tech = amount - costs;
    techOut.textContent = tech < 0n ? `${show(tech)}（非技术性费用不能大于成交额）` : show(tech);
    techOut.classList.toggle("text-danger", tech < 0n);
    techOut.classList.toggle("text-success", tech >= 0n);
  }

  const typeSelect = form.querySelector("[name=contract_type]");
  const transferTypes = (form.dataset.transferTypes || "").split(",");
  const licenseTypes = (form.dataset.licenseTypes || "").split(",");

  function toggleSections() {
    const type = typeSelect.value;
    form.querySelectorAll("[data-show-for]").forEach((el) => {
      const wanted = el.dataset.showFor === "transfer" ? transferTypes : licenseTypes;
      const hasError = el.querySelector(".is-invalid") !== null;
      el.hidden = !(wanted.includes(type) || hasError);
    });
  }

  form.addEventListener("input", (event) => {
    if (event.target.matches("[data-money]")) recompute();
  });
  typeSelect.addEventListener("change", toggleSections);
  recompute();
  toggleSections();
})();
