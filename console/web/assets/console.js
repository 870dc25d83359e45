// The operators' console: live overview charts (uPlot), workers, jobs with their attempts and
// actions, users with credit adjustments, usage and the audit log. The hash names the view.

import uPlot from "/vendor/uplot/uPlot.esm.js";
import { api, h, when, duration, showError, clearErrors } from "./api.js";
import { loadSupport, loadRequest } from "./support-inbox.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
const JOBS_PAGE = 20;
let windowName = "1h";
let timer = null;
const charts = {};
let jobsCursor = null;
let jobsShown = 0;

const VIEWS = ["overview", "workers", "jobs", "job", "users", "user", "usage", "billing", "audit", "support", "request"];

async function route() {
  const [view, id] = (location.hash.replace(/^#/, "") || "overview").split("/");
  const target = VIEWS.includes(view) ? view : "overview";
  for (const v of VIEWS) $(`view-${v}`).classList.toggle("hidden", v !== target);
  const navTarget = { job: "jobs", user: "users", request: "support" }[target] ?? target;
  document.querySelectorAll("nav a").forEach((a) =>
    a.getAttribute("href") === `#${navTarget}` ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current"));
  clearInterval(timer);
  $("page-error").textContent = "";
  if (target === "jobs") jobsShown = 0;
  const load = { overview: loadOverview, workers: loadWorkers, jobs: () => loadJobs(false), job: () => loadJob(id),
    users: loadUsers, user: () => loadUser(id), usage: loadUsage, billing: loadBilling, audit: loadAudit,
    support: loadSupport, request: () => loadRequest(id) }[target];
  await guarded(load);
  // Live views refresh every few seconds.
  if (["overview", "workers", "jobs"].includes(target)) {
    timer = setInterval(() => guarded(target === "jobs" ? () => loadJobs(false) : load), REFRESH_MS);
  }
  document.title = `${$(`view-${target}`).querySelector("h1").textContent} · Lithos console`;
}

async function guarded(load) {
  try {
    await load();
  } catch (err) {
    if (err.status === 401) { location.href = "/?next=/console#login"; return; }
    $("page-error").textContent = err.message;
  }
}

// ---- overview -------------------------------------------------------------------------

document.querySelectorAll("[data-window]").forEach((b) =>
  b.addEventListener("click", () => {
    windowName = b.dataset.window;
    document.querySelectorAll("[data-window]").forEach((o) => o.setAttribute("aria-pressed", String(o === b)));
    guarded(loadOverview);
  }));

function chart(id, series, data, axes = [{}, { size: 60, values: ticks }]) {
  const el = $(id);
  const width = Math.max(el.clientWidth, 260);
  if (charts[id] && charts[id].series.length === series.length + 1) {
    charts[id].setData(data);
    return;
  }
  charts[id]?.destroy();
  charts[id] = new uPlot({
    width, height: 200,
    series: [{}, ...series],
    axes,
    legend: { live: false },
  }, data, el);
}

const palette = ["#0b62c4", "#b3261e", "#1b7f3b", "#8a5a00"];
const compact = new Intl.NumberFormat("en", { notation: "compact", maximumSignificantDigits: 3 });
const ticks = (u, values) => values.map((v) => (v == null ? "" : compact.format(v)));

async function loadOverview() {
  const o = await api(`/admin/overview?window=${windowName}`);
  for (const k of ["processed", "failed", "running", "queued"]) $(`count-${k}`).textContent = o.counts[k].toLocaleString();
  $("total-p50").textContent = duration(o.totals.p50_ms);
  $("total-p95").textContent = duration(o.totals.p95_ms);
  $("total-wait").textContent = duration(o.totals.queue_latency_p50_ms);
  $("updated").textContent = `Window ${o.window}, ${o.bucket_seconds} s buckets; updated ${new Date(o.now).toLocaleTimeString()}.`;
  const s = o.series;
  const line = (label, i, scale = "y") => ({ label, stroke: palette[i], width: 2, scale, spanGaps: true, points: { show: true, size: 4 } });
  chart("chart-jobs", [line("succeeded/min", 0), line("failed/min", 1)], [s.t, s.jobs_per_minute, s.failed_per_minute]);
  chart("chart-throughput", [line("megapixels/s", 0, "mp"), line("triangles/s", 2, "tri")], [s.t, s.megapixels_per_second, s.triangles_per_second],
    [{}, { scale: "mp", size: 60, values: ticks }, { scale: "tri", side: 1, size: 60, values: ticks, grid: { show: false } }]);
  chart("chart-latency", [line("wait ms (p50)", 3)], [s.t, s.queue_latency_ms]);
  chart("chart-duration", [line("p50 ms", 0), line("p95 ms", 1)], [s.t, s.p50_ms, s.p95_ms]);
}

// ---- billing --------------------------------------------------------------------------

let inboxStatus = "";
const money = (minor, currency) => `${(minor / 100).toFixed(2)} ${currency || ""}`.trim();

async function loadBilling() {
  const form = new FormData($("billing-filter"));
  const query = new URLSearchParams({ q: form.get("q") ?? "", kind: form.get("kind") ?? "" });
  const b = await api(`/admin/billing?${query}`);
  const t = b.days.map((d) => d.day / 1000);
  const bars = (label, i) => ({ label, stroke: palette[i], fill: `${palette[i]}33`, width: 1, paths: uPlot.paths.bars({ size: [0.8, 40] }) });
  chart("chart-revenue", [bars("paid", 0), bars("refunded", 1), bars("disputed", 3)],
    [t, b.days.map((d) => d.paid), b.days.map((d) => d.refunded), b.days.map((d) => d.disputed)]);
  chart("chart-subscriptions", [{ label: "active", stroke: palette[2], width: 2 }], [t, b.days.map((d) => d.active_subscriptions)]);
  const account = (id, email) => h("a", { href: `#user/${id}` }, email);
  $("hold-rows").replaceChildren(...b.holds.map((x) => h("tr", {},
    h("td", {}, account(x.user_id, x.email)), h("td", {}, when(x.billing_hold_at)),
    h("td", {}, x.billing_hold_reason ?? ""), h("td", {}, x.balance),
    h("td", {}, h("button", { type: "button", "aria-label": `Clear the hold on ${x.email}`, onclick: () => clearHold(x) }, "Clear hold")))));
  if (!b.holds.length) $("hold-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No account is on hold.")));
  $("payment-rows").replaceChildren(...b.payments.map((p) => h("tr", {},
    h("td", {}, when(p.created_at)), h("td", {}, account(p.user_id, p.email)),
    h("td", {}, p.kind === "pack" ? `pack ${p.product}` : `${p.product} period`),
    h("td", {}, money(p.amount_paid, p.currency)),
    h("td", {}, `+${p.credits}${p.clawed_back ? ` (−${p.clawed_back})` : ""}`),
    h("td", { class: "mono" }, p.transaction_id))));
  if (!b.payments.length) $("payment-rows").append(h("tr", {}, h("td", { colspan: 6 }, "No payments.")));
  $("reversal-rows").replaceChildren(...b.reversals.map((r) => h("tr", {},
    h("td", {}, when(r.created_at)), h("td", {}, account(r.user_id, r.email)),
    h("td", {}, h("span", { class: `badge ${r.kind === "dispute" ? "failed" : "queued"}` }, r.kind)),
    h("td", {}, money(r.amount, r.currency)), h("td", {}, r.credits), h("td", {}, r.shortfall))));
  if (!b.reversals.length) $("reversal-rows").append(h("tr", {}, h("td", { colspan: 6 }, "No refunds or disputes.")));
  $("subscription-rows").replaceChildren(...b.subscriptions.map((x) => h("tr", {},
    h("td", {}, account(x.user_id, x.email)), h("td", {}, x.plan),
    h("td", {}, h("span", { class: "badge" }, x.status)), h("td", {}, when(x.period_end)), h("td", {}, when(x.updated_at)))));
  if (!b.subscriptions.length) $("subscription-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No subscriptions.")));
  await loadInbox();
}

