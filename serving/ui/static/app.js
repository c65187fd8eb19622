// Draws every <div data-chart="name"> from the page's embedded figures (built by the server).
(function () {
  "use strict";
  var node = document.getElementById("charts");
  if (!node || !window.Plotly) { return; }
  var figures = JSON.parse(node.textContent);
  document.querySelectorAll("[data-chart]").forEach(function (div) {
    var fig = figures[div.getAttribute("data-chart")];
    if (!fig) { return; }
    var layout = Object.assign({}, fig.layout);
    layout.margin = Object.assign({l: 60, r: 20, t: 40, b: 40}, fig.layout.margin);
    Plotly.newPlot(div, fig.data, layout, {displaylogo: false, responsive: true}).then(function () {
      div.setAttribute("data-drawn", "true");
    });
  });
})();
