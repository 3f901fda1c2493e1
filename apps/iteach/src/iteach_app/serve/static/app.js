// The live page of `iteach-app serve`: sends a conversation to the API (whole, or one utterance
// at a time over the WebSocket) and draws each utterance's emotion, its probabilities over time
// and which modalities were present. Plain JavaScript, no libraries.
"use strict";

const COLORS = ["#2f6fdb", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8a200", "#0c8599", "#c2255c", "#5f3dc4"];
const state = { model: null, rows: [], socket: null, socketReady: null, pending: [] };
const $ = (id) => document.getElementById(id);

function setStatus(text, isError) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function headers() {
  const token = $("token").value.trim();
  const out = { "Content-Type": "application/json" };
  if (token) out.Authorization = "Bearer " + token;
  return out;
}

function describeError(body, status) {
  if (body && body.error) return `${status || "error"}: ${body.error.field}: ${body.error.message}`;
  return `error ${status}`;
}

async function loadModel() {
  const response = await fetch("/v1/model", { headers: headers() });
  const body = await response.json();
  if (!response.ok) { setStatus(describeError(body, response.status), true); return; }
  state.model = body;
  const dims = body.modalities.map((m) => `${m.name} (${m.dim})`).join(", ");
  const classes = body.task === "classification" ? `classes ${body.classes.join(", ")}` : "regression";
  $("model-info").textContent =
    `run ${body.run} · ${classes} · modalities ${dims} · config ${body.config_hash} · ${body.runtime} · v${body.version}`;
  const fields = $("modality-fields");
  fields.textContent = "";
  for (const m of body.modalities) {
    const label = document.createElement("label");
    label.className = "field";
    const name = document.createElement("span");
    name.textContent = `${m.name} (${m.dim})`;
    const input = document.createElement("input");
    input.id = `feature-${m.name}`;
    input.dataset.modality = m.name;
    input.placeholder = "missing";
    label.append(name, input);
    fields.append(label);
  }
}

function randomVector(dim) {
  return Array.from({ length: dim }, () => Math.round((Math.random() * 2 - 1) * 1000) / 1000);
}

function randomUtterance(index) {
  const features = {};
  const names = state.model.modalities.map((m) => m.name);
  const keep = names[Math.floor(Math.random() * names.length)];
  for (const m of state.model.modalities) {
    features[m.name] = m.name === keep || Math.random() < 0.7 ? randomVector(m.dim) : null;
  }
  return { utterance_id: `u${index + 1}`, speaker: "AB"[index % 2], features };
}

function parseLines(text) {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l);
  return lines.map((line, n) => {
    try { return JSON.parse(line); } catch (e) { throw new Error(`line ${n + 1}: not valid JSON`); }
  });
}

function clearResults() {
  state.rows = [];
  render();
}

function addRow(record, speaker) {
  state.rows.push({ record, speaker });
  render();
}

function render() {
  renderTable();
  renderChart();
}

function classNames() {
  if (!state.model || state.model.task !== "classification") return [];
  if (state.model.classes.length) return state.model.classes;
  const first = state.rows[0];
  return first ? Object.keys(first.record.probabilities) : [];
}

function renderTable() {
  const body = document.querySelector("#predictions tbody");
  body.textContent = "";
  const names = classNames();
  state.rows.forEach(({ record, speaker }, n) => {
    const tr = document.createElement("tr");
    tr.className = "prediction";
    tr.dataset.conversationId = record.conversation_id;
    tr.dataset.utteranceId = record.utterance_id;
    tr.dataset.prediction = String(record.prediction);
    tr.dataset.probabilities = JSON.stringify(record.probabilities || null);
    tr.dataset.present = JSON.stringify(record.present);
    const cells = [String(n + 1), record.utterance_id, speaker || ""];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const emotion = document.createElement("td");
    emotion.className = "emotion";
    emotion.textContent = String(record.prediction);
    const k = names.indexOf(String(record.prediction));
    if (k >= 0) emotion.style.color = COLORS[k % COLORS.length];
    tr.append(emotion);
    const probs = document.createElement("td");
    if (record.probabilities) {
      const bars = document.createElement("div");
      bars.className = "bars";
      names.forEach((name, j) => {
        const p = record.probabilities[name];
        const bar = document.createElement("div");
        bar.style.width = `${(100 * p).toFixed(2)}%`;
        bar.style.background = COLORS[j % COLORS.length];
        bar.title = `${name} ${p.toFixed(3)}`;
        bars.append(bar);
      });
      probs.append(bars);
    }
    tr.append(probs);
    const present = document.createElement("td");
    for (const [m, on] of Object.entries(record.present)) {
      const badge = document.createElement("span");
      badge.className = `badge ${on ? "on" : "off"}`;
      badge.textContent = m;
      present.append(badge);
    }
    tr.append(present);
    body.append(tr);
  });
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function renderChart() {
  const chart = $("chart");
  chart.textContent = "";
  const legend = $("legend");
  legend.textContent = "";
  const W = 720, H = 240, pad = 28;
  const names = classNames();
  const series = names.length
    ? names.map((name) => state.rows.map((r) => r.record.probabilities[name]))
    : [state.rows.map((r) => Number(r.record.prediction))];
  const labels = names.length ? names : ["prediction"];
  const flat = series.flat();
  const lo = names.length ? 0 : Math.min(-3, ...flat);
  const hi = names.length ? 1 : Math.max(3, ...flat);
  const n = state.rows.length;
  const x = (i) => pad + (n <= 1 ? (W - 2 * pad) / 2 : (i * (W - 2 * pad)) / (n - 1));
  const y = (v) => H - pad - ((v - lo) / (hi - lo)) * (H - 2 * pad);
  for (const t of [lo, (lo + hi) / 2, hi]) {
    chart.append(svg("line", { x1: pad, x2: W - pad, y1: y(t), y2: y(t), stroke: "#e3e6ec" }));
    const label = svg("text", { x: 2, y: y(t) + 4, "font-size": 10, fill: "#6b7384" });
    label.textContent = t.toFixed(1);
    chart.append(label);
  }
  series.forEach((values, j) => {
    const color = COLORS[j % COLORS.length];
    if (values.length) {
      const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      chart.append(svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 2, class: "series" }));
      values.forEach((v, i) => chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.5, fill: color })));
    }
    const item = document.createElement("span");
    item.style.setProperty("--swatch", color);
    item.textContent = labels[j];
    legend.append(item);
  });
}