async function loadInbox() {
  const { events } = await api(`/admin/billing/events${inboxStatus ? `?status=${inboxStatus}` : ""}`);
  $("inbox-rows").replaceChildren(...events.map((e) => h("tr", {},
    h("td", {}, when(e.received_at)), h("td", {}, e.event_type, h("div", { class: "hint mono" }, e.id)),
    h("td", {}, h("span", { class: `badge ${e.status === "processed" ? "succeeded" : e.status === "failed" ? "failed" : "queued"}` }, e.status)),
    h("td", {}, e.waiting_on ? `waiting on ${e.waiting_on}` : e.error ?? ""),
    h("td", {}, h("details", {}, h("summary", {}, "Payload"), h("pre", { class: "mono" }, JSON.stringify(JSON.parse(e.payload), null, 2)))))));
  if (!events.length) $("inbox-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No events.")));
}

async function clearHold(x) {
  const reason = prompt(`Why clear the billing hold on ${x.email}? (kept in the audit log)`);
  if (!reason) return;
  try {
    await api(`/admin/users/${x.user_id}/billing-hold/clear`, { method: "POST", body: { reason } });
    await loadBilling();
  } catch (err) {
    $("page-error").textContent = err.message;
  }
}

$("billing-filter").addEventListener("submit", (e) => { e.preventDefault(); guarded(loadBilling); });
document.querySelectorAll("[data-inbox]").forEach((b) =>
  b.addEventListener("click", () => {
    inboxStatus = b.dataset.inbox;
    document.querySelectorAll("[data-inbox]").forEach((o) => o.setAttribute("aria-pressed", String(o === b)));
    guarded(loadInbox);
  }));

