// embedroute web page: plain JS, no external assets (works offline).
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { info: null };

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

async function api(path, options = {}) {
  const headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
  const key = $("#api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  const resp = await fetch(path, Object.assign({}, options, { headers }));
  const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const detail = typeof body === "object" ? (body.detail && typeof body.detail !== "string" ? JSON.stringify(body.detail) : body.detail) : body;
    throw new Error(`${resp.status}: ${detail || resp.statusText}`);
  }
  return body;
}

// -- highlighting: whole query words (3+ letters, not stop words) marked in escaped text -----------
const STOP = new Set(["and", "the", "for", "with", "are", "was", "were", "that", "this", "from", "not", "but", "has", "have", "its", "into", "than", "who", "what", "which", "does", "how"]);
function highlight(text, query) {
  const words = [...new Set((query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || []))].filter((w) => !STOP.has(w));
  let out = esc(text);
  if (!words.length) return out;
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(${words.join("|")})(?![\\p{L}\\p{N}])`, "giu");
  return out.replace(re, "<mark>$1</mark>");
}

// -- collections, modes, filters ------------------------------------------------------------------
async function loadCollections() {
  const list = await api("/api/collections");
  const sel = $("#collection");
  sel.innerHTML = list.map((c) => `<option value="${esc(c.name)}">${esc(c.name)} (${c.documents} docs)</option>`).join("");
  if (list.length) await loadCollection(list[0].name);
  else $("#status").textContent = "No collections yet: create one with the API or `embedroute create`.";
}

async function loadCollection(name) {
  state.info = await api(`/api/collections/${encodeURIComponent(name)}`);
  const modes = $("#mode");
  const experts = Object.keys(state.info.experts).map((e) => `<option value="e:${esc(e)}">expert: ${esc(e)}</option>`);
  const routers = state.info.routers.map((r) => `<option value="r:${esc(r)}">router: ${esc(r)}</option>`);
  modes.innerHTML = routers.concat(experts).join("");
  buildFilters(state.info.attributes);
}

function buildFilters(attrs) {
  const box = $("#filters");
  const names = Object.keys(attrs || {});
  if (!names.length) { box.innerHTML = '<p class="muted">This collection has no attributes.</p>'; return; }
  box.innerHTML = names.map((n) => {
    const a = attrs[n];
    const id = `f-${n.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    if (a.type === "str" || a.type === "list[str]") {
      const opts = (a.values || []).map((v) => `<option value="${esc(v.value)}">${esc(v.value)} (${v.count})</option>`).join("");
      return `<div class="filter"><label for="${id}">${esc(n)}</label><select id="${id}" data-attr="${esc(n)}" data-type="${a.type}"><option value="">any</option>${opts}</select></div>`;
    }
    const inputType = a.type === "date" ? "date" : "number";
    const step = a.type === "float" ? "any" : "1";
    return `<div class="filter"><label>${esc(n)} <span class="muted">${esc(a.min ?? "")}–${esc(a.max ?? "")}</span></label>` +
      `<input id="${id}-min" type="${inputType}" step="${step}" data-attr="${esc(n)}" data-type="${a.type}" data-bound="min" placeholder="min" aria-label="${esc(n)} min"> ` +
      `<input id="${id}-max" type="${inputType}" step="${step}" data-attr="${esc(n)}" data-type="${a.type}" data-bound="max" placeholder="max" aria-label="${esc(n)} max"></div>`;
  }).join("");
}