async function predictAll() {
  let utterances;
  try { utterances = parseLines($("conversation").value); } catch (e) { setStatus(e.message, true); return; }
  setStatus("predicting…");
  const response = await fetch("/v1/predict", { method: "POST", headers: headers(), body: JSON.stringify({ utterances }) });
  const body = await response.json();
  if (!response.ok) { setStatus(describeError(body, response.status), true); return; }
  clearResults();
  body.predictions.forEach((record, n) => addRow(record, utterances[n].speaker));
  setStatus(`${body.predictions.length} utterances predicted (whole conversation)`);
  document.body.dataset.done = "predict";
}

function openSocket() {
  if (state.socket && state.socket.readyState <= 1) return state.socketReady;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`;
  const socket = new WebSocket(url);
  state.socket = socket;
  state.pending = [];
  state.socketReady = new Promise((resolve, reject) => {
    socket.onopen = () => {
      const token = $("token").value.trim();
      if (token) socket.send(JSON.stringify({ token }));
      resolve(socket);
    };
    socket.onerror = () => reject(new Error("the stream could not be opened"));
  });
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.authorized) return;
    if (frame.end) { setStatus(`conversation ended after ${frame.utterances} utterances`); return; }
    const waiting = state.pending.shift();
    if (frame.error) {
      setStatus(describeError(frame, frame.status), true);
      if (waiting) waiting.reject(new Error(frame.error.message));
      return;
    }
    addRow(frame, waiting ? waiting.speaker : "");
    if (waiting) waiting.resolve(frame);
  };
  socket.onclose = (event) => {
    for (const waiting of state.pending) waiting.reject(new Error(`stream closed (${event.code})`));
    state.pending = [];
    if (event.code !== 1000 && event.code !== 1005) setStatus(`stream closed: code ${event.code} ${event.reason}`, true);
  };
  return state.socketReady;
}

async function sendOne(utterance) {
  const socket = await openSocket();
  return new Promise((resolve, reject) => {
    state.pending.push({ resolve, reject, speaker: utterance.speaker });
    socket.send(JSON.stringify(utterance));
  });
}

function endStream() {
  if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify({ end: true }));
  state.socket = null;
}

async function streamAll() {
  let utterances;
  try { utterances = parseLines($("conversation").value); } catch (e) { setStatus(e.message, true); return; }
  endStream();
  clearResults();
  try {
    for (const [n, utterance] of utterances.entries()) {
      setStatus(`streaming utterance ${n + 1} of ${utterances.length}…`);
      await sendOne(utterance);
    }
    setStatus(`${utterances.length} utterances streamed`);
    document.body.dataset.done = "stream";
  } catch (e) {
    setStatus(e.message, true);
  }
}

function parseVector(text) {
  const parts = text.split(/[\s,]+/).filter((p) => p);
  return parts.length ? parts.map(Number) : null;
}

async function sendTyped() {
  const features = {};
  for (const input of document.querySelectorAll("#modality-fields input")) {
    features[input.dataset.modality] = parseVector(input.value);
  }
  const utterance = { utterance_id: `typed${state.rows.length + 1}`, speaker: $("speaker").value.trim() || null, features };
  try { await sendOne(utterance); setStatus(`utterance ${state.rows.length} predicted`); } catch (e) { setStatus(e.message, true); }
}

function fillRandom() {
  const utterance = randomUtterance(state.rows.length);
  for (const input of document.querySelectorAll("#modality-fields input")) {
    const v = utterance.features[input.dataset.modality];
    input.value = v ? v.join(", ") : "";
  }
}

function example() {
  const length = 8 + Math.floor(Math.random() * 8);
  $("conversation").value = Array.from({ length }, (_, i) => JSON.stringify(randomUtterance(i))).join("\n");
}

$("predict-all").addEventListener("click", predictAll);
$("stream-all").addEventListener("click", streamAll);
$("example").addEventListener("click", example);
$("send-one").addEventListener("click", sendTyped);
$("random-one").addEventListener("click", fillRandom);
$("end-stream").addEventListener("click", () => { endStream(); setStatus("conversation ended"); });
$("token").addEventListener("change", loadModel);
loadModel().then(render).catch((e) => setStatus(String(e), true));
