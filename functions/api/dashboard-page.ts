/**
 * The operator dashboard: one self-contained HTML page (style and script inline, no build
 * step, no third-party code) that the api function serves on GET /dashboard. It polls
 * `dashboard/summary` relative to its own URL every 2 s, so it works under API Gateway's stage
 * path and behind `wms dashboard`'s signing proxy alike. The throughput chart is the server's
 * per-minute history (`dashboard/history`, read on load and every minute), so a reload shows
 * the last hour; between reads the jobs the summaries show finishing are added to their
 * minute. Everything is drawn with DOM calls (text, never HTML from data) and inline SVG.
 */
import { createHash } from 'node:crypto';

/** How often the page polls, in milliseconds. */
export const DASHBOARD_REFRESH_MS = 2000;
/** How often the page reads the server's throughput history again, in milliseconds. */
export const DASHBOARD_HISTORY_REFRESH_MS = 60_000;
/** The minutes the throughput chart shows. */
export const DASHBOARD_HISTORY_MINUTES = 60;

const STYLE = `
:root {
  --ink: #1c2430; --muted: #6b7684; --line: #e3e7ec; --panel: #ffffff; --page: #f3f5f8;
  --accent: #2563eb; --bad: #dc2626; --warn: #d97706;
  --READY: #cbd5e1; --QUEUED: #93c5fd; --RUNNING: #3b82f6; --DONE: #16a34a;
  --FAILED: #dc2626; --CANCELLED: #6b7280; --LOST: #f59e0b;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--page); }
header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; background: #111827; color: #f9fafb; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; letter-spacing: .2px; }
header .subtitle { color: #9ca3af; font-size: 13px; }
th.progress { width: 38%; }
header .status { margin-left: auto; font-size: 13px; color: #cbd5e1; display: flex; align-items: center; gap: 8px; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: #9ca3af; box-shadow: 0 0 0 3px rgba(156,163,175,.25); }
.dot.live { background: #22c55e; box-shadow: 0 0 0 3px rgba(34,197,94,.25); }
.dot.late { background: var(--warn); box-shadow: 0 0 0 3px rgba(217,119,6,.25); }
.dot.stale { background: var(--bad); box-shadow: 0 0 0 3px rgba(220,38,38,.25); }
main { padding: 20px 24px 32px; display: grid; gap: 18px; align-items: start; grid-template-columns: repeat(12, 1fr); max-width: 1500px; margin: 0 auto; }
.cards { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(6, 1fr); gap: 14px; }
.card, section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 12px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.card .value { font-size: 26px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .value.bad { color: var(--bad); }
section { padding: 14px 18px 16px; min-width: 0; }
section h2 { margin: 0 0 10px; font-size: 14px; font-weight: 600; display: flex; align-items: baseline; gap: 8px; }
section h2 small { color: var(--muted); font-weight: 400; }
.wide { grid-column: 1 / -1; }
.half { grid-column: span 6; }
.third { grid-column: span 4; }
.two-thirds { grid-column: span 8; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 500; padding: 6px 8px; border-bottom: 1px solid var(--line); }
td { padding: 7px 8px; border-bottom: 1px solid #f0f2f5; vertical-align: middle; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.sub { color: var(--muted); font-size: 12px; }
.bar { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: #eef1f5; min-width: 160px; }
.bar span { display: block; height: 100%; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 600; background: #eef1f5; color: var(--ink); }
.pill.RUNNING, .pill.ACTIVE { background: #dbeafe; color: #1d4ed8; }
.pill.REGISTERED, .pill.IDLE { background: #f1f5f9; color: #475569; }
.pill.DONE { background: #dcfce7; color: #15803d; }
.pill.FAILED, .pill.LOST { background: #fee2e2; color: #b91c1c; }
.pill.CANCELLED, .pill.EXITED { background: #e5e7eb; color: #374151; }
.legend { display: flex; flex-wrap: wrap; gap: 10px 14px; margin-top: 10px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.state-row { display: grid; grid-template-columns: 92px 1fr 70px; align-items: center; gap: 10px; margin: 6px 0; }
.state-row .track { height: 14px; background: #eef1f5; border-radius: 4px; overflow: hidden; }
.state-row .fill { height: 100%; border-radius: 4px; }
.state-row .count { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: var(--muted); padding: 10px 0; }
.age.late { color: var(--warn); font-weight: 600; }
.age.dead { color: var(--bad); font-weight: 600; }
.dlq td.num.bad { color: var(--bad); font-weight: 700; }
.banner { grid-column: 1 / -1; background: #fef2f2; border: 1px solid #fecaca; color: #991b1b; padding: 10px 14px; border-radius: 8px; display: none; }
.banner.shown { display: block; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
a.task-link { color: var(--accent); text-decoration: none; }
.filters { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.filters button, .pager button { font: inherit; font-size: 12px; border: 1px solid var(--line); background: #fff; border-radius: 999px; padding: 2px 10px; cursor: pointer; }
.filters button.on { background: var(--accent); color: #fff; border-color: var(--accent); }
.pager { margin-top: 8px; }
pre#log-view { background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 8px; max-height: 320px; overflow: auto; font-size: 12px; white-space: pre-wrap; }
@media (max-width: 1100px) { .half, .third, .two-thirds { grid-column: 1 / -1; } .cards { grid-template-columns: repeat(3, 1fr); } }
`;

