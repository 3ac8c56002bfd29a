/* The officials' dashboard charts (ECharts, served from static/vendor). Data comes from the
   page (#stats-data): amounts are decimal strings of yuan; every element links to the list of
   contracts behind it. */
(function () {
  "use strict";
  var source = document.getElementById("stats-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var palette = ["#0b4f8a", "#c0392b", "#2a9d8f", "#e9a23b", "#6c5ce7", "#1479c9", "#8d6e63", "#16a085", "#d35400", "#7f8c8d", "#34495e", "#b8860b"];
  var charts = [];

  function wan(amount) { return Math.round(parseFloat(amount) / 100) / 100; }
  function fmt(value) { return value.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }

  function make(id, option, rows) {
    var el = document.getElementById(id);
    if (!el) return null;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    // Tooltips drawn on the canvas: ECharts' HTML tooltips carry inline style="" attributes,
    // which the Content-Security-Policy (style-src 'self') refuses.
    if (option.tooltip) option.tooltip = Object.assign({ renderMode: "richText" }, option.tooltip);
    chart.setOption(Object.assign({ color: palette, textStyle: { fontFamily: "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif" } }, option));
    if (rows) {
      chart.on("click", function (params) {
        var row = rows[params.dataIndex];
        if (row && row.url) window.location.href = row.url;
      });
    }
    charts.push(chart);
    return chart;
  }

  function empty(id) {
    var el = document.getElementById(id);
    if (el) el.innerHTML = '<div class="empty-state py-5"><i class="bi bi-bar-chart"></i><p class="mb-0 small">本期没有登记合同</p></div>';
  }

  // Monthly trend: bars this period, line the same months a year earlier.
  var trend = data.trend.rows;
  make("chart-trend", {
    tooltip: { trigger: "axis", valueFormatter: function (v) { return fmt(v) + " 万元"; } },
    legend: { data: ["本期成交额", "上年同期"], top: 0 },
    grid: { left: 60, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: trend.map(function (r) { return r.label.replace(/^\d{4}年/, function (y) { return trend.length > 12 ? y : ""; }); }) },
    yAxis: { type: "value", name: "万元", axisLabel: { formatter: function (v) { return v.toLocaleString("zh-CN"); } } },
    series: [
      { name: "本期成交额", type: "bar", barMaxWidth: 28, data: trend.map(function (r) { return wan(r.amount); }),
        itemStyle: { color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [{ offset: 0, color: "#1479c9" }, { offset: 1, color: "#0b4f8a" }]) } },
      { name: "上年同期", type: "line", smooth: false, symbolSize: 6, data: data.trend.previous.map(wan), itemStyle: { color: "#e9a23b" } }
    ]
  }, trend);

  if (data.target) {
    make("chart-target", {
      series: [{
        type: "gauge", min: 0, max: 100, startAngle: 210, endAngle: -30, radius: "95%",
        progress: { show: true, width: 16, itemStyle: { color: "#c0392b" } },
        axisLine: { lineStyle: { width: 16, color: [[1, "#e8edf3"]] } },
        axisTick: { show: false }, splitLine: { length: 8, lineStyle: { color: "#adb5bd" } },
        axisLabel: { distance: 20, color: "#6c757d", fontSize: 10 },
        pointer: { width: 4, itemStyle: { color: "#243b53" } },
        detail: { valueAnimation: true, formatter: "{value}%", fontSize: 26, fontWeight: "bold", color: "#b03a2e", offsetCenter: [0, "55%"] },
        title: { offsetCenter: [0, "85%"], fontSize: 12, color: "#6c757d" },
        data: [{ value: Math.min(parseFloat(data.target.ratio), 100), name: "完成率（超过 100% 按满格显示）" }]
      }]
    });
  }

  function hbar(id, rows) {
    if (!rows || !rows.length) return empty(id);
    var top = rows.slice(0, 12).reverse();
    make(id, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return fmt(v) + " 万元"; } },
      grid: { left: 8, right: 70, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", axisLabel: { show: false }, splitLine: { lineStyle: { type: "dashed" } } },
      yAxis: { type: "category", data: top.map(function (r) { return r.label.length > 14 ? r.label.slice(0, 14) + "…" : r.label; }), axisTick: { show: false } },
      series: [{ type: "bar", barMaxWidth: 18, data: top.map(function (r) { return wan(r.amount); }),
        label: { show: true, position: "right", formatter: function (p) { return fmt(p.value); }, fontSize: 11 },
        itemStyle: { color: "#1479c9", borderRadius: [0, 3, 3, 0] } }]
    }, top);
  }

  function pie(id, rows) {
    if (!rows || !rows.length) return empty(id);
    make(id, {
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "\n" + fmt(p.value) + " 万元（" + p.percent + "%）"; } },
      legend: { type: "scroll", bottom: 0, textStyle: { fontSize: 11 } },
      series: [{ type: "pie", radius: ["38%", "66%"], center: ["50%", "44%"], avoidLabelOverlap: true,
        itemStyle: { borderColor: "#fff", borderWidth: 2 },
        label: { formatter: "{d}%", fontSize: 11 },
        data: rows.map(function (r) { return { name: r.label, value: wan(r.amount) }; }) }]
    }, rows);
  }

  var b = data.breakdowns;
  hbar("chart-field", b.field);
  pie("chart-contract_group", b.contract_group);
  pie("chart-seller_nature", b.seller_nature);
  pie("chart-buyer_nature", b.buyer_nature);
  hbar("chart-ip_type", b.ip_type);
  hbar("chart-objective", b.objective);

  make("chart-funnel", {
    tooltip: { trigger: "item", formatter: "{b}：{c} 项" },
    series: [{ type: "funnel", left: "8%", width: "84%", top: 10, bottom: 10, minSize: "18%", sort: "none", gap: 3,
      label: { position: "inside", formatter: "{b}  {c}", color: "#fff", fontSize: 12 },
      data: data.funnel.map(function (s) { return { name: s.label, value: s.count }; }) }]
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.querySelectorAll('button[data-bs-toggle="tab"]').forEach(function (tab) {
    tab.addEventListener("shown.bs.tab", function () { charts.forEach(function (c) { c.resize(); }); });
  });
  document.body.setAttribute("data-charts-ready", String(charts.length));
})();
