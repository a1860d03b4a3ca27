// fleetsync dashboard: redraws the current page when the hub says an app changed (server-
// sent events from /api/v1/events), and every 30 s besides (times, a lost stream). Without
// a session (the API answers 401) it shows the login form; the session is an HTTP-only
// cookie the API sets, so this script never holds the token.
// Every value from the API enters the DOM as a text node or an attribute value: no
// innerHTML, so names and messages cannot inject markup.
"use strict";

const API = "/api/v1";
const POLL_MS = 30000;
const state = { cluster: "", timer: null, busy: false, again: false, user: null, events: null };

class LoginNeeded extends Error {}

// el("td", {class: "x"}, "text", childNode, ...) builds an element safely.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(kind, value) {
  const word = value || "Unknown";
  return el("span", { class: `badge ${kind}-${word}`, title: `${kind}: ${word}` }, word);
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
}

function short(revision) {
  return revision ? String(revision).slice(0, 10) : "—";
}

async function api(path, options) {
  const init = Object.assign({ headers: {}, credentials: "same-origin" }, options || {});
  if (init.body !== undefined) init.headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, init);
  const body = await response.json().catch(() => ({}));
  const loggingIn = path === "/session" && init.method === "POST";
  if (response.status === 401 && !loggingIn) throw new LoginNeeded(body.error || "log in");
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function loginPage(message) {
  const user = el("input", { name: "username", autocomplete: "username", required: true });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const problem = el("p", { class: "error-text", id: "login-error" }, message || "");
  const submit = async (event) => {
    event.preventDefault();
    try {
      await api("/session", { method: "POST", body: JSON.stringify({ username: user.value, password: password.value }) });
      tick();
    } catch (err) {
      problem.textContent = err.message;
    }
  };
  return [el("h1", {}, "Log in"), el("form", { id: "login", class: "login", onsubmit: submit },
    el("label", {}, "Username", user), el("label", {}, "Password", password),
    el("button", { type: "submit" }, "Log in"), problem)];
}

async function logout() {
  await api("/session", { method: "DELETE" }).catch(() => null);
  state.user = null;
  listen(false);
  tick();
}

// Redraw when the hub says an app changed; EventSource reconnects by itself.
function listen(on) {
  if (!on && state.events) { state.events.close(); state.events = null; }
  if (on && !state.events) {
    state.events = new EventSource(API + "/events");
    state.events.addEventListener("changed", () => tick());
  }
}

function showUser() {
  const box = document.getElementById("user");
  if (!state.user) { box.replaceChildren(); return; }
  box.replaceChildren(el("span", { class: "muted" }, state.user), " ",
    el("button", { id: "logout", onclick: logout }, "Log out"));
}

function flash(message, isError) {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = isError ? "error" : "ok";
  box.hidden = false;
}

async function act(path, body, label) {
  try {
    const init = { method: "POST" };
    if (body !== undefined) init.body = JSON.stringify(body);
    const result = await api(path, init);
    const targets = (result.queued || []).map((k) => `${k.app}@${k.cluster}`).join(", ");
    flash(`${label}: queued ${targets || "nothing"}`, false);
  } catch (err) {
    flash(`${label} failed: ${err.message}`, true);
  }
  tick();
}

// ---- pages ----

function appLink(name) {
  return el("a", { href: `#/apps/${encodeURIComponent(name)}`, class: "app-name" }, name);
}

function sourceErrors(data) {
  const errors = data.sourceErrors || [];
  if (!errors.length) return null;
  return el("div", { class: "source-errors" }, el("h2", {}, "Problems in the app sources"),
    errors.map((e) => el("div", { class: "error-text" }, e)));
}

