// fpps playground: a dependency-free client of the server's own HTTP API.
//
// Chat: POST /v1/chat/completions with the `fpps` extension (mode, strength, gamma/tau, inline
// history or a stored user, compare), streamed as SSE or as one JSON body. With `compare` the API
// returns choice 0 unsteered and choice 1 steered; the last stream chunk (or the response's
// top-level `fpps`) carries the steered answer's diagnostics, which drive the p_hat gauge.
// Reports: GET /v1/reports, /v1/reports/{name} and its plots (fetched with the API key, since an
// <img src> cannot send an Authorization header). Errors are shown as the API phrased them.
// Everything the server sends is inserted as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { defaults: {}, controller: null, edited: new Set() };

// ---- HTTP ---------------------------------------------------------------------------------

function headers(json) {
  const h = {};
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.error = error || {};
  }
}

// The OpenAI-shaped error of a failed response, or a plain HTTP status when the body is not one.
async function failure(res) {
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON */ }
  const error = body && body.error ? body.error : { message: `HTTP ${res.status} ${res.statusText}` };
  return new ApiError(res.status, error);
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(Boolean(options.body)) });
  if (!res.ok) throw await failure(res);
  return res;
}

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  const e = err.error || {};
  const extra = [e.type, e.param && `param ${e.param}`, e.code].filter(Boolean).join(" · ");
  box.textContent = (err.status ? `${err.status}: ` : "") + (err.message || String(err)) +
    (extra ? `  (${extra})` : "");
  box.hidden = false;
}

// ---- model info and defaults ---------------------------------------------------------------

async function loadModelInfo() {
  try {
    const models = await (await api("/v1/models")).json();
    const card = models.data[0];
    const f = card.fpps || {};
    state.defaults = f.defaults || {};
    $("model-info").textContent = `model ${card.id} · artifact ${f.artifact_id || "none"}` +
      (f.layer != null ? ` · blocks.${f.layer}.hook_resid_post` : "");
    resetAdvanced();
  } catch (err) {
    $("model-info").textContent = err.status === 401 ? "enter the API key to load model info"
      : "model info unavailable";
  }
}

// tau depends on the mode: the artifact calibrates one for hard and one for mixed.
function defaultTau(mode) {
  const d = state.defaults;
  return mode === "hard" ? d.tau_hard : d.tau_mixed;
}

function resetAdvanced() {
  state.edited.clear();
  const d = state.defaults;
  $("gamma").value = d.gamma != null ? d.gamma : "";
  const tau = defaultTau($("mode").value);
  $("tau").value = tau != null ? tau : "";
  $("top-k").value = "";
}

// ---- history -------------------------------------------------------------------------------

// {sessions, dates, current_date} from the editor; accepts a bare list of sessions too.
function parseHistory() {
  const text = $("history").value.trim();
  if (!text) return null;
  let data;
  try { data = JSON.parse(text); } catch (e) {
    throw new ApiError(0, { message: `history is not valid JSON: ${e.message}`, param: "history" });
  }
  if (Array.isArray(data)) return { sessions: data };
  if (data && Array.isArray(data.sessions)) return data;
  throw new ApiError(0, { message: "history must be a list of sessions or an object with 'sessions'",
                          param: "history" });
}

async function loadDemo() {
  const res = await fetch("/static/sydney-history.json");
  $("history").value = JSON.stringify(await res.json(), null, 2);
  $("history-status").textContent = "Sydney demo loaded (3 sessions)";
}

async function copyUserSessions() {
  showError(null);
  const user = $("user-id").value.trim();
  if (!user) { showError(new ApiError(0, { message: "enter a user id first", param: "user" })); return; }
  try {
    const list = await (await api(`/v1/users/${encodeURIComponent(user)}/sessions`)).json();
    const sessions = list.data.map((s) => s.messages);
    $("history").value = JSON.stringify({ sessions, dates: list.data.map((s) => s.date) }, null, 2);
    $("history-status").textContent = `${sessions.length} stored session(s) of ${user}`;
  } catch (err) { showError(err); }
}

// ---- chat ----------------------------------------------------------------------------------

function requestBody(question) {
  const mode = $("mode").value;
  const fpps = { mode, strength: Number($("strength").value), compare: $("compare").checked };
  for (const name of ["gamma", "tau"]) {  // only values the user changed: else the server decides
    const v = $(name).value;
    if (state.edited.has(name) && v !== "") fpps[name] = Number(v);
  }
  if ($("top-k").value !== "") fpps.top_k = Number($("top-k").value);
  const history = parseHistory();
  const body = { messages: [{ role: "user", content: question }], stream: $("stream").checked,
                 max_tokens: Number($("max-tokens").value) || 48, fpps };
  if ($("probs").checked) { body.logprobs = true; body.top_logprobs = 3; }
  if (history) {
    fpps.history = history.sessions;
    if (history.dates) fpps.dates = history.dates;
    if (history.current_date) fpps.current_date = history.current_date;
  } else if ($("user-id").value.trim()) {
    body.user = $("user-id").value.trim();
  }
  return body;
}