const BODY = `
<header>
  <h1>SPD WMS</h1><span class="subtitle">operator dashboard</span>
  <div class="status"><span class="dot" id="dot" data-connection="connecting"></span><span id="updated">connecting…</span></div>
</header>
<main>
  <div class="banner" id="banner"></div>
  <div class="cards">
    <div class="card"><div class="label">Active tasks</div><div class="value" id="kpi-tasks">–</div></div>
    <div class="card"><div class="label">Jobs running</div><div class="value" id="kpi-running">–</div></div>
    <div class="card"><div class="label">Jobs waiting</div><div class="value" id="kpi-waiting">–</div></div>
    <div class="card"><div class="label">Busy slots</div><div class="value" id="kpi-slots">–</div></div>
    <div class="card"><div class="label">Throughput</div><div class="value" id="kpi-rate">–</div></div>
    <div class="card"><div class="label">Dead letters</div><div class="value" id="kpi-dlq">–</div></div>
  </div>
  <section class="wide" id="tasks-section">
    <h2>Tasks <small id="tasks-note"></small></h2>
    <table id="tasks"><thead><tr>
      <th>Task</th><th>State</th><th>Device</th><th class="num">Rank</th><th class="progress">Progress</th><th class="num">Done</th><th class="num">Failed</th>
    </tr></thead><tbody></tbody></table>
    <div class="legend" id="legend"></div>
  </section>
  <section class="wide" id="task-panel" hidden>
    <h2>Task <span class="mono" id="task-title"></span> <small id="task-timing"></small> <a class="task-link" href="#">close</a></h2>
    <div class="filters" id="job-filters"></div>
    <table id="task-jobs"><thead><tr>
      <th>Job</th><th>State</th><th class="num">Attempt</th><th>Pilot</th><th>Error</th><th>Log</th>
    </tr></thead><tbody></tbody></table>
    <div class="pager"><button id="jobs-more" hidden>more jobs</button></div>
    <h2>Failures by error code <small>FAILED jobs, last attempt</small></h2>
    <table id="task-failures"><thead><tr><th>Code</th><th class="num">Jobs</th><th>Logs</th></tr></thead><tbody></tbody></table>
    <pre id="log-view" hidden></pre>
  </section>
  <section class="two-thirds">
    <h2>Throughput <small>jobs done and failed per minute, last hour <span id="history-note"></span></small></h2>
    <svg id="chart" width="100%" height="190" role="img" aria-label="jobs done and failed per minute"></svg>
  </section>
  <section class="third">
    <h2>Jobs by state <small>active tasks</small></h2>
    <div id="states"></div>
  </section>
  <section class="two-thirds">
    <h2>Pilots <small id="pilots-note"></small></h2>
    <table id="pilots"><thead><tr>
      <th>Pilot</th><th>Host</th><th>Device</th><th>State</th><th>Slots</th><th class="num">Last heartbeat</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section class="third dlq">
    <h2>Dead-letter queues</h2>
    <table id="dlq"><thead><tr><th>Queue</th><th class="num">Messages</th></tr></thead><tbody></tbody></table>
  </section>
</main>
`;

