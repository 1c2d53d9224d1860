/* Charts on the analytics page: read the json_script data next to each canvas and draw it.
   Runs on load and after every htmx swap; the tables next to the charts carry the same figures. */
(function () {
  "use strict";
  var charts = [];
  var palette = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#65a30d", "#db2777"];

  /* Cost vs quality: accuracy (y) against cost per 1,000 tickets (x). Each model alone, the cascade
     as configured and as recommended are points; the cascade across thresholds is a line. */
  function qualityChart(data, task) {
    var chart = (data.tasks || []).filter(function (t) { return t.task === task; })[0];
    if (!chart) return null;
    function xy(p) { return { x: p.cost_per_1000, y: p.accuracy * 100, label: p.label, n: p.n, low: p.low * 100, high: p.high * 100 }; }
    var roles = [["single", "Model alone", "circle"], ["configured", "Cascade as configured", "rectRot"], ["recommended", "Recommended threshold", "star"]];
    var datasets = roles.map(function (role, i) {
      return {
        label: role[1], pointStyle: role[2], pointRadius: 7, backgroundColor: palette[i], borderColor: palette[i],
        data: chart.points.filter(function (p) { return p.role === role[0]; }).map(xy)
      };
    }).filter(function (d) { return d.data.length; });
    if (chart.curve.length) {
      datasets.push({ label: "Cascade by threshold", showLine: true, borderDash: [4, 3], pointRadius: 3,
        borderColor: palette[4], backgroundColor: palette[4], data: chart.curve.map(xy) });
    }
    return {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        animation: false,
        scales: {
          x: { title: { display: true, text: "$ per 1,000 tickets" }, beginAtZero: true },
          y: { title: { display: true, text: "accuracy (%)" }, suggestedMax: 100 }
        },
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          var p = ctx.raw;
          return p.label + ": " + p.y.toFixed(1) + "% (" + p.low.toFixed(0) + "–" + p.high.toFixed(0) + "%), $" + p.x.toFixed(4) + " / 1k, n=" + p.n;
        } } } }
      }
    };
  }

  function draw(root) {
    if (typeof Chart === "undefined") return;
    charts = charts.filter(function (c) {
      if (!document.body.contains(c.canvas)) { c.destroy(); return false; }
      return true;
    });
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.source);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var config;
      if (canvas.dataset.chart === "quality") {
        config = qualityChart(data, canvas.dataset.task);
        if (!config) return;
      } else if (canvas.dataset.chart === "line") {
        config = {
          type: "line",
          data: { labels: data.labels, datasets: [{ label: "Cost ($)", data: data.values, borderColor: palette[0], backgroundColor: "rgba(37,99,235,.15)", fill: true, tension: 0.25 }] },
          options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }
        };
      } else {
        config = {
          type: "bar",
          data: {
            labels: data.labels,
            datasets: data.datasets.map(function (d, i) { return { label: d.label, data: d.data, backgroundColor: palette[i % palette.length] }; })
          },
          options: { animation: false, indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } }
        };
      }
      canvas.dataset.drawn = "1";
      charts.push(new Chart(canvas, config));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
