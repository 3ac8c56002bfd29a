// Auction page: a countdown every second and the state polled from the API every 2 s (current
// price, bid count, end time that anti-sniping may move, phase). No framework, no CDN.
(function () {
  "use strict";
  var root = document.getElementById("auction");
  if (!root) return;
  var stateUrl = root.getAttribute("data-state-url");
  var $ = function (id) { return root.querySelector('[data-testid="' + id + '"]'); };
  var countdown = $("countdown");
  var endsAt = Date.parse(countdown.getAttribute("data-ends-at"));
  var startsAt = Date.parse(countdown.getAttribute("data-starts-at"));
  var phase = root.getAttribute("data-phase");
  var bidCount = Number(($("bid-count") || {}).textContent || 0);
  var skew = 0; // server time minus local time, from the API's server_time

  function yuan(text) {
    var n = Number(text);
    if (!isFinite(n)) return text;
    if (n >= 1e8) return (n / 1e8).toLocaleString("zh-CN", { maximumFractionDigits: 4 }) + " 亿元";
    if (n >= 1e4) return (n / 1e4).toLocaleString("zh-CN", { maximumFractionDigits: 4 }) + " 万元";
    return n.toLocaleString("zh-CN", { minimumFractionDigits: 2 }) + " 元";
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function left(ms) {
    if (ms <= 0) return "00:00:00";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
    s -= d * 86400;
    var text = two(Math.floor(s / 3600)) + ":" + two(Math.floor((s % 3600) / 60)) + ":" + two(s % 60);
    return d ? d + " 天 " + text : text;
  }
  function tick() {
    if (phase === "ended") return;
    var now = Date.now() + skew;
    if (phase === "upcoming" && now >= startsAt) { window.location.reload(); return; }
    var target = phase === "upcoming" ? startsAt : endsAt;
    countdown.textContent = left(target - now);
    if (phase === "live" && now >= endsAt + 1500) poll();
  }
  function renderBids(items) {
    var body = document.getElementById("bid-rows");
    if (!body) return;
    body.textContent = "";
    items.forEach(function (b) {
      var tr = document.createElement("tr");
      [String(b.seq), b.bidder, yuan(b.amount), new Date(b.created_at).toLocaleTimeString("zh-CN", { hour12: false })].forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === 2) td.className = "text-end";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }
  var polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    fetch(stateUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        if (s.server_time) skew = Date.parse(s.server_time) - Date.now();
        endsAt = Date.parse(s.ends_at);
        $("ends-at").textContent = new Date(endsAt).toLocaleString("zh-CN", { hour12: false });
        $("current-price").textContent = yuan(s.current_price || s.starting_price);
        var note = $("price-note");
        if (note) note.textContent = s.current_price ? "" : "起拍价，尚无出价";
        var min = $("minimum-bid");
        if (min && s.minimum_bid) min.textContent = yuan(s.minimum_bid);
        if (s.bid_count !== bidCount) {
          bidCount = s.bid_count;
          $("bid-count").textContent = String(s.bid_count);
          var input = document.getElementById("bid-amount");
          if (input && s.minimum_bid && document.activeElement !== input) input.value = s.minimum_bid;
          fetch(stateUrl + "/bids?limit=100", { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (page) { if (page) renderBids(page.items); });
        }
        if (s.phase.code !== phase) window.location.reload();
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { polling = false; });
  }
  setInterval(tick, 1000);
  setInterval(poll, 2000);
  tick();
})();
