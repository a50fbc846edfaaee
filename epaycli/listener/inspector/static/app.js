// The epay inspector page: the journal's list (live), one request whole, replay.
// Plain DOM: every value is set as text (never as HTML), so nothing received can run here.
"use strict";

// Every sentence the page shows, by id. The server's /api/info hands the page the run's
// language and, for Chinese, the table that replaces these (and index.html's data-t texts).
const MESSAGES = {
  verdict_genuine: "genuine",
  verdict_bad_signature: "bad signature",
  verdict_rejected: "rejected",
  verdict_malformed: "malformed",
  total: "{count} requests",
  total_filtered: "{count} match",
  new_rows: "{count} new — show",
  live_on: "live",
  live_off: "reconnecting…",
  changed: "content changed",
  duplicates: "×{count}",
  not_forwarded: "not forwarded",
  forward_error: "✗ {error}",
  raw_request: "Raw request",
  parsed_fields: "Parsed fields",
  verdict: "Verdict",
  signed_string: "Signed string (key masked)",
  no_signed_string: "no sign received",
  answer: "epay's answer",
  answered: "{status} {body} — by {by}; a gateway counts it as {delivered}",
  delivered: "delivered",
  not_delivered: "not delivered (it will send again)",
  forward: "Forward",
  forwarded: "{status} {body} in {ms} ms",
  earlier: "Earlier deliveries of {trade_no}",
  no_earlier: "none",
  same_content: "same content",
  change: "{name}: {before} → {after}",
  absent: "(absent)",
  replay: "Replay",
  replay_to: "To",
  resign: "re-sign with the profile's key",
  resign_unavailable: "(no key to re-sign with)",
  replay_as_received: "Replay as received",
  replay_edited: "Replay edited",
  replaying: "sending…",
  replay_result: "{status} {body} in {ms} ms — {delivered}",
  replay_no_target: "nowhere to replay to (start epay events serve with --to URL)",
  copy: "Copy",
  copied: "Copied",
  copy_curl: "As curl",
  copy_verify: "As epay verify",
  fix: "fix: {fix}",
  ok_verdict: "The signature matches and the notify is as expected.",
  error: "error: {message}",
  problems: "Problems",
  notes: "Notes",
  order_amount: "order amount: {amount}",
  client: "from {client} at {time}",
};

function translatePage(language, texts) {
  Object.assign(MESSAGES, texts);
  document.documentElement.lang = language === "zh" ? "zh-CN" : language;
  for (const node of document.querySelectorAll("[data-t]")) if (node.dataset.t in texts) node.textContent = texts[node.dataset.t];
  for (const node of document.querySelectorAll("[data-t-placeholder]")) if (node.dataset.tPlaceholder in texts) node.placeholder = texts[node.dataset.tPlaceholder];
  for (const node of document.querySelectorAll("[data-t-title]")) if (node.dataset.tTitle in texts) node.title = texts[node.dataset.tTitle];
}

function t(id, params) {
  return MESSAGES[id].replace(/\{(\w+)\}/g, (_, name) => String(params && name in params ? params[name] : ""));
}

const csrf = document.querySelector('meta[name="epay-csrf"]').content;
const PAGE_SIZE = 100;
const state = {
  filters: { verdict: "", q: "", since: "", until: "" },
  anchor: { before: null, after: null },   // null/null: the newest page
  rows: [], selected: null, latestId: 0, newCount: 0, info: null, source: null,
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error.message + (body.error.hint ? " — " + body.error.hint : "") : response.statusText;
    throw new Error(message);
  }
  return body;
}

function query(extra) {
  const params = new URLSearchParams();
  const f = state.filters;
  if (f.verdict) params.set("verdict", f.verdict);
  if (f.q) params.set("q", f.q);
  if (f.since) params.set("since", f.since);
  if (f.until) params.set("until", f.until);
  for (const [name, value] of Object.entries(extra || {})) if (value !== null && value !== undefined) params.set(name, value);
  return params.toString();
}

