// fleetsync dashboard: redraws the current page when the hub says an app changed (server-
// sent events from /api/v1/events), and every 30 s besides (times, a lost stream). Without
// a session (the API answers 401) it shows the login form; the session is an HTTP-only
// cookie the API sets, so this script never holds the token.
// Every value from the API enters the DOM as a text node or an attribute value: no
// innerHTML, so names and messages cannot inject markup.
"use strict";

const API = "/api/v1";
const POLL_MS = 30000;
const state = {
  cluster: "", timer: null, busy: false, again: false, user: null, events: null,
  filter: { q: "", project: "", cluster: "", sync: "", health: "", label: "" },
  fleet: null,  // the last apps, clusters and deletions read: filters redraw from it
  diffs: {},  // "app/cluster" → the comparison shown under that target, until navigated away
  graphs: new Set(),  // "app/cluster" of the resource graphs shown: read again on each redraw
  trees: {},  // "app/cluster" → the last resource tree read
  selected: new Set(),  // JSON [cluster, group, kind, namespace, name] of objects to sync
  prune: false,
  dryRun: false,  // the sync buttons show what a sync would do instead of syncing
  plan: { revision: "", base: "", apps: "", result: null, loading: false, error: "" },  // #/plan
};

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
    flash(result.queued ? `${label}: queued ${targets || "nothing"}` : `${label}: done`, false);
  } catch (err) {
    flash(`${label} failed: ${err.message}`, true);
  }
  tick();
}

// A sync, or with "dry run" ticked what it would do: shown per cluster where diffs go.
async function syncOrDryRun(app, body, label) {
  if (!state.dryRun) return act(`/apps/${encodeURIComponent(app)}/sync`, body, label);
  for (const cluster of body.cluster ? [body.cluster] : []) state.diffs[`${app}/${cluster}`] = { loading: true };
  redraw();
  try {
    const found = await api(`/apps/${encodeURIComponent(app)}/sync`, { method: "POST", body: JSON.stringify(Object.assign({}, body, { dryRun: true })) });
    for (const t of found.targets) state.diffs[`${app}/${t.cluster}`] = Object.assign({ dryRun: true }, t);
    flash(`${label} (dry run): nothing written`, false);
  } catch (err) {
    flash(`${label} (dry run) failed: ${err.message}`, true);
    for (const key of Object.keys(state.diffs)) if (state.diffs[key].loading) delete state.diffs[key];
  }
  redraw();
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

// ---- the fleet: overview, filters, the list and the app × cluster matrix ----

const SYNCS = ["Synced", "OutOfSync", "Unknown"];
const HEALTHS = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];

function counted(values, order) {
  const counts = new Map(order.map((v) => [v, 0]));
  for (const v of values) counts.set(v || "Unknown", (counts.get(v || "Unknown") || 0) + 1);
  return [...counts.entries()].filter(([, n]) => n > 0);
}

function needsAttention(fleet) {
  const found = [];
  for (const app of fleet.apps) {
    if (app.errors.length) found.push([app.name, "", app.errors[0]]);
    const r = app.rollout;
    if (r && r.phase === "Halted") found.push([app.name, r.failed, `rollout halted${r.rolledBack ? " and rolled back" : ""}: ${r.reason}`]);
    else if (r && r.waitingApproval) found.push([app.name, "", `rollout waits for approval after step ${r.step} of ${r.steps}`]);
    for (const t of app.targets) {
      if (["Degraded", "Missing"].includes(t.health)) found.push([app.name, t.cluster, `health ${t.health}`]);
      else if (["Failed", "Error"].includes(t.operationPhase)) found.push([app.name, t.cluster, `last sync ${t.operationPhase}`]);
    }
  }
  return found;
}