// ---- workers --------------------------------------------------------------------------

async function loadWorkers() {
  const { workers, queue } = await api("/admin/workers?limit=100");
  $("queue-depth").textContent = `Queue: ${queue.queued} queued, ${queue.running} running.`;
  $("worker-rows").replaceChildren(...workers.map((w) => h("tr", {},
    h("td", {}, `${w.hostname} · ${w.pid}`, h("div", { class: "hint" }, w.kind)),
    h("td", {}, h("span", { class: `badge ${w.status}` }, w.status)),
    h("td", {}, `${w.backend} · ${w.adapter}`),
    h("td", {}, `${w.busy} / ${w.concurrency}`),
    h("td", {}, w.jobs_done), h("td", {}, w.jobs_failed),
    h("td", {}, w.jobs_per_minute.toFixed(1)),
    h("td", {}, when(w.last_seen)), h("td", {}, w.version))));
  if (!workers.length) $("worker-rows").append(h("tr", {}, h("td", { colspan: 9 }, "No workers have registered.")));
}

// ---- jobs -----------------------------------------------------------------------------

$("job-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  jobsShown = 0; // New filters start from one page.
  guarded(() => loadJobs(false));
});
$("jobs-more").addEventListener("click", () => guarded(() => loadJobs(true)));

function jobRow(j) {
  return h("tr", {},
    h("td", {}, when(j.created_at)),
    h("td", { class: "mono" }, h("a", { href: `#job/${j.id}` }, j.id.slice(0, 12))),
    h("td", {}, h("a", { href: `#user/${j.user_id}` }, j.email)),
    h("td", {}, j.mode),
    h("td", {}, h("span", { class: `badge ${j.status}` }, j.status),
      j.status === "running" ? ` ${Math.round(j.progress * 100)}%` : ""),
    h("td", {}, j.attempts), h("td", {}, j.cost));
}