// ---- the list ---------------------------------------------------------------------------------

async function loadPage() {
  const page = await api("/api/requests?" + query({ before: state.anchor.before, after: state.anchor.after, limit: PAGE_SIZE }));
  state.rows = page.rows;
  state.latestId = Math.max(state.latestId, page.latest_id);
  state.hasOlder = page.has_older;
  state.hasNewer = page.has_newer;
  state.total = page.total;
  state.newCount = 0;
  if (!page.has_newer) state.anchor = { before: null, after: null };  // the newest: live again
  renderRows();
}

function onNewestPage() {
  return state.anchor.before === null && state.anchor.after === null;
}

function matchesFilters(row) {
  const f = state.filters;
  if (f.verdict && row.verdict !== f.verdict) return false;
  if (f.q && !(row.trade_no.includes(f.q) || row.out_trade_no.includes(f.q))) return false;
  if (f.since && row.received_at < Number(f.since)) return false;
  if (f.until && row.received_at > Number(f.until)) return false;
  return true;
}

function renderRows() {
  const body = document.getElementById("rows");
  body.replaceChildren(...state.rows.map((row) => rowElement(row, false)));
  updateCounts();
}

function updateCounts() {
  document.getElementById("empty").hidden = state.rows.length > 0;
  const filtered = Object.values(state.filters).some(Boolean);
  document.getElementById("total").textContent = t(filtered ? "total_filtered" : "total", { count: state.total.toLocaleString() });
  document.getElementById("older").disabled = !state.hasOlder;
  document.getElementById("newer").disabled = !state.hasNewer;
  document.getElementById("newest").disabled = onNewestPage() && !state.newCount;
  const badge = document.getElementById("new-rows");
  badge.hidden = state.newCount === 0;
  badge.textContent = t("new_rows", { count: state.newCount });
}

// New rows go on top and the oldest drop off the end: the rows already shown stay as they are
// (no flicker, a row being clicked is not replaced under the pointer).
function prependRows(added) {
  const body = document.getElementById("rows");
  body.prepend(...added.map((row) => rowElement(row, true)));
  while (body.children.length > PAGE_SIZE) body.lastElementChild.remove();
  updateCounts();
}

function verdictBadge(verdict) {
  const id = "verdict_" + verdict;
  return el("span", { class: "verdict " + verdict, "data-verdict": verdict, text: id in MESSAGES ? t(id) : verdict });
}

function localTime(row) {
  const when = new Date(row.received_at * 1000);
  return when.toLocaleTimeString([], { hour12: false }) + "." + String(when.getMilliseconds()).padStart(3, "0");
}

function rowElement(row, fresh) {
  const forward = !row.forwarded ? el("span", { class: "muted", text: "—" })
    : row.forward_status === null ? el("span", { class: "bad", text: "✗" })
    : el("span", { class: row.forward_delivered ? "ok" : "bad", text: String(row.forward_status) });
  const tr = el("tr", { "data-id": row.id, "data-verdict": row.verdict, class: [fresh ? "fresh" : "", row.id === state.selected ? "selected" : ""].join(" ").trim() || null, onclick: () => openRequest(row.id) },
    el("td", { class: "muted", text: row.id }),
    el("td", { class: "mono", title: row.time, text: localTime(row) }),
    el("td", { text: row.method || "-" }),
    el("td", { class: "numbers mono" }, row.trade_no || (row.kind === "notify" ? "-" : row.path), el("small", { text: row.out_trade_no || "" })),
    el("td", { class: "mono", text: row.money || "-" }),
    el("td", {}, verdictBadge(row.verdict)),
    el("td", {}, row.duplicate_count ? t("duplicates", { count: row.duplicate_count + 1 }) : "",
       row.content_changed ? el("div", { class: "changed", text: t("changed") }) : null),
    el("td", { class: row.delivered ? "ok mono" : "bad mono", title: row.answer, text: row.answer_status + " " + row.answer }),
    el("td", {}, forward));
  return tr;
}

