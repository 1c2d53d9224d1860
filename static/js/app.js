/* Charts on the analytics page: read the json_script data next to each canvas and draw it.
   Runs on load and after every htmx swap; the tables next to the charts carry the same figures. */
(function () {
  "use strict";
  var charts = [];
  var palette = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#65a30d", "#db2777"];

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
      if (canvas.dataset.chart === "line") {
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
