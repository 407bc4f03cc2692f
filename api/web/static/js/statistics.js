/* The supervisors' dashboard: draws the charts from the page's JSON block (#stats-data) with
   ECharts, served locally. The same figures are in the tables beside each chart. */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("stats-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var font = { fontSize: 16 };
    var palette = ["#1d4f91", "#1d6b34", "#b58105", "#b3261e", "#6f777b"];
    var charts = [];
    function chart(name, option) {
      var box = document.querySelector('[data-chart="' + name + '"]');
      if (!box) { return; }
      var c = window.echarts.init(box, null, { renderer: "svg" });
      option.color = palette;
      option.textStyle = font;
      option.animation = false;
      c.setOption(option);
      charts.push(c);
    }
    function labels(rows) { return rows.map(function (r) { return r.label; }); }
    chart("levels", {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
      legend: { data: ["实际占比", "目标"], textStyle: font },
      grid: { left: 48, right: 16, bottom: 32, top: 40 },
      xAxis: { type: "category", data: labels(data.levels), axisLabel: font },
      yAxis: { type: "value", max: 100, axisLabel: { fontSize: 14, formatter: "{value}%" } },
      series: [
        { name: "实际占比", type: "bar", data: data.levels.map(function (r) { return r.actual; }),
          label: { show: true, position: "top", formatter: "{c}%", fontSize: 15 } },
        { name: "目标", type: "bar", data: data.levels.map(function (r) { return r.target; }),
          itemStyle: { color: "#b1b4b6" } }
      ]
    });
    chart("outcomes", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"], data: data.outcomes.map(function (r) {
        return { name: r.label, value: r.value };
      }), label: { formatter: "{b}\n{c} 件", fontSize: 15 } }]
    });
    chart("satisfaction", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: "60%", data: data.satisfaction.map(function (r) {
        return { name: r.label, value: r.value };
      }), label: { formatter: "{b} {c}", fontSize: 15 } }]
    });
    if (data.children.length) {
      chart("children", {
        tooltip: { trigger: "axis" },
        legend: { data: ["受理", "成功"], textStyle: font },
        grid: { left: 8, right: 24, bottom: 8, top: 40, containLabel: true },
        yAxis: { type: "category", data: labels(data.children), inverse: true,
                 axisLabel: { fontSize: 14, width: 120, overflow: "break" } },
        xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 14 } },
        series: [
          { name: "受理", type: "bar", data: data.children.map(function (r) { return r.received; }) },
          { name: "成功", type: "bar", data: data.children.map(function (r) { return r.successful; }) }
        ]
      });
    }
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