function onLiveRows(message) {
  const data = JSON.parse(message.data);
  state.latestId = Math.max(state.latestId, data.latest_id);
  if (data.skipped && onNewestPage()) {
    // a burst larger than the feed sends: the feed's rows are the newest page; with a filter,
    // the newest page that matches is fetched (at most once a tick)
    if (Object.values(state.filters).some(Boolean)) { loadPage().catch(showError); return; }
    state.rows = data.rows.slice(0, PAGE_SIZE);
    state.total += data.rows.length + data.skipped;
    state.hasOlder = true;
    renderRows();
    return;
  }
  const matching = data.rows.filter(matchesFilters);
  if (!matching.length) return;
  if (onNewestPage()) {
    const known = new Set(state.rows.map((row) => row.id));
    const added = matching.filter((row) => !known.has(row.id));
    state.rows = added.concat(state.rows).slice(0, PAGE_SIZE);
    state.total += added.length;
    state.hasOlder = state.hasOlder || state.total > state.rows.length;
    prependRows(added);
  } else {
    state.newCount += matching.length + data.skipped;
    renderRows();
  }
}

function connectLive() {
  if (state.source) state.source.close();
  const source = new EventSource("/api/live?after=" + state.latestId);
  const live = document.getElementById("live");
  source.addEventListener("hello", () => { live.className = "live on"; live.textContent = t("live_on"); });
  source.addEventListener("rows", onLiveRows);
  source.addEventListener("error", () => { live.className = "live off"; live.textContent = t("live_off"); });
  state.source = source;
}

// ---- one request ------------------------------------------------------------------------------

async function openRequest(id) {
  state.selected = id;
  for (const tr of document.querySelectorAll("#rows tr")) tr.classList.toggle("selected", Number(tr.dataset.id) === id);
  const panel = document.getElementById("detail");
  panel.hidden = false;
  delete panel.dataset.id;
  try {
    const record = await api("/api/requests/" + id);
    if (state.selected === id) {
      panel.replaceChildren(...detailElements(record));
      panel.dataset.id = id;
    }
  } catch (error) {
    panel.replaceChildren(el("p", { class: "error", text: t("error", { message: error.message }) }));
  }
}

function section(title, ...children) {
  return [el("h3", { text: title }), ...children];
}

function fieldTable(pairs) {
  return el("table", { class: "fields" }, pairs.map(([name, value]) => el("tr", {}, el("td", { class: "mono muted", text: name }), el("td", { class: "mono", text: value }))));
}

function rawRequest(record) {
  const target = record.path + (record.query ? "?" + record.query : "");
  const lines = [record.method + " " + target, ...record.headers.map(([name, value]) => name + ": " + value)];
  return el("pre", { class: "raw" }, lines.join("\n") + (record.body ? "\n\n" + record.body : ""));
}

function diagnosisElement(record) {
  const report = record.report || {};
  const box = el("div", { class: "diagnosis" + (record.valid ? " good" : "") });
  if (record.valid && !(report.problems || []).length) box.append(el("p", { text: t("ok_verdict") }));
  else if (!record.report) box.append(el("p", { text: record.reason }));
  for (const problem of report.problems || []) {
    box.append(el("p", { text: problem.message }));
    if (problem.fix) box.append(el("p", { class: "fix", text: t("fix", { fix: problem.fix }) }));
  }
  const diagnosis = report.diagnosis;
  if (diagnosis) {
    if (diagnosis.detail) box.append(el("p", { text: diagnosis.detail }));
    if (diagnosis.fix && !(report.problems || []).some((p) => p.fix === diagnosis.fix)) box.append(el("p", { class: "fix", text: t("fix", { fix: diagnosis.fix }) }));
  }
  for (const note of report.notes || []) box.append(el("p", { class: "muted", text: note }));
  if (record.order_amount) box.append(el("p", { text: t("order_amount", { amount: record.order_amount }) }));
  return box;
}

