// Dashboards: every chart's option comes from the server (the same rows as its table); a
// click on a bar of the regions below opens that region's dashboard, like its table's link.
(function () {
  "use strict";
  var holder = document.getElementById("insights-charts");
  if (!holder || typeof echarts === "undefined") { return; }
  var options = JSON.parse(holder.textContent);
  var charts = [];
  Object.keys(options).forEach(function (slug) {
    var el = document.getElementById("chart-" + slug);
    if (!el) { return; }
    var chart = echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(options[slug]);
    charts.push(chart);
    if (slug === "children") {
      var links = Array.prototype.map.call(
        document.querySelectorAll('table[data-section="children"] tbody th a'),
        function (a) { return a.getAttribute("href"); }
      );
      chart.on("click", function (params) {
        if (links[params.dataIndex]) { window.location.href = links[params.dataIndex]; }
      });
      el.style.cursor = "pointer";
    }
  });
  document.body.dataset.chartsReady = String(charts.length);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
