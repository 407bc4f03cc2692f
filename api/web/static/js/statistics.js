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
      var c = window.echarts.init(box);
      option.color = palette;
      option.textStyle = font;
      option.animation = false;
      c.setOption(option);
      charts.push(c);
    }
    function labels(rows) { return rows.map(function (r) { return r.label; }); }
    chart("levels", {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
      legend: { data: ["实际占比", "目标"], textStyle: font, top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 48, containLabel: true },
      xAxis: { type: "category", data: labels(data.levels), axisLabel: font },
      yAxis: { type: "value", max: 100, axisLabel: { fontSize: 14, formatter: "{value}%" } },
      series: [
        { name: "实际占比", type: "bar", data: data.levels.map(function (r) { return r.actual; }),
          label: { show: true, position: "top", formatter: "{c}%", fontSize: 15 } },
        { name: "目标", type: "bar", data: data.levels.map(function (r) { return r.target; }),
          itemStyle: { color: "#b1b4b6" } }
      ]
    });
    function bars(name, rows, unit) {
      var box = document.querySelector('[data-chart="' + name + '"]');
      if (box) { box.style.height = Math.max(140, 50 + rows.length * 52) + "px"; }
      chart(name, {
        tooltip: { trigger: "axis" },
        grid: { left: 8, right: 56, bottom: 8, top: 8, containLabel: true },
        yAxis: { type: "category", data: labels(rows), inverse: true, axisLabel: font },
        xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 14 } },
        series: [{ type: "bar", barMaxWidth: 32, data: rows.map(function (r) { return r.value; }),
                   label: { show: true, position: "right", formatter: "{c} " + unit, fontSize: 16 } }]
      });
    }
    bars("outcomes", data.outcomes, "件");
    bars("satisfaction", data.satisfaction, "件");
    if (data.children.length) {
      var box = document.querySelector('[data-chart="children"]');
      if (box) { box.style.height = Math.max(180, 90 + data.children.length * 80) + "px"; }
      chart("children", {
        tooltip: { trigger: "axis" },
        legend: { data: ["受理", "成功"], textStyle: font, top: 0 },
        grid: { left: 8, right: 24, bottom: 8, top: 48, containLabel: true },
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