/// The jobs list: `more` appends the next page; otherwise the list is loaded again from the
/// top, as long as it was (so a refresh keeps the rows "More" brought in).
async function loadJobs(more) {
  const params = new URLSearchParams(new FormData($("job-filters")));
  for (const [k, v] of [...params]) if (!v) params.delete(k);
  params.set("limit", JOBS_PAGE);
  if (more) {
    if (jobsCursor) params.set("cursor", jobsCursor);
    const { jobs, next_cursor } = await api(`/admin/jobs?${params}`);
    $("job-rows").append(...jobs.map(jobRow));
    jobsShown += jobs.length;
    jobsCursor = next_cursor;
  } else {
    const wanted = Math.max(jobsShown, 1);
    const jobs = [];
    let cursor = null;
    do {
      if (cursor) params.set("cursor", cursor);
      const page = await api(`/admin/jobs?${params}`);
      jobs.push(...page.jobs);
      cursor = page.next_cursor;
    } while (cursor && jobs.length < wanted);
    $("job-rows").replaceChildren(...jobs.map(jobRow));
    if (!jobs.length) $("job-rows").append(h("tr", {}, h("td", { colspan: 7 }, "No jobs match.")));
    jobsShown = jobs.length;
    jobsCursor = cursor;
  }
  $("jobs-more").classList.toggle("hidden", !jobsCursor);
}

async function loadJob(id) {
  const j = await api(`/admin/jobs/${encodeURIComponent(id)}`);
  $("job-title").textContent = `Job ${j.id.slice(0, 12)}`;
  const act = (label, cls, fn) => h("button", { type: "button", class: cls, onclick: fn }, label);
  const actions = h("p", { class: "row" },
    ["failed", "canceled"].includes(j.status) ? act("Retry", "", () => action(j, "retry", "POST")) : null,
    ["queued", "running"].includes(j.status) ? act("Cancel", "secondary", () => action(j, "cancel", "POST")) : null,
    !["queued", "running"].includes(j.status) ? act("Delete", "danger", () => action(j, "", "DELETE")) : null,
    j.output_url ? h("a", { class: "button secondary", href: j.output_url, download: true }, "Download output") : null);
  const stages = j.stages ? Object.entries(j.stages) : [];
  $("job-body").replaceChildren(
    h("p", {}, h("span", { class: `badge ${j.status}` }, j.status), ` ${j.mode} · ${j.format} · ${j.cost} credits · `,
      h("a", { href: `#user/${j.user_id}` }, j.email)),
    actions,
    ...(j.result?.pictures ?? []).map((p) => h("img", {
      class: p === "thumbnail" ? "job-thumb" : "backlit",
      src: `/api/v1/admin/jobs/${encodeURIComponent(j.id)}/pictures/${p}`,
      alt: p === "thumbnail" ? "The output, shaded" : "The lithophane lit from behind",
    })),
    h("h2", {}, "Parameters"),
    h("pre", { class: "mono" }, JSON.stringify(j.params, null, 2)),
    h("p", {}, `Source: ${j.upload ? `${j.upload.filename}, ${j.upload.width} × ${j.upload.height}` : j.mode === "prompt" ? "a prompt, generated by the provider" : "text in the bundled font"}. Created ${when(j.created_at)}, started ${when(j.started_at)}, finished ${when(j.finished_at)}.`),
    j.error ? h("div", { class: "alert error" }, j.error) : null,
    h("h2", {}, "Attempts"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["#", "Worker", "Started", "Finished", "Outcome", "Error"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...(j.attempts.length ? j.attempts.map((a) => h("tr", {},
        h("td", {}, a.attempt), h("td", {}, a.hostname ?? a.worker_id.slice(0, 8)), h("td", {}, when(a.started_at)),
        h("td", {}, when(a.finished_at)), h("td", {}, h("span", { class: `badge ${a.outcome}` }, a.outcome)),
        h("td", {}, a.error ?? ""))) : [h("tr", {}, h("td", { colspan: 6 }, "Not claimed yet."))])))),
    h("h2", {}, "Stage timings"),
    stages.length ? h("table", {}, h("tbody", {}, ...stages.map(([name, s]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, duration(s * 1000))))))
      : h("p", { class: "hint" }, "Timings appear once the job has succeeded."),
    j.queue ? h("p", { class: "hint" }, `Queue: ${j.queue.state}, attempt ${j.queue.attempt} of ${j.queue.max_attempts}${j.queue.last_error ? `; last error: ${j.queue.last_error}` : ""}.`) : null,
  );
}

