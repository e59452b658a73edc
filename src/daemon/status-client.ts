// The status page's one script (served as /status.js, inlined in `uugate
// stats --html`): draws the four charts with Chart.js from the page's inline
// JSON and, on a live page (data-refresh on <body>), fetches /status.json every
// 15 seconds to replace the tables and the charts' data in place.
export const STATUS_CLIENT_JS = `'use strict';
(function () {
  var COLORS = ['#0969da', '#1a7f37', '#bf8700', '#cf222e', '#8250df', '#57606a', '#e16f24', '#1b7c83'];
  // Call results keep their colour whatever else is in the chart: green is a good call.
  var RESULT = { ok: '#1a7f37', busy: '#bf8700', 'no-answer': '#e16f24', 'no-carrier': '#cf222e', timeout: '#8250df', 'login-refused': '#a40e26', 'protocol-failure': '#57606a' };
  function size(v) {
    var u = ['B', 'KiB', 'MiB', 'GiB'], i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (Math.round(v * 10) / 10) + ' ' + u[i];
  }
  var charts = {};
  function bars(id, labels, sets, o) {
    o = o || {};
    var datasets = sets.map(function (s, i) {
      return { label: s[0], data: s[1], backgroundColor: (o.byName && RESULT[s[0]]) || COLORS[i % COLORS.length] };
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
        scales: { x: { stacked: !!o.stacked }, y: { stacked: !!o.stacked, beginAtZero: true, ticks: o.bytes ? { callback: size } : { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }
  function draw(d) {
    bars('chart-hourly', d.hourly.labels, [['in', d.hourly.in], ['out', d.hourly.out]]);
    bars('chart-daily', d.daily.labels, [['in', d.daily.in], ['out', d.daily.out]]);
    bars('chart-neighbours', d.neighbours.labels, [['sent', d.neighbours.sent], ['received', d.neighbours.received]], { bytes: true });
    bars('chart-calls', d.calls.labels, Object.keys(d.calls.results).map(function (r) { return [r, d.calls.results[r]]; }), { stacked: true, byName: true });
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
