// profitguard dashboard: polls /api/status and draws it; the buttons post to /api/guard/*.
// Plain DOM (textContent only: reasons and pairs are never parsed as HTML) and plotly.
"use strict";

const POLL_MS = 2000;
let last = null;

const $ = (id) => document.getElementById(id);
const fmt = (x, digits = 2) => (x === null || x === undefined ? "-" : Number(x).toFixed(digits));
const price = (x) => (x === null || x === undefined ? "-" : Number(x).toPrecision(6));
const pct = (x) => (x === null || x === undefined ? "-" : (100 * x).toFixed(1) + "%");
const signed = (x) => (x === null || x === undefined ? "-" : (x >= 0 ? "+" : "") + x.toFixed(2) + "R");

function age(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function rows(tbody, items, fill) {
  tbody.replaceChildren();
  for (const item of items) {
    const tr = document.createElement("tr");
    fill(tr, item);
    tbody.appendChild(tr);
  }
}

function drawHeader(s) {
  const badge = $("state");
  badge.textContent = s.state;
  badge.className = "badge " + s.state;
  $("state-reason").textContent =
    s.reason + (s.since ? " (since " + s.since.replace("T", " ").slice(0, 19) + " UTC)" : "");
  const loop = $("loop");
  if (s.bot.loop_age_s === null) {
    loop.textContent = "STALE: no loop of the bot seen";
  } else {
    loop.textContent = (s.bot.stale ? "STALE: " : "") + "last bot loop " + age(s.bot.loop_age_s) + " ago";
  }
  loop.className = "loop" + (s.bot.stale ? " stale" : "");
  loop.id = "loop";
}

function drawLimits(s) {
  const periods = $("periods");
  periods.replaceChildren();
  for (const p of s.periods) {
    const line = document.createElement("div");
    line.textContent = p.period + ": " + pct(p.loss) + " of " + pct(p.limit);
    const bar = document.createElement("div");
    const fillRatio = p.limit ? Math.min(1, Math.max(0, p.loss / p.limit)) : 0;
    bar.className = "bar" + (p.passed ? "" : " over");
    const inner = document.createElement("div");
    inner.style.width = (100 * fillRatio).toFixed(0) + "%";
    bar.appendChild(inner);
    periods.append(line, bar);
  }
  $("streak").textContent =
    s.streak.losses === null ? "-" : s.streak.losses + " losses in a row (limit " + s.streak.limit + ")";
  rows($("exposure").tBodies[0], s.exposure, (tr, e) => {
    cell(tr, e.asset);
    cell(tr, fmt(e.value));
    cell(tr, pct(e.ratio));
  });
}

function drawTrades(s) {
  rows($("trades").tBodies[0], s.trades, (tr, t) => {
    tr.dataset.pair = t.pair;
    cell(tr, t.pair);
    cell(tr, t.side);
    cell(tr, price(t.entry));
    cell(tr, price(t.price));
    cell(tr, signed(t.r), t.r === null ? "" : t.r >= 0 ? "pos r-now" : "neg r-now");
    cell(tr, signed(t.peak_r));
    cell(tr, price(t.stop), "stop");
    cell(tr, signed(t.stop_r), "stop-r");
    cell(tr, t.levels_done.length ? t.levels_done.join(" ") : "none");
    const next = t.next_level;
    cell(tr, next ? next.tag + " @ " + price(next.price) + " (" + signed(next.r) + ")" : "all done");
    cell(tr, next && next.distance_r !== null ? fmt(next.distance_r) + "R" : "-");
    cell(tr, age(t.age_s));
    cell(tr, t.stop_resting === null ? "-" : t.stop_resting ? "yes" : "NO", t.stop_resting === false ? "neg" : "");
  });
}

function drawEvents(s) {
  const alerts = $("alerts");
  alerts.replaceChildren();
  for (const a of s.watchdog) {
    const div = document.createElement("div");
    div.className = "alert";
    div.textContent = a.code + ": " + a.message;
    alerts.appendChild(div);
  }
  const list = $("events");
  list.replaceChildren();
  for (const e of s.events) {
    const li = document.createElement("li");
    li.textContent = (e.time || "").replace("T", " ").slice(0, 19) + "  " + e.kind + "  " + e.message;
    list.appendChild(li);
  }
}

const PLOT_CONFIG = { displayModeBar: false, responsive: true };

function drawCharts(s) {
  const limit = s.heat.limit || 0.3;
  const heat = s.heat.ratio === null ? 0 : 100 * s.heat.ratio;
  Plotly.react("heat-gauge", [{
    type: "indicator", mode: "gauge+number", value: heat,
    number: { suffix: "%", valueformat: ".1f" },
    gauge: {
      axis: { range: [0, Math.max(100 * limit * 1.25, heat)] },
      bar: { color: heat > 100 * limit ? "#c62828" : "#2a8f3a" },
      threshold: { line: { color: "#c62828", width: 3 }, value: 100 * limit },
    },
  }], { margin: { t: 20, b: 10, l: 25, r: 25 } }, PLOT_CONFIG);
  const closed = s.closed;
  Plotly.react("equity-chart", [{
    type: "scatter", mode: "lines+markers",
    x: closed.map((c) => c.closed_at), y: closed.map((c) => c.cumulative_r),
    line: { shape: "hv" }, name: "equity (R)",
  }], {
    margin: { t: 10, b: 40, l: 45, r: 10 }, yaxis: { title: { text: "R" } },
    annotations: closed.length ? [] : [{
      text: "no closed trade yet", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5,
    }],
  }, PLOT_CONFIG);
}

function draw(s) {
  last = s;
  drawHeader(s);
  drawLimits(s);
  drawTrades(s);
  drawEvents(s);
  drawCharts(s);
  document.body.dataset.updated = s.now;
}

async function poll() {
  try {
    const response = await fetch("/api/status", { credentials: "same-origin", cache: "no-store" });
    if (response.ok) {
      draw(await response.json());
    } else {
      $("action-result").textContent = "status: HTTP " + response.status;
    }
  } catch (error) {
    $("action-result").textContent = "the dashboard is not answering";
  }
}

async function act(action, body) {
  const result = $("action-result");
  result.textContent = action + "…";
  const response = await fetch("/api/guard/" + action, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  result.textContent = response.ok ? action + ": done" : action + " refused: " + answer.error;
  result.dataset.action = action;
  result.dataset.ok = String(response.ok);
  await poll();
}

function reason() {
  return $("reason").value.trim();
}

$("pause-button").addEventListener("click", () => act("pause", { reason: reason() }));
$("resume-button").addEventListener("click", () => act("resume", { reason: reason() }));
$("kill-button").addEventListener("click", () => {
  const trades = last ? last.trades : [];
  const pairs = trades.map((t) => t.pair).join(", ");
  $("kill-text").textContent =
    "Kill switch: the bot refuses every new entry and exits " +
    (trades.length ? "all " + trades.length + " open trades (" + pairs + ")" : "every open trade") +
    " at market at its next loop. It stays on until a reset, also across restarts.";
  $("kill-dialog").showModal();
});
$("kill-cancel").addEventListener("click", () => $("kill-dialog").close());
$("kill-confirm").addEventListener("click", () => {
  $("kill-dialog").close();
  act("kill", { reason: reason() || "kill switch from the dashboard" });
});
$("reset-button").addEventListener("click", () => {
  $("reset-input").value = "";
  $("reset-confirm").disabled = true;
  $("reset-dialog").showModal();
});
$("reset-input").addEventListener("input", () => {
  $("reset-confirm").disabled = $("reset-input").value !== "RESET";
});
$("reset-cancel").addEventListener("click", () => $("reset-dialog").close());
$("reset-confirm").addEventListener("click", () => {
  $("reset-dialog").close();
  act("reset", { confirm: true });
});

poll();
setInterval(poll, POLL_MS);