async function action(job, verb, method) {
  const what = verb || "delete";
  if (!confirm(`${what[0].toUpperCase()}${what.slice(1)} job ${job.id.slice(0, 12)}? This is written to the audit log.`)) return;
  try {
    await api(`/admin/jobs/${job.id}${verb ? `/${verb}` : ""}`, { method });
    if (method === "DELETE") { location.hash = "#jobs"; return; }
    $("job-notice").textContent = `${what} done.`;
    await loadJob(job.id);
  } catch (err) {
    $("page-error").textContent = err.message;
  }
}

// ---- users ----------------------------------------------------------------------------

$("user-search").addEventListener("submit", (e) => { e.preventDefault(); guarded(loadUsers); });

async function loadUsers() {
  const q = $("u-q").value.trim();
  const { users } = await api(`/admin/users?limit=100&q=${encodeURIComponent(q)}`);
  $("user-rows").replaceChildren(...users.map((u) => h("tr", {},
    h("td", {}, h("a", { href: `#user/${u.id}` }, u.email)), h("td", {}, u.name), h("td", {}, u.role),
    h("td", {}, u.plan), h("td", {}, u.credits),
    h("td", {}, u.disabled_at ? h("span", { class: "badge failed" }, "disabled") : when(u.created_at)))));
  if (!users.length) $("user-rows").append(h("tr", {}, h("td", { colspan: 6 }, "No accounts match.")));
}

let shownUser = null;

async function loadUser(id) {
  const u = await api(`/admin/users/${encodeURIComponent(id)}`);
  shownUser = u;
  $("user-title").textContent = u.email || "Deleted account";
  const stat = (value, label, id) => h("div", { class: "stat" }, h("div", { class: "value", id }, value), h("div", { class: "label" }, label));
  $("user-stats").replaceChildren(stat(u.balance, "Balance", "user-balance"), stat(u.plan, "Plan"), stat(u.role, "Role"), stat(u.tasks.length, "Recent tasks"));
  const billing = [
    u.creem_customers.length ? `Creem customer ${u.creem_customers.join(", ")}` : "No Creem customer",
    u.subscription ? `subscription ${u.subscription.id}: ${u.subscription.plan}, ${u.subscription.status}${u.subscription.period_end ? ` until ${when(u.subscription.period_end)}` : ""}` : "no subscription",
    u.billing_hold !== null ? `on a billing hold (${u.billing_hold}; clear it under Billing)` : null,
  ].filter(Boolean).join("; ");
  $("user-state").textContent = `${u.disabled_at ? `Disabled since ${when(u.disabled_at)}.` : `Active since ${when(u.created_at)}.`} ${billing}.`;
  $("toggle-disabled").textContent = u.disabled_at ? "Enable account" : "Disable account";
  $("toggle-disabled").className = u.disabled_at ? "" : "danger";
  $("user-ledger").replaceChildren(...u.ledger.map((e) => h("tr", {},
    h("td", {}, when(e.created_at)), h("td", {}, e.kind), h("td", {}, e.amount > 0 ? `+${e.amount}` : e.amount),
    h("td", {}, e.reason), h("td", { class: "mono" }, e.task_id ? h("a", { href: `#job/${e.task_id}` }, e.task_id.slice(0, 12)) : ""),
    h("td", { class: "mono" }, e.admin_id ? e.admin_id.slice(0, 12) : ""))));
  $("user-tasks").replaceChildren(...u.tasks.map((t) => h("tr", {},
    h("td", {}, when(t.created_at)), h("td", { class: "mono" }, h("a", { href: `#job/${t.id}` }, t.id.slice(0, 12))),
    h("td", {}, t.mode), h("td", {}, h("span", { class: `badge ${t.status}` }, t.status)), h("td", {}, t.cost))));
  $("user-keys").replaceChildren(...u.api_keys.map((k) => h("tr", {},
    h("td", {}, k.name), h("td", { class: "mono" }, `${k.prefix}…`), h("td", {}, when(k.created_at)),
    h("td", {}, when(k.last_used_at)), h("td", {}, k.revoked_at ? when(k.revoked_at) : "—"))));
}