function overview(fleet) {
  const targets = fleet.apps.flatMap((a) => a.targets);
  const reachable = fleet.clusters.filter((c) => c.reachable).length;
  const tile = (title, items, kind) => el("div", { class: "tile" }, el("h3", {}, title),
    items.length ? items.map(([word, n]) => el("div", {}, kind ? badge(kind, word) : word, ` ${n}`)) : el("div", { class: "muted" }, "none"));
  const attention = needsAttention(fleet);
  return el("section", { class: "overview", id: "overview" },
    tile("Applications", [[`${fleet.apps.length} apps, ${targets.length} app × cluster pairs`, ""]]),
    tile("Sync", counted(targets.map((t) => t.sync), SYNCS), "sync"),
    tile("Health", counted(targets.map((t) => t.health), HEALTHS), "health"),
    tile("Clusters", [[`${reachable} of ${fleet.clusters.length} reachable`, ""]]),
    el("div", { class: "tile attention" }, el("h3", {}, "Needs attention"),
      attention.length ? attention.slice(0, 8).map(([app, cluster, why]) => el("div", {}, appLink(app), cluster ? ` @ ${cluster}` : "", el("span", { class: "muted" }, ` ${why}`)))
        : el("div", { class: "muted" }, "nothing"),
      attention.length > 8 ? el("div", { class: "muted" }, `and ${attention.length - 8} more`) : null));
}

function shown(app) {
  const f = state.filter;
  const q = f.q.trim().toLowerCase();
  if (q && ![app.name, app.project, app.source.repoURL, app.source.path].some((v) => String(v || "").toLowerCase().includes(q))) return false;
  if (f.project && app.project !== f.project) return false;
  if (f.label.trim() && !labelMatches(app.labels || {}, f.label.trim())) return false;
  const targets = app.targets.filter((t) => !f.cluster || t.cluster === f.cluster);
  if (f.cluster && !targets.length) return false;
  if (f.sync && !targets.some((t) => t.sync === f.sync)) return false;
  if (f.health && !targets.some((t) => t.health === f.health)) return false;
  return true;
}

// "key=value" or "key" (the label is set), as a label selector's simplest terms.
function labelMatches(labels, wanted) {
  return wanted.split(",").map((t) => t.trim()).filter(Boolean).every((term) => {
    const [key, ...rest] = term.split("=");
    return rest.length ? labels[key.trim()] === rest.join("=").trim() : key.trim() in labels;
  });
}

function filterBar(fleet) {
  const set = (name) => (event) => { state.filter[name] = event.target.value; redraw(); };
  const choice = (name, label, values) => el("select", { id: `filter-${name}`, "aria-label": label, onchange: set(name) },
    el("option", { value: "" }, `any ${label}`),
    values.map((v) => el("option", { value: v, selected: v === state.filter[name] }, v)));
  const projects = [...new Set(fleet.apps.map((a) => a.project))].sort();
  return el("div", { class: "filters" },
    el("input", { id: "filter-q", type: "search", placeholder: "search name, project, repository", value: state.filter.q, oninput: set("q"), "aria-label": "search" }),
    el("input", { id: "filter-label", type: "search", placeholder: "label: team=a, tier", value: state.filter.label, oninput: set("label"), "aria-label": "labels" }),
    choice("project", "project", projects), choice("cluster", "cluster", fleet.clusters.map((c) => c.name)),
    choice("sync", "sync", SYNCS), choice("health", "health", HEALTHS));
}

