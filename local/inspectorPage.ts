/**
 * The inspector's page (local/inspector.ts): one HTML document and one
 * script, no framework. The script keeps the requests the feed sends
 * (Server-Sent Events, `/events`) newest first, filters them by route,
 * status class and text, and shows the selected one's decision. Everything
 * from a request is written with `textContent`, never as HTML, so a path or
 * a header cannot become markup; the page's Content-Security-Policy allows
 * only this script.
 */

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

export function inspectorPage(routes: readonly string[]): string {
    const options = routes.map((route) => `<option value="${escapeHtml(route)}">${escapeHtml(route)}</option>`).join("");
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tollgate inspector</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { display: flex; gap: 12px; align-items: center; padding: 8px 14px; background: #1d2330; color: #fff; }
  header h1 { font-size: 15px; margin: 0; font-weight: 600; }
  #live { font-size: 12px; color: #9fe3a8; }
  #live.down { color: #ffb4a8; }
  form { display: flex; gap: 8px; margin-left: auto; }
  input, select, button { font: inherit; }
  main { display: grid; grid-template-columns: minmax(420px, 1fr) minmax(420px, 1.1fr); height: calc(100vh - 42px); }
  #list { overflow: auto; border-right: 1px solid #d5d9e0; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6e8ec; white-space: nowrap; }
  th { position: sticky; top: 0; background: #eceef2; font-weight: 600; }
  td.path { max-width: 260px; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; }
  tbody tr { cursor: pointer; }
  tbody tr:hover { background: #eef3ff; }
  tbody tr.selected { background: #dbe6ff; }
  .s2 { color: #1a7f37; } .s3 { color: #6e40c9; } .s4 { color: #b35900; } .s5 { color: #c62828; }
  #detail { overflow: auto; padding: 10px 16px; }
  #detail h2 { font-size: 14px; margin: 14px 0 6px; }
  #detail h2:first-child { margin-top: 0; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
  dt { color: #5b6475; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
  pre { background: #fff; border: 1px solid #d5d9e0; padding: 8px; white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
  .empty { color: #5b6475; padding: 16px; }
</style>
</head>
<body>
<header>
  <h1>tollgate inspector</h1><span id="live">connecting</span>
  <form id="filters">
    <select id="route" aria-label="route"><option value="">every route</option>${options}</select>
    <select id="status" aria-label="status"><option value="">every status</option><option value="2">2xx</option><option value="3">3xx</option><option value="4">4xx</option><option value="5">5xx</option></select>
    <input id="text" type="search" placeholder="path, reason, trace id" aria-label="text">
  </form>
</header>
<main>
  <section id="list">
    <table>
      <thead><tr><th>time</th><th>method</th><th>path</th><th>route</th><th>status</th><th>reason</th><th>ms</th></tr></thead>
      <tbody id="requests"></tbody>
    </table>
  </section>
  <section id="detail"><p class="empty">Select a request to see the gateway's decision.</p></section>
</main>
<script src="/inspector.js"></script>
</body>
</html>
`;
}

export const inspectorScript = String.raw`"use strict";
const capacity = 300;
const byId = new Map();
const rows = new Map();
const tbody = document.getElementById("requests");
const detail = document.getElementById("detail");
const filters = { route: document.getElementById("route"), status: document.getElementById("status"), text: document.getElementById("text") };
let selected;

function element(tag, text, attributes) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
}

function matches(request) {
  if (filters.route.value && request.route !== filters.route.value) return false;
  if (filters.status.value && String(request.status)[0] !== filters.status.value) return false;
  const text = filters.text.value.trim().toLowerCase();
  if (!text) return true;
  return [request.method, request.path, request.route, request.reason, String(request.status), request.traceId, request.id].some((field) => field && String(field).toLowerCase().includes(text));
}

function row(request) {
  const tr = element("tr", undefined, { "data-id": request.id });
  tr.append(
    element("td", new Date(request.receivedAt).toLocaleTimeString(), { class: "time" }),
    element("td", request.method, { class: "method" }),
    element("td", request.path, { class: "path", title: request.path }),
    element("td", request.route || "", { class: "route" }),
    element("td", request.status, { class: "status s" + String(request.status)[0] }),
    element("td", request.reason || "", { class: "reason" }),
    element("td", request.latencyMs, { class: "latency" }),
  );
  tr.addEventListener("click", () => select(request.id));
  tr.hidden = !matches(request);
  if (request.id === selected) tr.classList.add("selected");
  return tr;
}

function receive(request) {
  const known = rows.get(request.id);
  byId.set(request.id, request);
  const tr = row(request);
  if (known) known.replaceWith(tr);
  else tbody.prepend(tr);
  rows.set(request.id, tr);
  while (rows.size > capacity) {
    const oldest = tbody.lastElementChild;
    rows.delete(oldest.dataset.id);
    byId.delete(oldest.dataset.id);
    oldest.remove();
  }
  if (request.id === selected) show(request);
}

function refilter() {
  for (const [id, tr] of rows) tr.hidden = !matches(byId.get(id));
}

function select(id) {
  if (selected) rows.get(selected)?.classList.remove("selected");
  selected = id;
  rows.get(id)?.classList.add("selected");
  show(byId.get(id));
}

function fields(pairs, field) {
  const dl = element("dl", undefined, { "data-field": field });
  for (const [name, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(element("dt", name), element("dd", value));
  }
  return dl;
}

function headers(list, field) {
  return element("pre", (list || []).map(([name, value]) => name + ": " + value).join("\n"), { "data-field": field });
}

function show(request) {
  detail.replaceChildren();
  const d = request.decision || {};
  detail.append(element("h2", request.method + " " + request.path));
  detail.append(
    fields(
      [
        ["status", request.status],
        ["reason", request.reason ? request.reason + " — " + request.reasonMeaning : undefined],
        ["route", request.route],
        ["latency", request.latencyMs + " ms"],
        ["request id", request.id],
        ["trace id", d.trace ? d.trace.traceId + " (" + ({ client: "the client's trace, continued", gateway: "started by the gateway", xray: "the X-Ray trace" })[d.trace.origin] + ")" : request.traceId],
        ["traceparent sent", d.trace && d.trace.traceparent],
        ["tracestate sent", d.trace && d.trace.tracestate],
      ],
      "summary",
    ),
  );
  detail.append(element("h2", "Credential"));
  const identity = d.identity;
  detail.append(
    fields(
      [
        ["credential", d.credential || "none taken (the route's auth is none, or the request was refused before)"],
        ["outcome", d.auth],
        ["user id", identity && identity.userId],
        ["username", identity && identity.username],
        ["roles", identity && identity.roles.join(", ")],
        ["permissions", identity && identity.permissions.join(", ")],
        ["proved by", identity && identity.method],
      ],
      "credential",
    ),
  );
  detail.append(element("h2", "Rate limit"));
  const limit = d.rateLimit;
  detail.append(
    limit
      ? fields(
          [
            ["limiter key", limit.limiterKey],
            ["counter", limit.counted + " of " + limit.limit + " in a " + limit.windowSeconds + " s window (" + limit.remaining + " left)"],
            ["window resets in", limit.resetSeconds + " s"],
            ["outcome", limit.outcome],
            ["decided by", limit.decidedBy],
            ["policy", limit.policy],
          ],
          "rate-limit",
        )
      : element("p", "Not counted.", { "data-field": "rate-limit", class: "empty" }),
  );
  if (d.assertion) {
    detail.append(element("h2", "Identity assertion (claims)"));
    detail.append(element("pre", JSON.stringify(d.assertion, null, 2), { "data-field": "assertion" }));
  }
  if (d.upstream) {
    const u = d.upstream;
    detail.append(element("h2", "Upstream"));
    detail.append(fields([["request", u.method + " " + u.url], ["status", u.status], ["error", u.error], ["time", u.latencyMs + " ms"]], "upstream"));
    detail.append(element("h2", "Headers the upstream was sent"), headers(u.headers, "upstream-request-headers"));
    if (u.answerHeaders) detail.append(element("h2", "Headers the upstream answered with"), headers(u.answerHeaders, "upstream-response-headers"));
  }
  detail.append(element("h2", "The client's request headers"), headers(request.request.headers, "request-headers"));
  detail.append(element("h2", "The gateway's answer headers"), headers(request.response.headers, "response-headers"));
  detail.append(element("h2", "Copy as curl"));
  const curl = element("pre", request.curl, { "data-field": "curl" });
  const copy = element("button", "Copy", { type: "button", "data-field": "copy-curl" });
  copy.addEventListener("click", () => navigator.clipboard.writeText(request.curl).then(() => (copy.textContent = "Copied"), () => (copy.textContent = "Select the text to copy")));
  detail.append(curl, copy);
}

for (const input of Object.values(filters)) input.addEventListener("input", refilter);
document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
const live = document.getElementById("live");
const feed = new EventSource("/events");
feed.onopen = () => { live.textContent = "live"; live.className = ""; };
feed.onerror = () => { live.textContent = "disconnected: is npm start running?"; live.className = "down"; };
feed.onmessage = (message) => receive(JSON.parse(message.data));
`;