$("adjust-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("adjust-alert"));
  const amount = Number($("adjust-amount").value);
  const reason = $("adjust-reason").value.trim();
  if (!Number.isInteger(amount) || amount === 0) {
    return showError({ field: "amount", message: "Enter a whole, non-zero number of credits." }, form, $("adjust-alert"));
  }
  if (!reason) return showError({ field: "reason", message: "Say why; the ledger keeps it." }, form, $("adjust-alert"));
  try {
    const r = await api(`/admin/users/${shownUser.id}/credits`, { method: "POST", body: { amount, reason } });
    form.reset();
    $("user-notice").textContent = `Adjusted by ${amount > 0 ? "+" : ""}${amount}; the balance is ${r.balance}.`;
    await loadUser(shownUser.id);
  } catch (err) {
    showError(err, form, $("adjust-alert"));
  }
});

$("toggle-disabled").addEventListener("click", async () => {
  const disabled = !shownUser.disabled_at;
  if (disabled && !confirm(`Disable ${shownUser.email}? Their sessions end and their API keys stop working.`)) return;
  try {
    await api(`/admin/users/${shownUser.id}/disable`, { method: "POST", body: { disabled } });
    $("user-notice").textContent = disabled ? "Account disabled." : "Account enabled.";
    await loadUser(shownUser.id);
  } catch (err) {
    $("page-error").textContent = err.message;
  }
});

$("delete-user-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("delete-user-alert"));
  const reason = $("delete-reason").value.trim();
  const child = $("delete-child").checked;
  if (!reason) return showError({ field: "reason", message: "Say why; the audit log keeps it." }, form, $("delete-user-alert"));
  if (!confirm(`Delete ${shownUser.email} and every file of theirs? This cannot be undone.`)) return;
  try {
    await api(`/admin/users/${shownUser.id}`, { method: "DELETE", body: { reason, child } });
    form.reset();
    $("user-notice").textContent = "Account deleted.";
    await loadUser(shownUser.id);
  } catch (err) {
    showError(err, form, $("delete-user-alert"));
  }
});

// ---- usage and audit ------------------------------------------------------------------

async function loadUsage() {
  const { days, modes } = await api("/admin/usage/daily?days=30");
  chart("chart-credits", [{ label: "credits", stroke: palette[0], fill: "rgba(11,98,196,.15)", width: 2 }],
    [days.map((d) => d.day / 1000), days.map((d) => d.credits)]);
  $("mode-rows").replaceChildren(...modes.map((m) => h("tr", {}, h("td", {}, m.mode), h("td", {}, m.tasks))));
  if (!modes.length) $("mode-rows").append(h("tr", {}, h("td", { colspan: 2 }, "No tasks in this period.")));
}

async function loadAudit() {
  const { entries } = await api("/admin/audit?limit=100");
  $("audit-rows").replaceChildren(...entries.map((a) => h("tr", {},
    h("td", {}, when(a.created_at)), h("td", {}, a.admin_email ?? "Lithos"), h("td", {}, a.action),
    h("td", { class: "mono" }, a.target_id.slice(0, 12)), h("td", {}, a.detail))));
  if (!entries.length) $("audit-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No actions yet.")));
}

window.addEventListener("hashchange", route);
route();
