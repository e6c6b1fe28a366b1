/**
 * The dashboard's page: plain HTML, CSS and script in one response, so it
 * needs no build step, no CDN and no network beyond the loopback server it
 * came from. The script keeps a short history of snapshots from `/events`
 * and draws each chart on a canvas. (No template literals in the script: this
 * whole page is one.)
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ts-proxystore dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ee; --bg: #f7f8fb; --card: #fff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #1d2330; color: #fff; }
  header h1 { margin: 0; font-size: 18px; font-weight: 600; }
  header span { color: #b9c0d0; font-size: 13px; }
  #status.live { color: #7ee2a8; } #status.down { color: #ff9a8a; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
  section.wide { grid-column: 1 / -1; }
  h2 { margin: 0 0 8px; font-size: 14px; font-weight: 600; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { white-space: normal; vertical-align: bottom; }
  th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
  th { color: var(--muted); font-weight: 500; }
  canvas { width: 100%; height: 180px; display: block; }
  .legend { display: flex; flex-wrap: wrap; gap: 12px; color: var(--muted); font-size: 12px; margin-top: 4px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
  .empty { color: var(--muted); }
</style>
</head>
<body>
<header><h1>ts-proxystore</h1><span id="status">connecting…</span><span id="updated"></span></header>
<main>
  <section class="wide"><h2>Stores</h2>
    <table><thead><tr><th>store</th><th>connector</th><th>objects held</th><th>bytes held</th><th>cached</th><th>hit rate</th><th>puts/s</th><th>gets/s</th><th>puts</th><th>gets</th></tr></thead>
    <tbody id="stores"><tr><td class="empty" colspan="10">no stores</td></tr></tbody></table>
  </section>
  <section><h2>Bytes held per store</h2><canvas id="chart-bytes"></canvas><div class="legend" id="legend-bytes"></div></section>
  <section><h2>Puts and gets per second</h2><canvas id="chart-rate"></canvas><div class="legend" id="legend-rate"></div></section>
  <section><h2>Cache hit rate</h2><canvas id="chart-hits"></canvas><div class="legend" id="legend-hits"></div></section>
  <section><h2>Tasks in flight, done, failed</h2><canvas id="chart-tasks"></canvas><div class="legend" id="legend-tasks"></div></section>
  <section><h2>Bytes moved by tasks, by value and by proxy</h2><canvas id="chart-moved"></canvas><div class="legend" id="legend-moved"></div></section>
  <section class="wide"><h2>Executors</h2>
    <table><thead><tr><th>executor</th><th>task</th><th>calls</th><th>in flight</th><th>done</th><th>failed</th><th>mean ms</th><th>in task</th><th>inputs + result</th><th>messaging</th>
      <th>args by value</th><th>args by proxy</th><th>result by value</th><th>result by proxy</th></tr></thead>
    <tbody id="executors"><tr><td class="empty" colspan="14">no executors</td></tr></tbody></table>
  </section>
  <section class="wide"><h2>Task durations and time in transfer (all executors)</h2><canvas id="chart-durations"></canvas><div class="legend" id="legend-durations"></div></section>
</main>
<script>
"use strict";
var HISTORY = 120;
var COLORS = ["#3867d6", "#20bf6b", "#fa8231", "#eb3b5a", "#8854d0", "#0fb9b1", "#f7b731", "#4b6584"];
var past = [];

function count(metrics, names) {
  if (!metrics) return 0;
  var total = 0;
  for (var i = 0; i < names.length; i++) if (metrics[names[i]]) total += metrics[names[i]].count;
  return total;
}
function puts(store) { return count(store.metrics, ["put", "putBatch"]); }
function gets(store) { return count(store.metrics, ["get", "getSync"]) || store.cache.hits + store.cache.misses; }
function bytesText(n) {
  if (n === null || n === undefined) return "–";
  var units = ["B", "kB", "MB", "GB", "TB"], i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function rate(key, store) {
  if (past.length < 2) return 0;
  var a = past[past.length - 2], b = past[past.length - 1];
  var before = a.stores.find(function (s) { return s.name === store.name; });
  if (!before) return 0;
  var dt = (b.time - a.time) / 1000;
  return dt > 0 ? (key(store) - key(before)) / dt : 0;
}
function cell(text, field) {
  var td = document.createElement("td");
  td.textContent = String(text);
  if (field) td.dataset.field = field;
  return td;
}
function renderStores(snapshot) {
  var body = document.getElementById("stores");
  body.replaceChildren();
  if (snapshot.stores.length === 0) { var row = document.createElement("tr"); row.append(cell("no stores")); body.append(row); return; }
  snapshot.stores.forEach(function (s) {
    var row = document.createElement("tr");
    row.dataset.store = s.name;
    row.append(cell(s.name, "name"), cell(s.connector, "connector"),
      cell(s.held ? s.held.objects : "–", "objects"), cell(s.held ? bytesText(s.held.bytes) : "–", "bytes"),
      cell(s.cache.objects, "cached"), cell((100 * s.cache.hitRate).toFixed(1) + " %", "hitRate"),
      cell(rate(puts, s).toFixed(1), "putRate"), cell(rate(gets, s).toFixed(1), "getRate"),
      cell(puts(s), "puts"), cell(gets(s), "gets"));
    body.append(row);
  });
}
function renderExecutors(snapshot) {
  var body = document.getElementById("executors");
  body.replaceChildren();
  var names = Object.keys(snapshot.executors);
  var rows = 0;
  names.forEach(function (name) {
    var tasks = snapshot.executors[name];
    Object.keys(tasks).forEach(function (task) {
      var t = tasks[task], settled = t.done + t.failed, w = t.worker;
      // Mean ms per call the workers timed: in the task, fetching inputs and storing results, and the rest of the call (messaging, queueing).
      var perCall = function (ms) { return w.calls === 0 ? "–" : (ms / w.calls).toFixed(2); };
      var row = document.createElement("tr");
      row.dataset.executor = name; row.dataset.task = task;
      row.append(cell(name), cell(task), cell(t.calls, "calls"), cell(t.inFlight, "inFlight"), cell(t.done, "done"), cell(t.failed, "failed"),
        cell(settled === 0 ? "–" : (t.totalMs / settled).toFixed(2), "meanMs"), cell(perCall(w.taskMs), "taskMs"),
        cell(perCall(w.inputMs + w.outputMs), "transferMs"), cell(w.calls === 0 || settled === 0 ? "–" : Math.max(0, t.totalMs / settled - (w.inputMs + w.taskMs + w.outputMs) / w.calls).toFixed(2), "messagingMs"),
        cell(bytesText(t.bytes.argsByValue), "argsByValue"), cell(bytesText(t.bytes.argsByProxy), "argsByProxy"),
        cell(bytesText(t.bytes.resultByValue), "resultByValue"), cell(bytesText(t.bytes.resultByProxy), "resultByProxy"));
      body.append(row); rows++;
    });
  });
  if (rows === 0) { var row = document.createElement("tr"); row.append(cell("no tasks yet")); body.append(row); }
}
function sizeCanvas(canvas) {
  var ratio = window.devicePixelRatio || 1, box = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(box.width * ratio)); canvas.height = Math.max(1, Math.round(box.height * ratio));
  var ctx = canvas.getContext("2d"); ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx: ctx, w: box.width, h: box.height };
}
function axes(c, max, format) {
  var ctx = c.ctx;
  ctx.clearRect(0, 0, c.w, c.h);
  ctx.strokeStyle = "#e3e6ee"; ctx.fillStyle = "#6b7385"; ctx.font = "11px system-ui, sans-serif"; ctx.lineWidth = 1;
  for (var i = 0; i <= 4; i++) {
    var y = 8 + (c.h - 24) * (1 - i / 4);
    ctx.beginPath(); ctx.moveTo(56, y); ctx.lineTo(c.w - 6, y); ctx.stroke();
    ctx.fillText(format(max * i / 4), 4, y + 4);
  }
}
/** The smallest of 1, 2, 5 × 10^n (n ≥ 0) at or above v, so axis ticks at quarters read as round numbers. */
function niceMax(v) {
  if (!(v > 4)) return 4;
  var p = Math.pow(10, Math.floor(Math.log10(v))), steps = [1, 2, 4, 5, 10];
  for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
  return 10 * p;
}
function lineChart(id, series, format, fixedMax) {
  var canvas = document.getElementById(id), c = sizeCanvas(canvas);
  var max = 0;
  series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
  max = fixedMax || niceMax(max);
  axes(c, max, format);
  series.forEach(function (s, k) {
    var ctx = c.ctx; ctx.strokeStyle = COLORS[k % COLORS.length]; ctx.lineWidth = 2; ctx.beginPath();
    s.values.forEach(function (v, i) {
      var x = 56 + (c.w - 62) * (HISTORY === 1 ? 0 : (i + HISTORY - s.values.length) / (HISTORY - 1));
      var y = 8 + (c.h - 24) * (1 - v / max);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
  var legend = document.getElementById(id.replace("chart", "legend"));
  if (legend) legend.innerHTML = series.map(function (s, k) {
    return '<span><i style="background:' + COLORS[k % COLORS.length] + '"></i>' + s.name.replace(/[<>&]/g, "") + "</span>";
  }).join("");
}
function perStore(pick) {
  var names = [];
  past.forEach(function (h) { h.stores.forEach(function (s) { if (names.indexOf(s.name) < 0) names.push(s.name); }); });
  return names.map(function (name) {
    return { name: name, values: past.map(function (h, i) {
      var s = h.stores.find(function (x) { return x.name === name; });
      return s ? pick(s, i) : 0;
    }) };
  });
}
function storeRate(key) {
  return function (s, i) {
    if (i === 0) return 0;
    var before = past[i - 1].stores.find(function (x) { return x.name === s.name; });
    var dt = (past[i].time - past[i - 1].time) / 1000;
    return before && dt > 0 ? Math.max(0, (key(s) - key(before)) / dt) : 0;
  };
}
/** Executors whose calls count in the totals: not one that another shown executor wraps, whose calls that one counts already. */
function counted(h) {
  return Object.keys(h.executors).filter(function (e) { return (h.nested || []).indexOf(e) < 0; });
}
function taskSeries() {
  function total(h, field) {
    var n = 0;
    counted(h).forEach(function (e) { Object.keys(h.executors[e]).forEach(function (t) { n += h.executors[e][t][field]; }); });
    return n;
  }
  return ["inFlight", "done", "failed"].map(function (field) {
    return { name: field === "inFlight" ? "in flight" : field, values: past.map(function (h) { return total(h, field); }) };
  });
}
/** Bytes all tasks moved so far, by value and by proxy (arguments and results together). */
function movedSeries() {
  function total(h, fields) {
    var n = 0;
    counted(h).forEach(function (e) {
      Object.keys(h.executors[e]).forEach(function (t) { fields.forEach(function (f) { n += h.executors[e][t].bytes[f]; }); });
    });
    return n;
  }
  return [
    { name: "by value", values: past.map(function (h) { return total(h, ["argsByValue", "resultByValue"]); }) },
    { name: "by proxy", values: past.map(function (h) { return total(h, ["argsByProxy", "resultByProxy"]); }) },
  ];
}
/** Two bars per bucket: the calls' whole durations, and their time in transfer (all but the task) where the worker said. */
function durationChart(snapshot) {
  var buckets = snapshot.durationBucketsMs, counts = new Array(buckets.length + 1).fill(0), transfers = counts.slice();
  counted(snapshot).forEach(function (e) {
    Object.keys(snapshot.executors[e]).forEach(function (t) {
      snapshot.executors[e][t].durations.forEach(function (n, i) { counts[i] += n; });
      snapshot.executors[e][t].transfers.forEach(function (n, i) { transfers[i] += n; });
    });
  });
  var c = sizeCanvas(document.getElementById("chart-durations")), max = niceMax(Math.max.apply(null, counts.concat(transfers)));
  axes(c, max, function (v) { return Math.round(v); });
  var width = (c.w - 62) / counts.length, bar = (width - 4) / 2;
  counts.forEach(function (n, i) {
    [[n, COLORS[0]], [transfers[i], COLORS[2]]].forEach(function (pair, k) {
      var h = (c.h - 24) * pair[0] / max;
      c.ctx.fillStyle = pair[1]; c.ctx.fillRect(58 + i * width + k * bar, 8 + (c.h - 24) - h, bar, h);
    });
    c.ctx.fillStyle = "#6b7385";
    c.ctx.fillText(i < buckets.length ? "≤" + buckets[i] + " ms" : ">" + buckets[buckets.length - 1], 58 + i * width, c.h - 2);
  });
  document.getElementById("legend-durations").innerHTML = '<span><i style="background:' + COLORS[0] + '"></i>whole call</span><span><i style="background:' + COLORS[2] + '"></i>in transfer (all but the task)</span>';
}
function render(snapshot) {
  past.push(snapshot);
  if (past.length > HISTORY) past.shift();
  renderStores(snapshot);
  renderExecutors(snapshot);
  lineChart("chart-bytes", perStore(function (s) { return s.held ? s.held.bytes : 0; }), bytesText);
  var rates = perStore(storeRate(puts)).map(function (s) { s.name += " puts"; return s; })
    .concat(perStore(storeRate(gets)).map(function (s) { s.name += " gets"; return s; }));
  lineChart("chart-rate", rates, function (v) { return v.toFixed(0) + "/s"; });
  lineChart("chart-hits", perStore(function (s) { return 100 * s.cache.hitRate; }), function (v) { return v.toFixed(0) + " %"; }, 100);
  lineChart("chart-tasks", taskSeries(), function (v) { return String(Math.round(v)); });
  lineChart("chart-moved", movedSeries(), bytesText);
  durationChart(snapshot);
  document.getElementById("updated").textContent = "updated " + new Date(snapshot.time).toLocaleTimeString();
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}
var source = new EventSource("events");
source.onopen = function () { var s = document.getElementById("status"); s.textContent = "live"; s.className = "live"; };
source.onerror = function () { var s = document.getElementById("status"); s.textContent = "reconnecting…"; s.className = "down"; };
source.onmessage = function (event) { render(JSON.parse(event.data)); };
</script>
</body>
</html>
`;