function deletionsPanel(fleet) {
  if (!fleet.deletions.length) return null;
  const answer = async (d, cascade) => {
    const what = cascade ? `Delete the objects of ${d.app} from ${d.clusters.join(", ")}?` : `Leave the objects of ${d.app} in the clusters and stop tracking it?`;
    if (!window.confirm(what)) return;
    try {
      await api(`/apps/${encodeURIComponent(d.app)}?cascade=${cascade}`, { method: "DELETE" });
      flash(cascade ? `${d.app}: deleting its objects` : `${d.app}: untracked, objects left`, false);
    } catch (err) {
      flash(`Delete of ${d.app} failed: ${err.message}`, true);
    }
    tick();
  };
  const rows = fleet.deletions.map((d) => el("tr", { "data-deletion": d.app },
    el("td", {}, d.app), el("td", {}, d.project), el("td", {}, d.state), el("td", {}, d.clusters.join(", ")),
    el("td", {}, d.message),
    el("td", {}, d.state === "Held" ? [el("button", { onclick: () => answer(d, true) }, "Delete objects"), " ",
      el("button", { onclick: () => answer(d, false) }, "Leave objects")] : d.propagation)));
  return el("section", { class: "deletions" }, el("h2", {}, "Deletions"),
    el("table", {}, el("thead", {}, el("tr", {}, ["App", "Project", "State", "Clusters", "Why", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)));
}

function matrixPage(fleet) {
  const apps = fleet.apps.filter(shown);
  const clusters = fleet.clusters.map((c) => c.name).filter((c) => !state.filter.cluster || c === state.filter.cluster);
  const cell = (app, cluster) => {
    const t = app.targets.find((x) => x.cluster === cluster);
    if (!t) return el("td", { class: "muted" }, "—");
    return el("td", { "data-cell": `${app.name}@${cluster}` }, badge("sync", t.sync), " ", badge("health", t.health),
      el("div", { class: "mono", title: t.revision || "" }, short(t.revision)));
  };
  return [el("h1", {}, "Fleet matrix"), filterBar(fleet),
    el("table", { class: "matrix" },
      el("thead", {}, el("tr", {}, el("th", {}, "App"), clusters.map((c) => el("th", {}, c)))),
      el("tbody", {}, apps.map((app) => el("tr", { "data-app": app.name }, el("td", {}, appLink(app.name)),
        clusters.map((c) => cell(app, c))))))];
}

function appsPage(fleet) {
  const data = fleet;
  const head = [el("h1", {}, "Applications"), overview(fleet), deletionsPanel(fleet), sourceErrors(data)];
  if (!data.apps.length) return [...head, el("p", { class: "muted" }, "No applications yet.")];
  const apps = treeOrder(data.apps.filter(shown));
  const rows = apps.map(([app, depth]) => el("tr", { "data-app": app.name, "data-depth": depth },
    el("td", { style: `padding-left: ${0.5 + 1.25 * depth}em` }, depth ? el("span", { class: "muted" }, "↳ ") : null, appLink(app.name)),
    el("td", {}, app.project),
    el("td", { class: "mono" }, `${app.source.repoURL} @ ${app.source.targetRevision}`, el("br"), app.source.path || "."),
    el("td", {}, app.targets.length ? app.targets.map((t) => el("div", { class: "target", "data-cluster": t.cluster },
      el("span", { class: "cluster" }, t.cluster), " ", badge("sync", t.sync), " ", badge("health", t.health),
      t.operationPhase === "Running" ? el("span", { class: "muted" }, " syncing…") : null)) : null,
      app.errors.map((e) => el("div", { class: "error-text" }, e))),
    el("td", {}, policyText(app.syncPolicy))));
  return [...head, filterBar(fleet),
    el("p", { class: "muted", id: "shown" }, `${apps.length} of ${data.apps.length} apps`),
    el("table", { class: "apps" },
      el("thead", {}, el("tr", {}, ["Name", "Project", "Source", "Clusters", "Sync policy"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))];
}

// Apps in tree order: each parent (app of apps) followed by its children, indented; an
// app whose parent is not shown starts a tree of its own.
function treeOrder(apps) {
  const byName = new Map(apps.map((a) => [a.name, a]));
  const found = [];
  const seen = new Set();
  const visit = (app, depth) => {
    if (seen.has(app.name)) return;
    seen.add(app.name);
    found.push([app, depth]);
    (app.children || []).forEach((name) => byName.has(name) && visit(byName.get(name), depth + 1));
  };
  apps.filter((a) => !a.parent || !byName.has(a.parent)).forEach((a) => visit(a, 0));
  apps.forEach((a) => visit(a, 0));
  return found;
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
  const syncBody = () => Object.assign(chosen(), state.prune ? { prune: true } : {});
  const actions = el("div", { class: "actions" }, select,
    el("label", { class: "option" }, el("input", { type: "checkbox", id: "sync-prune", checked: state.prune, onchange: (e) => { state.prune = e.target.checked; } }), " prune"),
    el("label", { class: "option" }, el("input", { type: "checkbox", id: "sync-dry-run", checked: state.dryRun, onchange: (e) => { state.dryRun = e.target.checked; } }), " dry run"),
    el("button", { id: "sync", onclick: () => syncOrDryRun(app.name, syncBody(), "Sync") }, "Sync"),
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
      el("dt", {}, "Sync policy"), el("dd", {}, policyText(app.syncPolicy)),
      app.parent ? [el("dt", {}, "Parent"), el("dd", { id: "parent" }, appLink(app.parent))] : null,
      app.children && app.children.length ? [el("dt", {}, "Children"),
        el("dd", { id: "children" }, app.children.flatMap((c, i) => [i ? ", " : "", appLink(c)]))] : null),
    app.errors.map((e) => el("p", { class: "error-text" }, e)),
    app.warnings.map((w) => el("p", { class: "warning-text" }, `warning: ${w}`)),
    app.rollout ? rolloutSection(path, app.rollout) : null,
    app.targets.map((t) => targetSection(app.name, t)),
    historySection(path, history),
  ];
}

// The app's progressive rollout: its commit, step, who has it, why it stopped.
function rolloutSection(path, r) {
  const kind = r.phase === "Halted" ? "health-Degraded" : r.phase === "Completed" ? "health-Healthy" : "health-Progressing";
  return el("section", { class: "rollout", "data-rollout": r.phase },
    el("h2", {}, "Rollout ", el("span", { class: `badge ${kind}` }, r.phase), ` ${short(r.revision)}, step ${r.step} of ${r.steps}`),
    el("p", {}, `On ${r.admitted.length ? r.admitted.join(", ") : "no cluster yet"}.`,
      r.pauseLeft ? ` Paused ${r.pauseLeft}s more.` : ""),
    r.failed ? el("p", { class: "error-text" }, `Halted by ${r.failed}: ${r.reason}${r.rolledBack ? "; its clusters went back to the commit they ran" : ""}.`) : null,
    r.waitingApproval ? el("button", { id: "approve", onclick: () => act(`${path}/rollout/approve`, undefined, "Approve") }, "Approve the next step") : null);
}

async function showDiff(app, cluster) {
  const key = `${app}/${cluster}`;
  state.diffs[key] = { loading: true };
  redraw();
  try {
    const found = await api(`/apps/${encodeURIComponent(app)}/diff?cluster=${encodeURIComponent(cluster)}`);
    state.diffs[key] = found.targets[0];
  } catch (err) {
    state.diffs[key] = { error: err.message, objects: [] };
  }
  redraw();
}

// One cluster's comparison: each differing object, who drifted which field, its diff.
function diffSection(app, cluster) {
  const found = state.diffs[`${app}/${cluster}`];
  if (!found) return null;
  const close = el("button", { onclick: () => { delete state.diffs[`${app}/${cluster}`]; redraw(); } }, "Close");
  if (found.loading) return el("div", { class: "diff" }, el("p", { class: "muted" }, "Comparing with Git…"));
  if (found.error) return el("div", { class: "diff" }, el("p", { class: "error-text" }, found.error), close);
  const differing = found.objects.filter((o) => (found.dryRun ? o.action !== "none" : o.sync !== "Synced"));
  const title = found.dryRun ? `Dry run of a sync: ${differing.length} of ${found.objects.length} object(s) would change, nothing written `
    : `Diff with Git: ${differing.length} of ${found.objects.length} object(s) differ `;
  const line = (text) => el("div", { class: text.startsWith("+") && !text.startsWith("+++") ? "add" : text.startsWith("-") && !text.startsWith("---") ? "del" : "" }, text || " ");
  return el("div", { class: "diff", "data-diff": cluster },
    el("h3", {}, title, close),
    differing.map((o) => el("div", { class: "object-diff", "data-object": `${o.kind}/${o.name}` },
      el("h4", {}, o.action ? el("span", { class: "action", "data-action": o.action }, `${o.action === "keep" ? "keep (prune off)" : o.action} `) : null,
        `${o.group ? `${o.kind}.${o.group}` : o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name} `, badge("sync", o.sync), el("span", { class: "muted" }, ` ${o.reason}`)),
      o.drift.length ? el("ul", { class: "drift" }, o.drift.map((d) => el("li", {}, el("span", { class: "mono" }, d.path),
        d.manager ? ` changed by ${d.manager}${d.subresource ? ` via ${d.subresource}` : ""} (${d.operation}) ${ago(d.time)}` : " (no other field manager owns it)"))) : null,
      el("pre", { class: "unified" }, o.diff.replace(/\n$/, "").split("\n").map(line)))));
}

// ---- resource graph: boxes per object, an edge from each owner to what it owns ----

const SVG = "http://www.w3.org/2000/svg";
const BOX = { w: 230, h: 46, gapX: 56, gapY: 10 };

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function nodeId(n) { return `${n.group}/${n.kind}/${n.namespace}/${n.name}`; }

// Columns by depth; rows so that each owner sits level with its first child.
function layout(nodes) {
  const children = new Map();
  const roots = [];
  for (const n of nodes) {
    if (n.parent) {
      const p = nodeId(n.parent);
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(n);
    } else roots.push(n);
  }
  const placed = new Map();
  let row = 0;
  const place = (n, depth) => {
    const kids = children.get(nodeId(n)) || [];
    const at = row;
    placed.set(nodeId(n), { n, depth, row: at });
    if (!kids.length) row += 1;
    kids.forEach((k) => place(k, depth + 1));
  };
  roots.sort((a, b) => (a.kind + a.name).localeCompare(b.kind + b.name)).forEach((r) => place(r, 0));
  return { placed, rows: Math.max(row, 1), depth: Math.max(0, ...[...placed.values()].map((p) => p.depth)) + 1 };
}

function graph(tree) {
  const { placed, rows, depth } = layout(tree.nodes);
  const x = (d) => 4 + d * (BOX.w + BOX.gapX);
  const y = (r) => 4 + r * (BOX.h + BOX.gapY);
  const edges = [];
  const boxes = [];
  for (const { n, depth: d, row: r } of placed.values()) {
    if (n.parent && placed.has(nodeId(n.parent))) {
      const p = placed.get(nodeId(n.parent));
      const x1 = x(p.depth) + BOX.w, y1 = y(p.row) + BOX.h / 2, x2 = x(d), y2 = y(r) + BOX.h / 2;
      edges.push(svg("path", { class: "edge", d: `M${x1},${y1} C${x1 + BOX.gapX / 2},${y1} ${x2 - BOX.gapX / 2},${y2} ${x2},${y2}` }));
    }
    const name = n.name.length > 30 ? `${n.name.slice(0, 29)}…` : n.name;
    boxes.push(svg("g", { class: `node health-${n.health || "none"}${n.managed ? " managed" : ""}`, "data-node": `${n.kind}/${n.name}`, transform: `translate(${x(d)},${y(r)})` },
      svg("title", {}, `${n.kind} ${n.namespace ? `${n.namespace}/` : ""}${n.name}\nhealth: ${n.health || "—"}${n.sync ? `\nsync: ${n.sync}` : ""}${n.message ? `\n${n.message}` : ""}`),
      svg("rect", { class: "box", width: BOX.w, height: BOX.h, rx: 5 }),
      svg("rect", { class: "stripe", width: 6, height: BOX.h, rx: 2 }),
      svg("text", { x: 14, y: 17, class: "kind" }, n.kind, n.sync && n.sync !== "Synced" ? ` · ${n.sync}` : ""),
      svg("text", { x: 14, y: 35, class: "name" }, name)));
  }
  return svg("svg", { class: "graph", width: x(depth) + 4, height: y(rows) + 4, role: "img", "aria-label": "resource graph" }, edges, boxes);
}

function graphSection(app, cluster) {
  const key = `${app}/${cluster}`;
  if (!state.graphs.has(key)) return null;
  const tree = state.trees[key];
  const body = !tree ? el("p", { class: "muted" }, "Reading the live objects…")
    : tree.error ? el("p", { class: "error-text" }, tree.error)
      : !tree.nodes.length ? el("p", { class: "muted" }, "No resources recorded yet.")
        : el("div", { class: "graph-box" }, graph(tree));
  return el("div", { class: "graph-section", "data-graph": cluster }, body,
    tree && tree.cut && tree.cut.length ? el("p", { class: "muted" }, `only the first objects of: ${tree.cut.join(", ")}`) : null);
}

function toggleGraph(app, cluster) {
  const key = `${app}/${cluster}`;
  if (state.graphs.has(key)) state.graphs.delete(key);
  else state.graphs.add(key);
  tick();
}

async function readTrees(app) {
  const wanted = [...state.graphs].filter((k) => k.startsWith(`${app}/`));
  await Promise.all(wanted.map(async (key) => {
    const cluster = key.slice(app.length + 1);
    try {
      const found = await api(`/apps/${encodeURIComponent(app)}/tree?cluster=${encodeURIComponent(cluster)}`);
      state.trees[key] = found.targets[0];
    } catch (err) {
      if (err instanceof LoginNeeded) throw err;
      state.trees[key] = { error: err.message, nodes: [] };
    }
  }));
}

function targetSection(app, t) {
  const op = t.operation;
  return el("section", { class: "target-detail", "data-cluster": t.cluster },
    el("h2", {}, t.cluster, " ", badge("sync", t.sync), " ", badge("health", t.health), " ",
      el("button", { class: "diff-button", onclick: () => showDiff(app, t.cluster) }, "Diff (dry run)"), " ",
      el("button", { class: "graph-button", onclick: () => toggleGraph(app, t.cluster) }, state.graphs.has(`${app}/${t.cluster}`) ? "List" : "Graph"), " ",
      selection(t.cluster).length ? el("button", { class: "sync-selected", onclick: () => {
        const body = { cluster: t.cluster, resources: selection(t.cluster) };
        if (state.prune) body.prune = true;
        if (!state.dryRun) state.selected = new Set([...state.selected].filter((s) => JSON.parse(s)[0] !== t.cluster));
        syncOrDryRun(app, body, `Sync of ${body.resources.length} selected`);
      } }, `Sync ${selection(t.cluster).length} selected`) : null),
    diffSection(app, t.cluster),
    el("p", { class: "muted" }, `namespace ${t.namespace || "—"} · path ${t.path || "."} · synced ${short(t.revision)} · wanted ${short(t.resolvedRevision)} · checked ${ago(t.reconciledAt)}`),
    t.healthMessage ? el("p", {}, t.healthMessage) : null,
    op ? el("p", { class: "operation" }, "Last operation: ", badge("phase", op.phase),
      ` ${short(op.revision)} by ${op.trigger}, ${ago(op.finishedAt || op.startedAt)}`, op.message ? ` — ${op.message}` : "") : null,
    t.conditions.length ? el("ul", { class: "conditions" }, t.conditions.map((c) =>
      el("li", {}, el("strong", {}, `${c.type} ${c.reason}`), ": ", c.message))) : null,
    state.graphs.has(`${app}/${t.cluster}`) ? graphSection(app, t.cluster) : resourceTree(t.cluster, t.resources));
}

function selection(cluster) {
  return [...state.selected].map((s) => JSON.parse(s)).filter((s) => s[0] === cluster)
    .map(([, group, kind, namespace, name]) => ({ group, kind, namespace, name }));
}

function selectBox(cluster, r) {
  const id = JSON.stringify([cluster, r.group || "", r.kind, r.namespace || "", r.name]);
  return el("input", { type: "checkbox", class: "select", title: "select for a selective sync", checked: state.selected.has(id),
    onchange: (e) => { if (e.target.checked) state.selected.add(id); else state.selected.delete(id); tick(); } });
}

// Resources grouped namespace → kind → name; cluster-scoped objects first.
function resourceTree(cluster, resources) {
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
    selectBox(cluster, r), " ", el("span", { class: "name" }, r.name), " ", badge("sync", r.sync),
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

// ---- plan: what a revision would do to every app and cluster (dry runs, nothing written) ----

async function runPlan() {
  const plan = state.plan;
  if (!plan.revision.trim()) { plan.error = "Name a revision to plan."; redraw(); return; }
  const query = new URLSearchParams({ revision: plan.revision.trim() });
  if (plan.base.trim()) query.set("base", plan.base.trim());
  for (const app of plan.apps.split(",").map((a) => a.trim()).filter(Boolean)) query.append("app", app);
  Object.assign(plan, { loading: true, error: "", result: null });
  redraw();
  try {
    plan.result = await api(`/plan?${query}`);
  } catch (err) {
    plan.error = err.message;
  }
  plan.loading = false;
  redraw();
}

function planPage() {
  const plan = state.plan;
  const field = (id, label, key, hint) => el("label", { class: "option" }, `${label} `,
    el("input", { id, value: plan[key], placeholder: hint, oninput: (e) => { plan[key] = e.target.value; } }));
  const form = el("div", { class: "actions" },
    field("plan-revision", "Revision", "revision", "branch, tag or commit"),
    field("plan-base", "Base", "base", "default: each app's own"),
    field("plan-apps", "Apps", "apps", "all you may read"),
    el("button", { id: "plan-run", disabled: plan.loading, onclick: runPlan }, "Plan"));
  const out = [el("h1", {}, "Plan a revision"), el("p", { class: "muted" },
    "What syncing every target at a revision would do, by server-side dry runs against the live clusters. Nothing is written."), form];
  if (plan.loading) out.push(el("p", { class: "muted" }, "Planning…"));
  if (plan.error) out.push(el("p", { class: "error-text" }, plan.error));
  const found = plan.result;
  if (!found) return out;
  const s = found.summary;
  out.push(el("p", { id: "plan-summary" }, `${s.Changes} of ${s.targets} target(s) change (${s.appsChanging} app(s) on ${s.clustersChanging} cluster(s)): `
    + `${s.created} created, ${s.changed} updated, ${s.pruned} deleted by prune; ${s.pruneHeld} prune(s) held, ${s.Blocked} blocked, ${s.Error} failed, ${s.Unchanged} unchanged, ${s.Skipped} skipped.`));
  const count = (t, action) => t.objects.filter((o) => o.action === action).length;
  out.push(el("table", { class: "plan" },
    el("thead", {}, el("tr", {}, ["App", "Cluster", "State", "Create", "Update", "Prune", "Note"].map((h) => el("th", {}, h)))),
    el("tbody", {}, found.targets.map((t) => el("tr", { "data-target": `${t.app}@${t.cluster}` },
      el("td", {}, appLink(t.app)), el("td", {}, t.cluster), el("td", {}, el("span", { class: `badge plan-${t.state}` }, t.state)),
      el("td", {}, count(t, "create")), el("td", {}, count(t, "update")), el("td", {}, count(t, "prune")),
      el("td", {}, t.pruneHeld ? `prune held: ${t.pruneHeld}` : count(t, "keep") ? `${count(t, "keep")} left (prune off)` : t.message))))));
  for (const t of found.targets.filter((x) => x.objects.length)) {
    out.push(el("details", { class: "diff", "data-plan": `${t.app}@${t.cluster}` },
      el("summary", {}, `${t.app} on ${t.cluster}: ${t.objects.length} object(s)`),
      t.objects.map((o) => el("div", { class: "object-diff" },
        el("h4", {}, el("span", { class: "action", "data-action": o.action }, `${o.action} `),
          `${o.group ? `${o.kind}.${o.group}` : o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`,
          o.paths.length ? el("span", { class: "muted" }, ` ${o.paths.join(", ")}`) : null),
        o.diff ? el("pre", { class: "unified" }, o.diff) : null))));
  }
  return out;
}

// ---- loop ----

// The page the location names: "/", "/matrix", "/clusters", "/plan" or "/apps/<name>".
function route() {
  return decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
}

async function load() {
  if (!state.user) state.user = (await api("/session")).username;
  const hash = route();
  if (hash.startsWith("/apps/")) {
    const name = hash.slice("/apps/".length);
    const path = `/apps/${encodeURIComponent(name)}`;
    const [app, history] = await Promise.all([api(path), api(`${path}/history`), readTrees(name)]);
    return appPage(app, history.history);
  }
  if (hash === "/clusters") return clustersPage(await api("/clusters"));
  if (hash === "/plan") return planPage();
  const [apps, clusters, deletions] = await Promise.all([api("/apps"), api("/clusters"), api("/deletions")]);
  state.fleet = { apps: apps.apps, sourceErrors: apps.sourceErrors, clusters: clusters.clusters, deletions: deletions.deletions };
  return fleetPage();
}

function fleetPage() {
  const hash = route();
  return hash === "/matrix" ? matrixPage(state.fleet) : appsPage(state.fleet);
}

// Put ``nodes`` on the page, keeping the focus (and caret) of a filter being typed in.
function show(nodes) {
  const focused = document.activeElement && document.activeElement.id;
  const caret = focused && document.activeElement.selectionStart;
  document.getElementById("main").replaceChildren(...nodes.flat().filter(Boolean));
  const again = focused && document.getElementById(focused);
  if (again) {
    again.focus();
    if (typeof caret === "number" && again.setSelectionRange) again.setSelectionRange(caret, caret);
  }
}

// Redraw from what was read last (a filter, a diff shown), without asking the hub.
function redraw() {
  const hash = route();
  if (state.fleet && (hash === "/" || hash === "/matrix")) show(fleetPage());
  else tick();
}

async function tick() {
  clearTimeout(state.timer);
  if (state.busy) { state.again = true; return; }  // redraw once more when this one ends
  state.busy = true;
  state.again = false;
  let again = true;
  try {
    show(await load());
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

window.addEventListener("hashchange", () => {
  document.getElementById("flash").hidden = true;
  state.diffs = {};
  state.selected = new Set();
  tick();
});
tick();