function forwardElement(forward) {
  if (!forward) return el("p", { class: "muted", text: t("not_forwarded") });
  if (forward.status === null) return el("p", { class: "bad", text: forward.url + " " + t("forward_error", { error: forward.error }) });
  return el("div", {}, el("p", { class: "mono muted", text: forward.url }),
    el("p", { class: forward.delivered ? "ok" : "bad", text: t("forwarded", { status: forward.status, body: JSON.stringify(forward.body), ms: forward.ms }) }));
}

function earlierElement(record) {
  if (!record.earlier.length) return el("p", { class: "muted", text: t("no_earlier") });
  return el("ul", { class: "earlier" }, record.earlier.map((item) => el("li", {},
    el("a", { href: "#", "data-id": item.id, onclick: (event) => { event.preventDefault(); openRequest(item.id); }, text: "#" + item.id }),
    " ", el("span", { class: "mono muted", text: item.time }), " ", verdictBadge(item.verdict), " ",
    item.changes.length ? el("ul", { class: "changes" }, item.changes.map((change) => el("li", { class: "changed mono", text: t("change", { name: change.name, before: change.before ?? t("absent"), after: change.after ?? t("absent") }) })))
      : el("span", { class: "muted", text: t("same_content") }))));
}

function copyRow(label, text, name) {
  if (!text) return null;
  const pre = el("pre", { class: "copy-" + name, text });
  const button = el("button", { type: "button", text: t("copy"), onclick: async () => {
    try { await navigator.clipboard.writeText(text); button.textContent = t("copied"); }
    catch (_) { const range = document.createRange(); range.selectNodeContents(pre); getSelection().removeAllRanges(); getSelection().addRange(range); }
  } });
  return el("div", {}, el("div", { class: "muted", text: label }), el("div", { class: "copy-row" }, pre, button));
}

function replayElement(record) {
  const info = state.info;
  if (!info.targets.length) return el("p", { class: "muted", text: t("replay_no_target") });
  const params = record.params || {};
  const inputs = {};
  const editable = Object.entries(params).filter(([name]) => name !== "sign" && name !== "sign_type");
  const fields = el("table", { class: "replay-fields" }, editable.map(([name, value]) => {
    const input = el("input", { class: "mono", name, value, "data-field": name });
    input.addEventListener("input", () => input.classList.toggle("edited", input.value !== value));
    inputs[name] = [input, value];
    return el("tr", {}, el("td", { class: "mono muted", text: name }), el("td", {}, input));
  }));
  const target = el("select", { id: "replay-target" }, info.targets.map((item) => el("option", { value: item.name, text: item.name + " — " + item.url })));
  const resign = el("input", { type: "checkbox", id: "replay-resign", disabled: !info.can_resign });
  const result = el("div", { id: "replay-result", class: "result", hidden: true });
  async function send(edited) {
    const changes = {};
    if (edited) for (const [name, [input, value]] of Object.entries(inputs)) if (input.value !== value) changes[name] = input.value;
    result.hidden = false; result.className = "result"; result.textContent = t("replaying");
    try {
      const answer = await api("/api/requests/" + record.id + "/replay", {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ target: target.value, changes, resign: resign.checked }),
      });
      const got = answer.answer;
      result.className = "result " + (got.delivered ? "ok" : "bad");
      result.dataset.status = got.status;
      result.dataset.delivered = got.delivered;
      result.replaceChildren(el("div", { text: t("replay_result", { status: got.status, body: JSON.stringify(got.body), ms: got.ms, delivered: t(got.delivered ? "delivered" : "not_delivered") }) }),
        el("pre", { class: "sent", text: answer.sent.method + " " + answer.sent.url + (answer.sent.body ? "\n\n" + answer.sent.body : "") }));
    } catch (error) {
      result.className = "result bad";
      result.textContent = t("error", { message: error.message });
    }
  }
  return el("div", { class: "replay" },
    el("div", { class: "replay-actions" }, el("label", {}, t("replay_to") + " ", target),
      el("label", {}, resign, " " + t("resign"), info.can_resign ? null : " " + t("resign_unavailable"))),
    editable.length ? fields : null,
    el("div", { class: "replay-actions" },
      el("button", { type: "button", id: "replay-received", onclick: () => send(false), text: t("replay_as_received") }),
      el("button", { type: "button", id: "replay-edited", class: "primary", onclick: () => send(true), text: t("replay_edited") })),
    result);
}