function currentFilter() {
  const parts = [];
  for (const el of document.querySelectorAll("#filters [data-attr]")) {
    if (el.value === "") continue;
    const name = el.dataset.attr, type = el.dataset.type;
    if (type === "str") parts.push({ [name]: el.value });
    else if (type === "list[str]") parts.push({ [name]: { $in: [el.value] } });
    else {
      const v = type === "date" ? el.value : Number(el.value);
      parts.push({ [name]: { [el.dataset.bound === "min" ? "$gte" : "$lte"]: v } });
    }
  }
  if (!parts.length) return null;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

// -- search and explanation -----------------------------------------------------------------------
async function search(ev) {
  ev?.preventDefault();
  const query = $("#query").value.trim();
  if (!query) return;
  const [kind, name] = [$("#mode").value.slice(0, 1), $("#mode").value.slice(2)];
  const body = { query, k: Number($("#k").value) };
  if (kind === "r") body.router = name; else if (name) body.expert = name;
  const filter = currentFilter();
  if (filter) body.filter = filter;
  $("#status").textContent = "Searching…";
  $("#routing-panel").innerHTML = '<p class="muted">…</p>';
  try {
    const res = await api(`/api/collections/${encodeURIComponent($("#collection").value)}/search`, { method: "POST", body: JSON.stringify(body) });
    renderResults(res, query);
    renderRouting(res);
    renderPlan(res);
  } catch (err) {
    $("#status").innerHTML = `<span class="error">${esc(err.message)}</span>`;
    $("#results").innerHTML = "";
  }
}

function renderResults(res, query) {
  $("#status").textContent = `${res.hits.length} results from ${res.expert} in ${res.timings.total_ms.toFixed(1)} ms`;
  $("#results").innerHTML = res.hits.map((h) => {
    const attrs = Object.entries(h.attributes || {}).map(([k, v]) => `${esc(k)}=${esc(Array.isArray(v) ? v.join("|") : v)}`).join(" · ");
    const text = (h.text || "").length > 420 ? h.text.slice(0, 420) + "…" : (h.text || "");
    return `<li class="hit" data-id="${esc(h.id)}"><div class="hit-head"><span class="score">${h.score.toFixed(4)}</span>` +
      `<span class="hit-title">${highlight(h.title || h.id, query)}</span></div>` +
      `<div class="hit-id">id ${esc(h.id)}${attrs ? " · " + attrs : ""}</div>` +
      `<p class="hit-text">${highlight(text, query)}</p></li>`;
  }).join("");
}

function renderRouting(res) {
  const panel = $("#routing-panel");
  if (!res.routing) {
    panel.innerHTML = `<p>Expert <span class="chosen-label" id="chosen-expert">${esc(res.expert)}</span> chosen by hand (no router).</p>`;
    return;
  }
  const r = res.routing;
  const scores = Object.entries(r.scores || {}).sort((a, b) => b[1] - a[1]);
  const max = Math.max(...scores.map(([, s]) => Math.abs(s)), 1e-9);
  const bars = scores.map(([e, s]) => {
    const chosen = r.experts.includes(e);
    return `<div class="bar-row" data-expert="${esc(e)}"><span class="${chosen ? "chosen-label" : ""}">${esc(e)}</span>` +
      `<div class="bar ${chosen ? "chosen" : ""}" style="width:${Math.max(2, 100 * Math.abs(s) / max)}%"></div><span>${s.toFixed(3)}</span></div>`;
  }).join("");
  const rule = r.rule && r.rule !== r.router ? `, rule <b id="router-rule">${esc(r.rule)}</b> picked by train CV` : "";
  panel.innerHTML = `<p>Router <b>${esc(r.router)}</b> (routing encoder ${esc(r.routing_expert)}${rule}) chose ` +
    `<span class="chosen-label" id="chosen-expert">${esc(r.experts.join(" + "))}</span>.</p>` +
    `<p class="muted">Score of each expert for this query (higher wins): ${esc((r.why && r.why.scores) || "routing score")}</p>${bars}` +
    explainRouting(r.why || {});
}

function explainRouting(why) {
  const parts = [];
  if ("fused" in why) {
    parts.push(`<p id="fusion-decision" data-fused="${why.fused}">${why.fused ? "<b>Fused</b>" : "<b>One expert</b>"}: ${esc(why.reason || "")}</p>`);
  }
  if (why.features) {
    const feats = Object.entries(why.features).map(([k, v]) => `${esc(k)} ${Number(v).toFixed(3)}`).join(", ");
    parts.push(`<p class="muted" id="routing-features">Features weighing most, this query's values: ${feats}</p>`);
  }
  return parts.join("");
}

function renderPlan(res) {
  const t = res.timings;
  const timing = Object.entries(t).map(([k, v]) => `${esc(k.replace(/_ms$/, ""))} ${v.toFixed(1)} ms`).join(", ");
  const plan = res.plan ? `plan <b id="plan-name">${esc(res.plan.kind)}</b>, estimated selectivity ${(100 * res.plan.selectivity_estimate).toPrecision(3)}%` +
    (res.plan.allowed !== undefined ? `, ${res.plan.allowed} allowed, ${res.plan.candidates} candidates` : "") + "<br>" : "no filter<br>";
  const index = res.index ? `index ${esc(res.index.kind)}${res.index.rescore ? ` (rescore ×${res.index.rescore})` : ""}<br>` : "";
  $("#plan-panel").innerHTML = plan + index + timing;
}

// -- evaluation view ------------------------------------------------------------------------------
function barsSvg(rows, datasets) {
  const w = 560, rowH = 16, pad = 110;
  const blocks = datasets.map((d) => {
    const vals = rows.map((r) => ({ name: r.name, v: r["ndcg@10"][d] ?? 0, kind: r.kind }));
    const max = Math.max(...vals.map((x) => x.v), 1e-9);
    const h = vals.length * rowH + 24;
    const bars = vals.map((x, i) => `<text x="0" y="${24 + i * rowH + 11}" font-size="11">${esc(x.name)}</text>` +
      `<rect x="${pad}" y="${24 + i * rowH + 2}" width="${(w - pad - 60) * x.v / max}" height="${rowH - 4}" fill="${x.kind === "router" ? "#2f5bd3" : x.kind === "oracle" ? "#9aa5bd" : "#5fb37a"}"/>` +
      `<text x="${pad + (w - pad - 60) * x.v / max + 4}" y="${24 + i * rowH + 11}" font-size="11">${x.v.toFixed(3)}</text>`).join("");
    return `<svg class="plot" width="${w}" height="${h}" role="img" aria-label="nDCG@10 on ${esc(d)}"><text x="0" y="14" font-weight="600" font-size="12">nDCG@10 — ${esc(d)}</text>${bars}</svg>`;
  });
  return blocks.join("");
}

function routingTable(doc) {
  const ds = doc.datasets.concat(["avg"]);
  const head = `<tr><th>row</th><th>kind</th>${ds.map((d) => `<th>${esc(d)}</th>`).join("")}<th>p vs best single</th><th>ms/query</th><th title="nDCG@10 under 5-fold cross-validation on the training queries">train CV</th></tr>`;
  const rows = doc.rows.map((r) => `<tr><td>${esc(r.name)}</td><td>${esc(r.kind)}</td>${ds.map((d) => `<td>${(r["ndcg@10"][d] ?? NaN).toFixed(4)}</td>`).join("")}` +
    `<td>${r.p_value_vs_best_single == null ? "(best)" : Number(r.p_value_vs_best_single).toFixed(4)}</td><td>${r.ms_per_query == null ? "" : Number(r.ms_per_query).toFixed(1)}</td>` +
    `<td class="train-cv">${r["train_cv_ndcg@10"] == null ? "" : Number(r["train_cv_ndcg@10"]).toFixed(4)}</td></tr>`).join("");
  return `<table class="routing-table">${head}${rows}</table>`;
}

async function loadStoredResults() {
  const box = $("#stored-results");
  let files;
  try { files = await api("/api/results"); } catch (err) { box.innerHTML = `<p class="error">${esc(err.message)}</p>`; return; }
  if (!files.length) return;
  const parts = [];
  for (const f of files.filter((x) => x.endsWith(".json"))) {
    try {
      const doc = await api(`/api/results/${encodeURIComponent(f)}`);
      if (doc.rows && doc.datasets) parts.push(`<div class="result-block"><h3>${esc(f)}</h3>${routingTable(doc)}${barsSvg(doc.rows, doc.datasets)}</div>`);
    } catch (err) { /* a file that is not JSON is skipped */ }
  }
  for (const f of files.filter((x) => x.endsWith(".png"))) {
    parts.push(`<div class="result-block"><h3>${esc(f)}</h3><img class="plot" alt="${esc(f)}" src="/api/results/${encodeURIComponent(f)}"></div>`);
  }
  box.innerHTML = parts.join("") || '<p class="muted">No stored results.</p>';
}

async function refreshJobs() {
  let jobs;
  try { jobs = await api("/api/evaluations"); } catch (err) { return; }
  $("#eval-jobs").innerHTML = jobs.map((j) => {
    let table = "";
    if (j.result) {
      const metrics = ["ndcg@10", "recall@100", "mrr@10", "map@100"];
      table = `<table><tr><th>expert</th>${metrics.map((m) => `<th>${m}</th>`).join("")}</tr>` +
        Object.entries(j.result.experts).map(([e, r]) => `<tr><td>${esc(e)}</td>${metrics.map((m) => `<td>${(r.metrics[m] ?? NaN).toFixed(4)}</td>`).join("")}</tr>`).join("") + "</table>";
    }
    const progress = j.total ? `${j.done}/${j.total}` : j.done ? `${j.done}` : "";
    return `<div class="result-block"><b>${esc(j.data)}</b> — ${esc(j.status)} (${esc(j.stage)} ${progress})${j.error ? ` <span class="error">${esc(j.error)}</span>` : ""}${table}</div>`;
  }).join("");
  if (jobs.some((j) => j.status === "queued" || j.status === "running")) setTimeout(refreshJobs, 1000);
}

async function startEval(ev) {
  ev.preventDefault();
  try {
    await api("/api/evaluations", { method: "POST", body: JSON.stringify({ data: $("#eval-data").value, experts: $("#eval-experts").value.split(",").map((s) => s.trim()).filter(Boolean) }) });
  } catch (err) { $("#eval-jobs").innerHTML = `<p class="error">${esc(err.message)}</p>`; return; }
  refreshJobs();
}

// -- experts and routers of the selected collection -------------------------------------------------
function collectionPath() { return `/api/collections/${encodeURIComponent($("#collection").value)}`; }

function expertSummary(cfg) {
  const enc = cfg.encoder || {};
  const model = enc.model || cfg.model || "";
  const dim = enc.dim ? `${enc.dim}-d` : "";
  const index = cfg.index ? `index ${cfg.index.kind}` : "";
  return [cfg.kind, model, dim, index, cfg.documents_from ? `searches ${cfg.documents_from}'s vectors` : ""].filter(Boolean).join(" · ");
}

async function loadManage() {
  $("#manage-name").textContent = $("#collection").value || "–";
  const info = state.info;
  if (!info) return;
  $("#expert-table").innerHTML = "<tr><th>expert</th><th>what it is</th><th></th></tr>" +
    Object.entries(info.experts).map(([e, cfg]) => `<tr class="expert-row" data-expert="${esc(e)}"><td>${esc(e)}</td>` +
      `<td>${esc(expertSummary(cfg))}</td><td><button type="button" class="remove-expert" data-expert="${esc(e)}">Remove</button></td></tr>`).join("") +
    `<tr><td colspan="3" class="muted">Fitted routers: ${info.routers.length ? info.routers.map(esc).join(", ") : "none"}</td></tr>`;
  if (!$("#add-expert").options.length) {
    try {
      const names = await api("/api/experts");
      $("#add-expert").innerHTML = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
    } catch (err) { $("#manage-status").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  }
}

async function changeExperts(request, doing) {
  $("#manage-status").textContent = doing;
  try {
    await request();
    await loadCollection($("#collection").value);
    await loadManage();
    $("#manage-status").textContent = `${doing.replace(/…$/, "")}: done. Experts now ${Object.keys(state.info.experts).join(", ")}.`;
  } catch (err) { $("#manage-status").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
}

async function pollExpertAdd(id) {
  let job;
  try { job = await api(`/api/expert-adds/${encodeURIComponent(id)}`); } catch (err) { $("#manage-status").innerHTML = `<span class="error">${esc(err.message)}</span>`; return; }
  const what = typeof job.expert === "string" ? job.expert : (job.expert.name || job.expert.source);
  const count = job.total ? ` ${job.done} of ${job.total} documents` : "";
  if (job.status === "queued" || job.status === "running") {
    $("#manage-status").innerHTML = `<span class="expert-job" data-status="${esc(job.status)}">Adding ${esc(what)}: ${esc(job.stage)}${esc(count)}…</span>`;
    setTimeout(() => pollExpertAdd(id), 1000);
    return;
  }
  if (job.status === "failed") { $("#manage-status").innerHTML = `<span class="error expert-job" data-status="failed">Adding ${esc(what)} failed: ${esc(job.error)}</span>`; return; }
  await loadCollection($("#collection").value);
  await loadManage();
  $("#manage-status").innerHTML = `<span class="expert-job" data-status="done">Adding ${esc(what)}: done. Experts now ${esc(Object.keys(state.info.experts).join(", "))}.</span>`;
}

async function addExpert(ev) {
  ev.preventDefault();
  const source = $("#add-expert").value, name = $("#add-expert-name").value.trim();
  const expert = name ? { source, name } : source;
  $("#manage-status").textContent = `Adding ${name || source}…`;
  try {
    const job = await api(`${collectionPath()}/experts`, { method: "POST", body: JSON.stringify({ expert }) });
    pollExpertAdd(job.id);
  } catch (err) { $("#manage-status").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
}

function removeExpert(ev) {
  const btn = ev.target.closest(".remove-expert");
  if (!btn) return;
  const e = btn.dataset.expert;
  changeExperts(() => api(`${collectionPath()}/experts/${encodeURIComponent(e)}`, { method: "DELETE" }), `Removing ${e}…`);
}

async function pollFit(id) {
  let job;
  try { job = await api(`/api/router-fits/${encodeURIComponent(id)}`); } catch (err) { $("#fit-jobs").innerHTML = `<p class="error">${esc(err.message)}</p>`; return; }
  const res = job.result;
  const cv = res && res.train_cv ? Object.entries(res.train_cv).map(([c, v]) => `${esc(c)} ${v == null ? "–" : Number(v).toFixed(4)}`).join(", ") : "";
  const done = res ? `: rule <b class="fit-rule">${esc(res.rule)}</b> on ${res.training_queries} training queries, experts ${res.experts.map(esc).join(", ")}${cv ? `; train CV ${cv}` : ""}` : "";
  $("#fit-jobs").innerHTML = `<div class="result-block fit-job" data-status="${esc(job.status)}"><b>${esc(job.router)}</b> (routing encoder <span class="fit-routing">${esc(job.routing_expert)}</span>) — ${esc(job.status)}${job.status === "done" || job.status === "failed" ? "" : ` (${esc(job.stage)})`}${done}` +
    `${job.error ? ` <span class="error">${esc(job.error)}</span>` : ""}</div>`;
  if (job.status === "queued" || job.status === "running") { setTimeout(() => pollFit(id), 1000); return; }
  if (job.status === "done") { await loadCollection($("#collection").value); await loadManage(); }
}

async function fitRouter(ev) {
  ev.preventDefault();
  const body = { router: $("#fit-router").value.trim() || "auto", train_from: $("#fit-train").value.split(",").map((s) => s.trim()).filter(Boolean) };
  const routing = $("#fit-routing").value.trim();
  if (routing) body.routing_expert = routing;
  try {
    const job = await api(`${collectionPath()}/routers`, { method: "POST", body: JSON.stringify(body) });
    pollFit(job.id);
  } catch (err) { $("#fit-jobs").innerHTML = `<p class="error">${esc(err.message)}</p>`; }
}

// -- wiring ---------------------------------------------------------------------------------------
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
    document.querySelectorAll(".view").forEach((v) => v.classList.toggle("hidden", v.id !== tab.dataset.view));
    if (tab.dataset.view === "eval-view") { loadStoredResults(); refreshJobs(); }
    if (tab.dataset.view === "manage-view") loadManage();
  });
}
$("#api-key").value = localStorage.getItem("embedroute-key") || "";
$("#api-key").addEventListener("change", () => { localStorage.setItem("embedroute-key", $("#api-key").value); loadCollections().catch(showError); });
$("#search-form").addEventListener("submit", search);
$("#eval-form").addEventListener("submit", startEval);
$("#add-expert-form").addEventListener("submit", addExpert);
$("#expert-table").addEventListener("click", removeExpert);
$("#fit-form").addEventListener("submit", fitRouter);
$("#collection").addEventListener("change", () => loadCollection($("#collection").value).then(loadManage).catch(showError));
$("#clear-filters").addEventListener("click", () => { document.querySelectorAll("#filters [data-attr]").forEach((el) => { el.value = ""; }); });
function showError(err) { $("#status").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
loadCollections().then(() => { document.body.dataset.ready = "1"; }).catch(showError);