/**
 * The chart's arithmetic, apart so a unit test can run it: per-minute points from the server's
 * history and from what this page saw finish, for the last `count` minutes. A minute takes the
 * larger of the two counts: the same jobs are in both, the server's record holds the whole
 * minute (also before the page was opened), the page's may be ahead of CloudWatch's.
 */
export const THROUGHPUT_SCRIPT = `
  function minuteKey(ms) { return new Date(Math.floor(ms / 60000) * 60000).toISOString(); }
  function mergeThroughput(server, live, nowMs, count) {
    var byMinute = {};
    (server || []).forEach(function (point) { byMinute[point.minute] = point; });
    var points = [];
    var last = Math.floor(nowMs / 60000) * 60000;
    for (var i = count - 1; i >= 0; i--) {
      var minute = new Date(last - i * 60000).toISOString();
      var kept = byMinute[minute] || { done: 0, failed: 0 };
      var seen = live[minute] || { done: 0, failed: 0 };
      points.push({ minute: minute, done: Math.max(kept.done, seen.done), failed: Math.max(kept.failed, seen.failed) });
    }
    return points;
  }
`;

// The browser script. Plain ES2020, no template literals (it lives in one), no HTML from data.
const SCRIPT = `
(function () {
  'use strict';
  var REFRESH_MS = __REFRESH_MS__;
  var HISTORY_REFRESH_MS = __HISTORY_REFRESH_MS__;
  var MINUTES = __HISTORY_MINUTES__;
  __THROUGHPUT_SCRIPT__
  var serverHistory = [];
  var liveMinutes = {};
  var failedSeen = {};
  var STATES = ['DONE', 'RUNNING', 'QUEUED', 'READY', 'LOST', 'FAILED', 'CANCELLED'];
  var FINAL = { DONE: true, FAILED: true, CANCELLED: true };
  var samples = [];
  var doneSeen = {};
  var finished = {};
  var finishedOrder = [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'cls') node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    return node;
  }
  function color(state) { return 'var(--' + state + ')'; }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }
  function replaceRows(table, rows, emptyText, columns) {
    var body = table.tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) body.appendChild(el('tr', {}, [el('td', { colspan: String(columns), cls: 'empty', text: emptyText })]));
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function progressBar(task) {
    var bar = el('div', { cls: 'bar', title: STATES.map(function (s) { return s + ' ' + task.progress.jobs[s]; }).join(', ') });
    var total = Math.max(task.progress.jobsTotal, 1);
    STATES.forEach(function (state) {
      var count = task.progress.jobs[state];
      if (count > 0) {
        var part = el('span');
        part.style.width = (100 * count / total) + '%';
        part.style.background = color(state);
        bar.appendChild(part);
      }
    });
    return bar;
  }

  function taskRow(task) {
    var jobs = task.progress.jobs;
    var row = el('tr', { 'data-task-id': task.taskId, 'data-done': String(jobs.DONE), 'data-state': task.state }, [
      el('td', {}, [el('a', { cls: 'mono task-link', href: '#task=' + encodeURIComponent(task.taskId), text: task.taskId }), el('div', { cls: 'sub', text: task.name })]),
      el('td', {}, [el('span', { cls: 'pill ' + task.state, text: task.state })]),
      el('td', { text: task.device }),
      el('td', { cls: 'num', text: String(task.rank) }),
      el('td', {}, [progressBar(task), el('div', { cls: 'sub', text: task.progress.percentDone.toFixed(1) + '% of ' + fmt(task.progress.jobsTotal) + ' jobs' + (task.generationComplete ? '' : ' (generating)') })]),
      el('td', { cls: 'num', text: fmt(jobs.DONE) }),
      el('td', { cls: 'num', text: fmt(jobs.FAILED) }),
    ]);
    return row;
  }

  function pilotRow(pilot, now) {
    var age = Math.max(0, Math.round((now - Date.parse(pilot.lastHeartbeatAt)) / 1000));
    var slots = el('div', { cls: 'bar', title: pilot.busySlots + ' of ' + pilot.slots + ' slots busy' });
    slots.style.minWidth = '90px';
    var busy = el('span');
    busy.style.width = (100 * pilot.busySlots / Math.max(pilot.slots, 1)) + '%';
    busy.style.background = color('RUNNING');
    slots.appendChild(busy);
    return el('tr', { 'data-pilot-id': pilot.pilotId }, [
      el('td', { cls: 'mono', text: pilot.pilotId }),
      el('td', { text: pilot.host }),
      el('td', { text: pilot.device }),
      el('td', {}, [el('span', { cls: 'pill ' + pilot.state, text: pilot.state })]),
      el('td', {}, [slots, el('div', { cls: 'sub', text: pilot.busySlots + ' / ' + pilot.slots + ' busy' })]),
      el('td', { cls: 'num age' + (age > 180 ? ' dead' : age > 60 ? ' late' : ''), text: age + ' s ago' }),
    ]);
  }

  function renderStates(tasks) {
    var totals = {};
    STATES.forEach(function (s) { totals[s] = 0; });
    tasks.forEach(function (task) { STATES.forEach(function (s) { totals[s] += task.progress.jobs[s]; }); });
    var max = Math.max.apply(null, STATES.map(function (s) { return totals[s]; }).concat([1]));
    var box = document.getElementById('states');
    box.replaceChildren();
    STATES.forEach(function (state) {
      var fill = el('div', { cls: 'fill' });
      fill.style.width = (100 * totals[state] / max) + '%';
      fill.style.background = color(state);
      box.appendChild(el('div', { cls: 'state-row', 'data-state': state }, [
        el('span', { text: state }), el('div', { cls: 'track' }, [fill]), el('span', { cls: 'count', text: fmt(totals[state]) }),
      ]));
    });
    return totals;
  }

  function renderChart() {
    var chart = document.getElementById('chart');
    chart.replaceChildren();
    var width = chart.clientWidth || 600;
    var height = 190, left = 40, bottom = 22, top = 10;
    var points = mergeThroughput(serverHistory, liveMinutes, Date.now(), MINUTES);
    var peak = Math.max.apply(null, points.map(function (p) { return p.done + p.failed; }).concat([4]));
    // Four grid steps of 1, 2 or 5 times a power of ten.
    var rough = peak / 4;
    var magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 5, 10].map(function (m) { return m * magnitude; }).filter(function (v) { return v >= rough; })[0];
    var ceiling = step * 4;
    for (var g = 0; g <= 4; g++) {
      var y = top + (height - top - bottom) * (1 - g / 4);
      chart.appendChild(svg('line', { x1: left, x2: width - 6, y1: y, y2: y, stroke: '#eef1f5' }));
      chart.appendChild(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', text: fmt(Math.round(ceiling * g / 4)) }));
    }
    var slot = (width - left - 6) / MINUTES;
    var scale = (height - top - bottom) / ceiling;
    points.forEach(function (point, i) {
      var x = left + i * slot + 1;
      var barWidth = Math.max(slot - 2, 1);
      var doneHeight = point.done * scale;
      var label = new Date(point.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ' · ' + point.done + ' done, ' + point.failed + ' failed';
      if (point.done > 0) {
        var done = svg('rect', { x: x, y: height - bottom - doneHeight, width: barWidth, height: doneHeight, rx: 2, fill: '#16a34a', 'data-minute': point.minute, 'data-kind': 'done', 'data-count': point.done });
        done.appendChild(svg('title', { text: label }));
        chart.appendChild(done);
      }
      if (point.failed > 0) {
        var failedHeight = point.failed * scale;
        var failed = svg('rect', { x: x, y: height - bottom - doneHeight - failedHeight, width: barWidth, height: failedHeight, rx: 2, fill: '#dc2626', 'data-minute': point.minute, 'data-kind': 'failed', 'data-count': point.failed });
        failed.appendChild(svg('title', { text: label }));
        chart.appendChild(failed);
      }
    });
    chart.appendChild(svg('text', { x: left, y: height - 6, text: MINUTES + ' min ago' }));
    chart.appendChild(svg('text', { x: width - 6, y: height - 6, 'text-anchor': 'end', text: 'now' }));
  }

  // The server's history, read on load and every minute; the chart is drawn again with it.
  function refreshHistory() {
    fetch('dashboard/history?minutes=' + MINUTES, { headers: { accept: 'application/json' } })
      .then(getJson)
      .then(function (history) {
        serverHistory = history.points;
        document.getElementById('history-note').textContent = '(' + history.source + ')';
        // What the page saw finish before the record's last minute is in the record now.
        var oldest = minuteKey(Date.now() - MINUTES * 60000);
        Object.keys(liveMinutes).forEach(function (minute) { if (minute < oldest) delete liveMinutes[minute]; });
        renderChart();
      })
      .catch(function (error) { document.getElementById('history-note').textContent = '(history unavailable: ' + error.message + ')'; })
      .then(function () { setTimeout(refreshHistory, HISTORY_REFRESH_MS); });
  }

  // Jobs done so far (summed over refreshes); the rate is taken over the last WINDOW refreshes,
  // so the rate shown is not just whether a job happened to end within one 2 s interval. What
  // finished between two refreshes is also added to the current minute of the chart.
  var doneTotal = 0;
  var WINDOW = 5;
  function countLive(at, done, failed) {
    if (done === 0 && failed === 0) return;
    var minute = minuteKey(at);
    var seen = liveMinutes[minute] || { done: 0, failed: 0 };
    liveMinutes[minute] = { done: seen.done + done, failed: seen.failed + failed };
  }
  function recordThroughput(tasks, at, extra) {
    var done = extra.done;
    var failed = extra.failed;
    tasks.forEach(function (task) {
      var before = doneSeen[task.taskId];
      if (before !== undefined) done += Math.max(0, task.progress.jobs.DONE - before);
      doneSeen[task.taskId] = task.progress.jobs.DONE;
      var failedBefore = failedSeen[task.taskId];
      if (failedBefore !== undefined) failed += Math.max(0, task.progress.jobs.FAILED - failedBefore);
      failedSeen[task.taskId] = task.progress.jobs.FAILED;
    });
    doneTotal += done;
    countLive(at, done, failed);
    var from = samples.length > 0 ? samples[Math.max(0, samples.length - WINDOW)] : null;
    var minutes = from ? (at - from.at) / 60000 : 0;
    samples.push({ at: at, total: doneTotal, rate: minutes > 0 ? (doneTotal - from.total) / minutes : 0 });
    if (samples.length > WINDOW + 1) samples.shift();
  }

  // A task that left the active list finished: read its final counters once, keep it shown.
  function settleFinished(activeIds) {
    var gone = Object.keys(doneSeen).filter(function (id) { return !activeIds[id] && !finished[id]; });
    return Promise.all(gone.map(function (id) {
      return fetch('tasks/' + encodeURIComponent(id), { headers: { accept: 'application/json' } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (task) {
          var none = { done: 0, failed: 0 };
          if (!task) { delete doneSeen[id]; delete failedSeen[id]; return none; }
          var extra = {
            done: Math.max(0, task.progress.jobs.DONE - doneSeen[id]),
            failed: Math.max(0, task.progress.jobs.FAILED - (failedSeen[id] || 0)),
          };
          delete doneSeen[id];
          delete failedSeen[id];
          finished[id] = task;
          finishedOrder.unshift(id);
          while (finishedOrder.length > 10) delete finished[finishedOrder.pop()];
          return extra;
        })
        .catch(function () { return { done: 0, failed: 0 }; });
    })).then(function (extras) {
      return extras.reduce(function (a, b) { return { done: a.done + b.done, failed: a.failed + b.failed }; }, { done: 0, failed: 0 });
    });
  }

  function render(summary) {
    var now = Date.parse(summary.generatedAt);
    var activeIds = {};
    summary.tasks.forEach(function (t) { activeIds[t.taskId] = true; });
    return settleFinished(activeIds).then(function (extra) {
      recordThroughput(summary.tasks, now, extra);
      var shown = summary.tasks.concat(finishedOrder.map(function (id) { return finished[id]; }));
      replaceRows(document.getElementById('tasks'), shown.map(taskRow), 'No active tasks', 7);
      document.getElementById('tasks-note').textContent = summary.tasks.length + ' active' +
        (summary.tasksTruncated ? ' (more not shown)' : '') + (finishedOrder.length ? ', ' + finishedOrder.length + ' finished while watching' : '');
      var totals = renderStates(summary.tasks);
      replaceRows(document.getElementById('pilots'), summary.pilots.map(function (p) { return pilotRow(p, now); }), 'No live pilots', 6);
      var slots = summary.pilots.reduce(function (acc, p) { return [acc[0] + p.busySlots, acc[1] + p.slots]; }, [0, 0]);
      document.getElementById('pilots-note').textContent = summary.pilots.length + ' live' + (summary.pilotsTruncated ? ' (more not shown)' : '');
      replaceRows(document.getElementById('dlq'), summary.deadLetters.map(function (q) {
        return el('tr', { 'data-queue': q.name }, [el('td', { cls: 'mono', text: q.name }), el('td', { cls: 'num' + (q.depth > 0 ? ' bad' : ''), text: fmt(q.depth) })]);
      }), 'No dead-letter queues', 2);
      var dead = summary.deadLetters.reduce(function (sum, q) { return sum + q.depth; }, 0);
      document.getElementById('kpi-tasks').textContent = fmt(summary.tasks.length);
      document.getElementById('kpi-running').textContent = fmt(totals.RUNNING);
      document.getElementById('kpi-waiting').textContent = fmt(totals.READY + totals.QUEUED + totals.LOST);
      document.getElementById('kpi-slots').textContent = fmt(slots[0]) + ' / ' + fmt(slots[1]);
      var rate = samples[samples.length - 1].rate;
      document.getElementById('kpi-rate').textContent = rate.toFixed(rate < 10 ? 1 : 0) + '/min';
      var dlq = document.getElementById('kpi-dlq');
      dlq.textContent = fmt(dead);
      dlq.className = 'value' + (dead > 0 ? ' bad' : '');
      renderChart();
    });
  }

  // The connection as it is: grey while no answer came yet, green after a good one, amber
  // after one failed refresh following good ones, red after several or before any success.
  var everUpdated = false;
  var failuresInRow = 0;
  function status(ok, text) {
    failuresInRow = ok ? 0 : failuresInRow + 1;
    if (ok) everUpdated = true;
    var connection = ok ? 'live' : everUpdated && failuresInRow < 3 ? 'late' : 'stale';
    var dot = document.getElementById('dot');
    dot.className = 'dot ' + connection;
    dot.setAttribute('data-connection', connection);
    document.getElementById('updated').textContent = text;
    var banner = document.getElementById('banner');
    banner.className = ok ? 'banner' : 'banner shown';
    banner.textContent = ok ? '' : text;
  }

  function refresh() {
    fetch('dashboard/summary', { headers: { accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('the API answered HTTP ' + response.status);
        return response.json();
      })
      .then(render)
      .then(function () { status(true, 'updated ' + new Date().toLocaleTimeString() + ' · every ' + REFRESH_MS / 1000 + ' s'); })
      .catch(function (error) { status(false, 'cannot refresh: ' + error.message); })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }

  // The task page: its jobs by state (paged), its failures grouped by code with their logs,
  // its rate and ETA. Opened by #task=<id>; a log by a link inside it.
  var openTask = null;
  var jobFilter = 'FAILED';
  var jobsNext = null;
  function getJson(response) {
    if (!response.ok) throw new Error('the API answered HTTP ' + response.status);
    return response.json();
  }
  function duration(seconds) {
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    return m < 60 ? m + ' min' : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function timing(task) {
    var end = task.endedAt ? Date.parse(task.endedAt) : Date.now();
    var elapsed = Math.max(0, (end - Date.parse(task.createdAt)) / 1000);
    var jobs = task.progress.jobs;
    var finishedJobs = jobs.DONE + jobs.FAILED + jobs.CANCELLED;
    var text = 'elapsed ' + duration(elapsed);
    if (finishedJobs === 0 || elapsed === 0) return text + ' · no job finished yet';
    var perMinute = finishedJobs * 60 / elapsed;
    text += ' · ' + perMinute.toFixed(perMinute < 10 ? 2 : 1) + ' jobs/min';
    var left = task.progress.jobsTotal - finishedJobs;
    if (!task.endedAt && left > 0) text += ' · ETA ' + duration(left * 60 / perMinute);
    return text;
  }
  function showLog(jobId) {
    var view = document.getElementById('log-view');
    view.hidden = false;
    view.textContent = 'reading the log of ' + jobId + '…';
    // The open task names the job's task: an archived task's job is found by it once its item expired.
    var ofTask = openTask ? '?taskId=' + encodeURIComponent(openTask) : '';
    fetch('jobs/' + encodeURIComponent(jobId) + '/log' + ofTask, { headers: { accept: 'application/json' } })
      .then(getJson)
      .then(function (log) {
        view.setAttribute('data-job-id', jobId);
        view.textContent = (log.truncated ? '(the end of a ' + fmt(log.size) + ' B log)\\n' : '') + log.text;
      })
      .catch(function (error) { view.textContent = 'cannot read the log: ' + error.message; });
  }
  function logLink(jobId) {
    var link = el('a', { cls: 'task-link mono', href: '#', 'data-log-job': jobId, text: 'log' });
    link.addEventListener('click', function (event) { event.preventDefault(); showLog(jobId); });
    return link;
  }
  function jobRow(job) {
    return el('tr', { 'data-job-id': job.jobId, 'data-state': job.state }, [
      el('td', { cls: 'mono', text: job.jobId }),
      el('td', {}, [el('span', { cls: 'pill ' + job.state, text: job.state })]),
      el('td', { cls: 'num', text: String(job.attempt) }),
      el('td', { cls: 'mono', text: job.pilotId || '-' }),
      el('td', { text: job.errorCode ? job.errorCode + (job.exitCode !== undefined ? ' (exit ' + job.exitCode + ')' : '') : '' }),
      el('td', {}, [logLink(job.jobId)]),
    ]);
  }
  function loadJobs(append) {
    var query = 'limit=20&state=' + jobFilter + (append && jobsNext ? '&nextToken=' + encodeURIComponent(jobsNext) : '');
    return fetch('tasks/' + encodeURIComponent(openTask) + '/jobs?' + query, { headers: { accept: 'application/json' } })
      .then(getJson)
      .then(function (page) {
        var body = document.getElementById('task-jobs').tBodies[0];
        if (!append) body.replaceChildren();
        page.items.forEach(function (job) { body.appendChild(jobRow(job)); });
        if (body.rows.length === 0) body.appendChild(el('tr', {}, [el('td', { colspan: '6', cls: 'empty', text: 'No ' + jobFilter + ' jobs' })]));
        jobsNext = page.nextToken || null;
        document.getElementById('jobs-more').hidden = !jobsNext;
      });
  }
  function loadFailures() {
    return fetch('tasks/' + encodeURIComponent(openTask) + '/jobs?limit=100&state=FAILED', { headers: { accept: 'application/json' } })
      .then(getJson)
      .then(function (page) {
        var groups = {};
        page.items.forEach(function (job) { (groups[job.errorCode] = groups[job.errorCode] || []).push(job.jobId); });
        var rows = Object.keys(groups).sort(function (a, b) { return groups[b].length - groups[a].length; }).map(function (code) {
          return el('tr', { 'data-error-code': code }, [
            el('td', { cls: 'mono', text: code }),
            el('td', { cls: 'num', text: fmt(groups[code].length) }),
            el('td', {}, groups[code].slice(0, 10).map(function (jobId) { return el('span', {}, [logLink(jobId), document.createTextNode(' ')]); })),
          ]);
        });
        replaceRows(document.getElementById('task-failures'), rows, 'No failed jobs', 3);
      });
  }
  function renderFilters(task) {
    var box = document.getElementById('job-filters');
    box.replaceChildren();
    STATES.forEach(function (state) {
      var button = el('button', { 'data-state': state, cls: state === jobFilter ? 'on' : '', text: state + ' ' + fmt(task.progress.jobs[state]) });
      button.addEventListener('click', function () { jobFilter = state; renderFilters(task); loadJobs(false); });
      box.appendChild(button);
    });
  }
  function openTaskPanel() {
    var match = /^#task=(.+)$/.exec(location.hash);
    var panel = document.getElementById('task-panel');
    openTask = match ? decodeURIComponent(match[1]) : null;
    panel.hidden = !openTask;
    document.getElementById('log-view').hidden = true;
    if (!openTask) return;
    document.getElementById('task-title').textContent = openTask;
    fetch('tasks/' + encodeURIComponent(openTask), { headers: { accept: 'application/json' } })
      .then(getJson)
      .then(function (task) {
        panel.setAttribute('data-task-id', task.taskId);
        document.getElementById('task-timing').textContent = task.state + ' · ' + timing(task);
        if (task.progress.jobs[jobFilter] === 0) jobFilter = STATES.filter(function (s) { return task.progress.jobs[s] > 0; })[0] || 'FAILED';
        renderFilters(task);
        return Promise.all([loadJobs(false), loadFailures()]);
      })
      .catch(function (error) { document.getElementById('task-timing').textContent = 'cannot read the task: ' + error.message; });
  }
  document.getElementById('jobs-more').addEventListener('click', function () { loadJobs(true); });
  window.addEventListener('hashchange', openTaskPanel);
  openTaskPanel();

  var legend = document.getElementById('legend');
  STATES.forEach(function (state) {
    var swatch = el('i');
    swatch.style.background = color(state);
    legend.appendChild(el('span', {}, [swatch, document.createTextNode(state)]));
  });
  refresh();
  refreshHistory();
})();
`
  .replace('__REFRESH_MS__', String(DASHBOARD_REFRESH_MS))
  .replace('__HISTORY_REFRESH_MS__', String(DASHBOARD_HISTORY_REFRESH_MS))
  .replace('__HISTORY_MINUTES__', String(DASHBOARD_HISTORY_MINUTES))
  .replace('__THROUGHPUT_SCRIPT__', THROUGHPUT_SCRIPT);

function sha256Source(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

/** The page. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SPD WMS dashboard</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/**
 * Response headers of the page: a content security policy that allows exactly its own inline
 * script and style (by hash) and requests to its own origin, nothing else.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${sha256Source(SCRIPT)}`,
    `style-src ${sha256Source(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
};