function detailElements(record) {
  const answered = t("answered", { status: record.answer_status, body: JSON.stringify(record.answer), by: record.answered_by, delivered: t(record.delivered ? "delivered" : "not_delivered") });
  return [
    el("h2", {}, "#" + record.id, verdictBadge(record.verdict), record.content_changed ? el("span", { class: "changed", text: t("changed") }) : null),
    el("p", { class: "muted", text: t("client", { client: record.client, time: record.time }) }),
    ...section(t("verdict"), diagnosisElement(record)),
    ...section(t("raw_request"), rawRequest(record)),
    ...(record.params ? section(t("parsed_fields"), fieldTable(Object.entries(record.params))) : []),
    ...section(t("signed_string"), el("pre", { class: "signed", text: record.signed_text || t("no_signed_string") })),
    ...section(t("answer"), el("p", { class: record.delivered ? "ok" : "bad", text: answered })),
    ...section(t("forward"), forwardElement(record.forward)),
    ...section(t("earlier", { trade_no: record.trade_no || "-" }), earlierElement(record)),
    ...(record.params ? section(t("replay"), replayElement(record)) : []),
    copyRow(t("copy_curl"), record.curl, "curl"),
    copyRow(t("copy_verify"), record.verify_command, "verify"),
  ];
}

// ---- filters and paging -----------------------------------------------------------------------

function seconds(input) {
  if (!input.value) return "";
  const when = new Date(input.value);  // local time, as the user reads it
  return isNaN(when) ? "" : String(when.getTime() / 1000);
}

function readFilters() {
  state.filters = {
    verdict: document.getElementById("f-verdict").value,
    q: document.getElementById("f-q").value.trim(),
    since: seconds(document.getElementById("f-since")),
    until: seconds(document.getElementById("f-until")),
  };
}

function go(anchor) {
  state.anchor = anchor;
  loadPage().catch(showError);
}

function showError(error) {
  const body = document.getElementById("rows");
  body.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "error", text: t("error", { message: error.message }) })));
}

async function start() {
  document.getElementById("filters").addEventListener("submit", (event) => { event.preventDefault(); readFilters(); go({ before: null, after: null }); });
  document.getElementById("f-clear").addEventListener("click", () => { document.getElementById("filters").reset(); readFilters(); go({ before: null, after: null }); });
  document.getElementById("older").addEventListener("click", () => { const last = state.rows[state.rows.length - 1]; if (last) go({ before: last.id, after: null }); });
  document.getElementById("newer").addEventListener("click", () => { const first = state.rows[0]; if (first) go({ before: null, after: first.id }); });
  document.getElementById("newest").addEventListener("click", () => go({ before: null, after: null }));
  document.getElementById("new-rows").addEventListener("click", () => go({ before: null, after: null }));
  try {
    state.info = await api("/api/info");
    if (state.info.messages && Object.keys(state.info.messages).length) translatePage(state.info.language, state.info.messages);
    document.getElementById("journal").textContent = state.info.journal;
    state.latestId = state.info.latest_id;
    await loadPage();
  } catch (error) { showError(error); }
  connectLive();
}

start();