// Choice index -> answer pane: with compare, 0 is unsteered and 1 steered; else 0 is steered.
function panes(compare) {
  return compare ? ["off", "steered"] : ["steered"];
}

function resetOutput(compare, mode) {
  for (const p of ["off", "steered"]) { $(`answer-${p}`).textContent = ""; $(`diag-${p}`).textContent = ""; }
  $("pane-off").hidden = !compare;
  $("answers").classList.toggle("single", !compare);
  $("steered-label").textContent = `(mode ${mode}, strength ${Number($("strength").value).toFixed(2)})`;
  showGauge(null);
}

function showDiag(pane, d, finish) {
  if (!d) return;
  const parts = [`gate ${d.gate}`, `effective strength ${d.effective_strength}`,
    d.sessions ? `${d.sessions} session(s)` : "not personalized"];
  if (finish) parts.push(`finish ${finish}`);
  $(`diag-${pane}`).textContent = parts.join(" · ");
}

// The p_hat bar with tau marked; `d` is the steered answer's diagnostics (null clears it).
function showGauge(d) {
  const p = d && d.p_hat != null ? d.p_hat : null;
  $("gauge-fill").style.width = p == null ? "0%" : `${(100 * p).toFixed(1)}%`;
  $("gauge").classList.toggle("high", p != null && d.tau != null && p >= d.tau);
  const tau = $("gauge-tau");
  tau.hidden = !(d && d.tau != null);
  if (d && d.tau != null) { tau.style.left = `${(100 * d.tau).toFixed(1)}%`; tau.title = `tau ${d.tau}`; }
  $("gauge-value").textContent = p == null ? (d ? "n/a" : "–") : p.toFixed(3);
  $("gauge-detail").textContent = !d ? "" : [d.tau != null ? `tau ${d.tau}` : null, `gate ${d.gate}`,
    d.layer != null ? `layer ${d.layer}` : null, d.p_hat == null ? "no probe reading" : null]
    .filter(Boolean).join(" · ");
}

// Per-token probabilities (the "token probabilities" toggle): each token a span shaded by its
// probability, its tooltip the top alternatives; with compare both answers show theirs, so the
// steered tokens whose probability the edit moved stand out against the unsteered ones.
function appendTokens(pane, entries) {
  const box = $(`answer-${pane}`);
  for (const t of entries) {
    const span = document.createElement("span");
    const p = Math.exp(t.logprob);
    span.className = "tok";
    span.textContent = t.token;
    span.style.background = `rgba(37, 99, 235, ${(0.45 * (1 - p)).toFixed(3)})`;
    span.title = [`${(100 * p).toFixed(1)}% ${JSON.stringify(t.token)}`,
      ...(t.top_logprobs || []).map((a) => `  ${(100 * Math.exp(a.logprob)).toFixed(1)}% ${JSON.stringify(a.token)}`)]
      .join("\n");
    box.appendChild(span);
  }
}

function showFinal(body) {
  const names = panes(body.choices.length === 2);
  body.choices.forEach((c) => {
    if (c.logprobs && c.logprobs.content) appendTokens(names[c.index], c.logprobs.content);
    else $(`answer-${names[c.index]}`).textContent = c.message.content;
    showDiag(names[c.index], c.fpps, c.finish_reason);
  });
  showGauge(body.fpps);
}

// Read an SSE body: `data: {chunk}` events, an error event `data: {"error": ...}`, `data: [DONE]`.
async function readStream(res, compare) {
  const names = panes(compare);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(0, chunk.error);
        for (const c of chunk.choices || []) {
          const name = names[c.index];
          if (c.logprobs && c.logprobs.content) appendTokens(name, c.logprobs.content);
          else if (c.delta && c.delta.content) $(`answer-${name}`).textContent += c.delta.content;
          if (c.fpps) showDiag(name, c.fpps, c.finish_reason);
        }
        if (chunk.fpps) showGauge(chunk.fpps);
      }
    }
  }
}

async function ask(event) {
  event.preventDefault();
  showError(null);
  const question = $("question").value.trim() || $("question").placeholder;
  $("question").value = question;
  let body;
  try { body = requestBody(question); } catch (err) { showError(err); return; }
  resetOutput(body.fpps.compare, body.fpps.mode);
  state.controller = new AbortController();
  $("ask").disabled = true; $("stop").disabled = false;
  document.body.classList.add("busy");
  try {
    const res = await fetch("/v1/chat/completions", { method: "POST", headers: headers(true),
      body: JSON.stringify(body), signal: state.controller.signal });
    if (!res.ok) throw await failure(res);
    if (body.stream) await readStream(res, body.fpps.compare);
    else showFinal(await res.json());
  } catch (err) {
    if (err.name !== "AbortError") showError(err);
  } finally {
    $("ask").disabled = false; $("stop").disabled = true;
    document.body.classList.remove("busy");
    state.controller = null;
  }
}