function appsPage(data) {
  if (!data.apps.length) return [el("h1", {}, "Applications"), sourceErrors(data), el("p", { class: "muted" }, "No applications yet.")];
  const rows = data.apps.map((app) => el("tr", { "data-app": app.name },
    el("td", {}, appLink(app.name)),
    el("td", {}, app.project),
    el("td", { class: "mono" }, `${app.source.repoURL} @ ${app.source.targetRevision}`, el("br"), app.source.path || "."),
    el("td", {}, app.targets.length ? app.targets.map((t) => el("div", { class: "target", "data-cluster": t.cluster },
      el("span", { class: "cluster" }, t.cluster), " ", badge("sync", t.sync), " ", badge("health", t.health),
      t.operationPhase === "Running" ? el("span", { class: "muted" }, " syncing…") : null)) : null,
      app.errors.map((e) => el("div", { class: "error-text" }, e))),
    el("td", {}, policyText(app.syncPolicy))));
  return [el("h1", {}, "Applications"), sourceErrors(data),
    el("table", { class: "apps" },
      el("thead", {}, el("tr", {}, ["Name", "Project", "Source", "Clusters", "Sync policy"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))];
}

function policyText(policy) {
  if (!policy.automated) return "manual";
  const parts = ["automated"];
  if (policy.prune) parts.push("prune");
  if (policy.selfHeal) parts.push("self-heal");
  if (policy.automatedDisabledByRollback) parts.push("(off after rollback)");
  return parts.join(", ");
}

function clustersPage(data) {
  const rows = data.clusters.map((c) => el("tr", { "data-cluster": c.name },
    el("td", {}, c.name),
    el("td", { class: "mono" }, c.server),
    el("td", {}, Object.entries(c.labels).map(([k, v]) => el("span", { class: "label" }, `${k}=${v}`))),
    el("td", {}, c.reachable ? badge("health", "Healthy") : badge("health", "Degraded"), " ", c.lastError)));
  return [el("h1", {}, "Clusters"), el("table", {},
    el("thead", {}, el("tr", {}, ["Name", "Server", "Labels", "Reachable"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows))];
}

function appPage(app, history) {
  const path = `/apps/${encodeURIComponent(app.name)}`;
  const clusters = app.targets.map((t) => t.cluster);
  if (state.cluster && !clusters.includes(state.cluster)) state.cluster = "";
  const chosen = () => (state.cluster ? { cluster: state.cluster } : {});
  const select = el("select", { onchange: (e) => { state.cluster = e.target.value; } },
    el("option", { value: "" }, "all clusters"),
    clusters.map((c) => el("option", { value: c, selected: c === state.cluster }, c)));
  const actions = el("div", { class: "actions" }, select,
    el("button", { onclick: () => act(`${path}/sync`, chosen(), "Sync") }, "Sync"),
    el("button", { onclick: () => act(`${path}/refresh`, undefined, "Refresh") }, "Refresh"),
    el("button", { onclick: () => act(`${path}/refresh?hard=true`, undefined, "Hard refresh") }, "Hard refresh"));
  return [
    el("p", {}, el("a", { href: "#/" }, "← Applications")),
    el("h1", { "data-app": app.name }, app.name),
    actions,
    el("dl", { class: "facts" },
      el("dt", {}, "Project"), el("dd", {}, app.project),
      el("dt", {}, "Source"), el("dd", { class: "mono" }, `${app.source.repoURL} @ ${app.source.targetRevision} : ${app.source.path || "."}`),
      el("dt", {}, "Destination"), el("dd", {}, app.destination.description, app.destination.namespace ? ` / ${app.destination.namespace}` : ""),
      el("dt", {}, "Sync policy"), el("dd", {}, policyText(app.syncPolicy))),
    app.errors.map((e) => el("p", { class: "error-text" }, e)),
    app.warnings.map((w) => el("p", { class: "warning-text" }, `warning: ${w}`)),
    app.targets.map((t) => targetSection(t)),
    historySection(path, history),
  ];
}

function targetSection(t) {
  const op = t.operation;
  return el("section", { class: "target-detail", "data-cluster": t.cluster },
    el("h2", {}, t.cluster, " ", badge("sync", t.sync), " ", badge("health", t.health)),
    el("p", { class: "muted" }, `namespace ${t.namespace || "—"} · path ${t.path || "."} · synced ${short(t.revision)} · wanted ${short(t.resolvedRevision)} · checked ${ago(t.reconciledAt)}`),
    t.healthMessage ? el("p", {}, t.healthMessage) : null,
    op ? el("p", { class: "operation" }, "Last operation: ", badge("phase", op.phase),
      ` ${short(op.revision)} by ${op.trigger}, ${ago(op.finishedAt || op.startedAt)}`, op.message ? ` — ${op.message}` : "") : null,
    t.conditions.length ? el("ul", { class: "conditions" }, t.conditions.map((c) =>
      el("li", {}, el("strong", {}, `${c.type} ${c.reason}`), ": ", c.message))) : null,
    resourceTree(t.resources));
}

// Resources grouped namespace → kind → name; cluster-scoped objects first.
function resourceTree(resources) {
  if (!resources.length) return el("p", { class: "muted" }, "No resources recorded yet.");
  const tree = new Map();
  for (const r of resources) {
    const ns = r.namespace || "(cluster-scoped)";
    const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
    if (!tree.has(ns)) tree.set(ns, new Map());
    const kinds = tree.get(ns);
    if (!kinds.has(kind)) kinds.set(kind, []);
    kinds.get(kind).push(r);
  }
  const order = (a, b) => (a.startsWith("(") !== b.startsWith("(") ? (a.startsWith("(") ? -1 : 1) : a.localeCompare(b));
  const branch = (label, cls, children) => el("li", {}, el("span", { class: cls }, label), el("ul", {}, children));
  const leaf = (kind, r) => el("li", { class: "resource", "data-resource": `${kind}/${r.name}` },
    el("span", { class: "name" }, r.name), " ", badge("sync", r.sync),
    r.health ? [" ", badge("health", r.health)] : null,
    r.message ? el("span", { class: "muted" }, ` ${r.message}`) : null);
  const kindsOf = (kinds) => [...kinds.keys()].sort(order).map((kind) =>
    branch(kind, "kind", kinds.get(kind).sort((a, b) => a.name.localeCompare(b.name)).map((r) => leaf(kind, r))));
  return el("ul", { class: "tree" }, [...tree.keys()].sort(order).map((ns) => branch(ns, "ns", kindsOf(tree.get(ns)))));
}

function historySection(path, history) {
  const rows = history.map((h) => el("tr", {},
    el("td", {}, String(h.id)), el("td", {}, h.cluster), el("td", { class: "mono", title: h.revision }, short(h.revision)),
    el("td", {}, badge("phase", h.phase)), el("td", {}, h.trigger), el("td", {}, ago(h.finishedAt)),
    el("td", {}, h.message),
    el("td", {}, el("button", { onclick: () => {
      if (window.confirm(`Roll ${h.app} on ${h.cluster} back to ${short(h.revision)}? Automated sync will be turned off.`)) {
        act(`${path}/rollback`, { cluster: h.cluster, id: h.id }, "Rollback");
      }
    } }, "Rollback"))));
  return el("section", {}, el("h2", {}, "History"), history.length ? el("table", { class: "history" },
    el("thead", {}, el("tr", {}, ["ID", "Cluster", "Revision", "Result", "Trigger", "Finished", "Message", ""].map((x) => el("th", {}, x)))),
    el("tbody", {}, rows)) : el("p", { class: "muted" }, "No syncs yet."));
}

// ---- loop ----

async function load() {
  if (!state.user) state.user = (await api("/session")).username;
  const hash = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  if (hash.startsWith("/apps/")) {
    const name = hash.slice("/apps/".length);
    const path = `/apps/${encodeURIComponent(name)}`;
    const [app, history] = await Promise.all([api(path), api(`${path}/history`)]);
    return appPage(app, history.history);
  }
  if (hash === "/clusters") return clustersPage(await api("/clusters"));
  return appsPage(await api("/apps"));
}

async function tick() {
  clearTimeout(state.timer);
  if (state.busy) { state.again = true; return; }  // redraw once more when this one ends
  state.busy = true;
  state.again = false;
  let again = true;
  try {
    const nodes = await load();
    document.getElementById("main").replaceChildren(...nodes.flat().filter(Boolean));
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err instanceof LoginNeeded) {
      state.user = null;
      listen(false);
      again = false;  // nothing to poll until the form logs in
      if (!document.getElementById("login")) document.getElementById("main").replaceChildren(...loginPage());
    } else {
      document.getElementById("updated").textContent = `cannot reach the hub: ${err.message}`;
    }
  } finally {
    state.busy = false;
    showUser();
    if (state.user) listen(true);
    if (again) state.timer = setTimeout(tick, state.again ? 0 : POLL_MS);
  }
}

window.addEventListener("hashchange", () => { document.getElementById("flash").hidden = true; tick(); });
tick();
