// The status page's one script (served as /status.js, inlined in `uugate
// stats --html`): draws the four charts with Chart.js from the page's inline
// JSON and, on a live page (data-refresh on <body>), fetches /status.json every
// 15 seconds to replace the tables and the charts' data in place.
export const STATUS_CLIENT_JS = `'use strict';
(function () {
  var COLORS = ['#0969da', '#1a7f37', '#bf8700', '#cf222e', '#8250df', '#57606a', '#e16f24', '#1b7c83'];
  var charts = {};
  function bars(id, labels, sets, stacked) {
    var datasets = sets.map(function (s, i) {
      return { label: s[0], data: s[1], backgroundColor: COLORS[i % COLORS.length] };
    });
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets = datasets;
      charts[id].update('none');
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {
      type: 'bar',
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: !!stacked }, y: { stacked: !!stacked, beginAtZero: true } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }
  function draw(d) {
    bars('chart-hourly', d.hourly.labels, [['in', d.hourly.in], ['out', d.hourly.out]]);
    bars('chart-daily', d.daily.labels, [['in', d.daily.in], ['out', d.daily.out]]);
    bars('chart-neighbours', d.neighbours.labels, [['sent', d.neighbours.sent], ['received', d.neighbours.received]]);
    bars('chart-calls', d.calls.labels, Object.keys(d.calls.results).map(function (r) { return [r, d.calls.results[r]]; }), true);
  }
  draw(JSON.parse(document.getElementById('chart-data').textContent));
  if (!document.body.hasAttribute('data-refresh')) return;
  setInterval(function () {
    fetch('status.json', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('status.json: HTTP ' + r.status);
      return r.json();
    }).then(function (s) {
      document.getElementById('tables').innerHTML = s.tables;
      document.getElementById('updated').textContent = s.updated;
      draw(s.charts);
    }).catch(function () { /* the next refresh tries again */ });
  }, 15000);
})();
`;