// ---- reports -------------------------------------------------------------------------------

function fmt(v, ci) {
  if (v == null) return "–";
  const s = Number(v).toFixed(1);
  return ci ? `${s} [${Number(ci[0]).toFixed(1)}, ${Number(ci[1]).toFixed(1)}]` : s;
}

function fillTable(table, head, rows) {
  table.replaceChildren();
  const tr = table.insertRow();
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); }
  for (const r of rows) {
    const row = table.insertRow();
    for (const cell of r) row.insertCell().textContent = cell;
  }
}

const METRICS = ["P", "F", "Overall", "F_without_history", "hallucination_rate", "recovered_share",
                 "personal_broken"];
const LABELS = ["P", "F", "Overall", "F w/o history", "halluc. rate", "recovered", "P broken"];  // as report.md

async function openReport(name) {
  showError(null);
  try {
    const r = await (await api(`/v1/reports/${encodeURIComponent(name)}`)).json();
    const rep = r.report, prov = rep.provenance || {};
    $("report").hidden = false;
    $("report-title").textContent = name;
    $("report-meta").textContent = [`${rep.n_users} users`, prov.created, prov.model && `model ${prov.model}`,
      prov.artifact_id && `artifact ${prov.artifact_id}`, prov.judge && `judge ${prov.judge}`]
      .filter(Boolean).join(" · ");
    fillTable($("modes-table"), ["mode", ...LABELS, "n_P", "n_F"], Object.entries(rep.modes || {}).map(
      ([mode, m]) => [mode, ...METRICS.map((k) => fmt(m[k], (m.ci95 || {})[k])), m.n_personal, m.n_factual]));
    const sweep = rep.sweep || [];  // as report.md: only when it holds more than the modes table
    $("sweep").hidden = sweep.length <= Object.keys(rep.modes || {}).length;
    fillTable($("sweep-table"), ["configuration", "P", "F", "Overall", "recovered", "P broken"],
      sweep.map((s) => [s.label, ...["P", "F", "Overall", "recovered_share", "personal_broken"]
        .map((k) => fmt(s[k]))]));
    $("report-md").textContent = r.markdown || "";
    const plots = $("plots");
    plots.replaceChildren();
    for (const plot of r.plots) {
      const url = `/v1/reports/${encodeURIComponent(name)}/plots/${encodeURIComponent(plot)}`;
      const blob = await (await api(url)).blob();
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = URL.createObjectURL(blob); img.alt = plot;
      const cap = document.createElement("figcaption"); cap.textContent = plot;
      fig.append(img, cap); plots.appendChild(fig);
    }
  } catch (err) { showError(err); }
}

async function loadReports() {
  showError(null);
  const ul = $("reports");
  ul.replaceChildren();
  try {
    const list = await (await api("/v1/reports")).json();
    if (!list.data.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = list.configured ? "no report folders yet"
        : "start the server with --reports DIR to list reports";
      ul.appendChild(li);
    }
    for (const r of list.data) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.textContent = r.name; b.dataset.report = r.name;
      b.addEventListener("click", () => openReport(r.name));
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = r.error || ` ${r.created || ""} · ${r.n_users} users · ${r.modes.join(", ")}`;
      li.append(b, meta); ul.appendChild(li);
    }
  } catch (err) { showError(err); }
}

// ---- wiring --------------------------------------------------------------------------------

function switchTab(name) {
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.tab === name);
  $("tab-chat").hidden = name !== "chat";
  $("tab-reports").hidden = name !== "reports";
  if (name === "reports") loadReports();
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", ask);
  $("stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("load-demo").addEventListener("click", () => loadDemo().catch(showError));
  $("clear-history").addEventListener("click", () => {
    $("history").value = ""; $("history-status").textContent = "";
  });
  $("fetch-user").addEventListener("click", copyUserSessions);
  $("strength").addEventListener("input", () => {
    $("strength-value").textContent = Number($("strength").value).toFixed(2);
  });
  $("mode").addEventListener("change", () => {
    if (!state.edited.has("tau")) { const t = defaultTau($("mode").value); $("tau").value = t != null ? t : ""; }
  });
  for (const name of ["gamma", "tau"]) $(name).addEventListener("input", () => state.edited.add(name));
  $("reset-advanced").addEventListener("click", resetAdvanced);
  $("api-key").addEventListener("change", loadModelInfo);
  $("refresh-reports").addEventListener("click", loadReports);
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => switchTab(t.dataset.tab));
  loadModelInfo();
});
