// The 科技成果转化贷款余额 target gauge on /finance/stats (data from #finance-stats-data).
(function () {
  var data = JSON.parse(document.getElementById("finance-stats-data").textContent);
  var el = document.getElementById("chart-finance-target");
  if (!el || !window.echarts || data.ratio === null) return;
  echarts.init(el).setOption({
    series: [{
      type: "gauge", min: 0, max: 100, startAngle: 210, endAngle: -30, radius: "95%",
      progress: { show: true, width: 16, itemStyle: { color: "#c0392b" } },
      axisLine: { lineStyle: { width: 16, color: [[1, "#e8edf3"]] } },
      axisTick: { show: false }, splitLine: { length: 8, lineStyle: { color: "#adb5bd" } },
      axisLabel: { distance: 20, color: "#6c757d", fontSize: 10 },
      pointer: { width: 4, itemStyle: { color: "#243b53" } },
      detail: { valueAnimation: true, formatter: function (v) { return v.toFixed(1) + "%"; }, fontSize: 26, fontWeight: "bold", color: "#b03a2e", offsetCenter: [0, "55%"] },
      title: { offsetCenter: [0, "85%"], fontSize: 12, color: "#6c757d" },
      data: [{ value: Math.min(parseFloat(data.ratio), 100), name: "余额目标完成率" }]
    }]
  });
})();
