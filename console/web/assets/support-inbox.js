// The console's support inbox: requests filtered by state and category (both lists from the
// API's schema), a request with its requester's plan, balance and recent tasks, replies and
// closing.

import { api, h, when, showError, clearErrors } from "./api.js";

const $ = (id) => document.getElementById(id);
const label = (value) => value[0].toUpperCase() + value.slice(1).replaceAll("_", " ");
let shown = null;

async function fillFilters() {
  if ($("filter-state").options.length) return;
  const { SupportState, SupportCategory } = (await api("/openapi.json")).components.schemas;
  const options = (values, any) => [h("option", { value: "" }, any), ...values.map((v) => h("option", { value: v }, label(v)))];
  $("filter-state").replaceChildren(...options(SupportState.enum, "Any state"));
  $("filter-category").replaceChildren(...options(SupportCategory.enum, "Any category"));
  $("filter-state").value = "open";
}

export async function loadSupport() {
  await fillFilters();
  const query = new URLSearchParams();
  for (const name of ["state", "category"]) {
    const value = $(`filter-${name}`).value;
    if (value) query.set(name, value);
  }
  const { requests } = await api(`/admin/support?${query}`);
  $("support-rows").replaceChildren(...requests.map((r) => h("tr", {},
    h("td", {}, when(r.updated_at)),
    h("td", {}, h("a", { href: `#request/${r.id}` }, r.subject)),
    h("td", {}, r.email ?? (r.user_id ? h("a", { href: `#user/${r.user_id}` }, "account") : "—")),
    h("td", {}, label(r.category)),
    h("td", {}, h("span", { class: `badge ${r.state}` }, label(r.state))))));
  if (!requests.length) $("support-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No requests match.")));
}

for (const id of ["filter-state", "filter-category"]) {
  $(id).addEventListener("change", () => loadSupport().catch((err) => ($("page-error").textContent = err.message)));
}

export async function loadRequest(id) {
  const { request, requester } = await api(`/admin/support/${encodeURIComponent(id)}`);
  shown = request;
  $("request-title").textContent = request.subject;
  $("request-meta").textContent = `${label(request.category)} · ${label(request.state)} · opened ${when(request.created_at)}${request.task_id ? ` · about task ${request.task_id}` : ""}`;
  $("request-messages").replaceChildren(...request.messages.map((m) => h("li", { class: `message ${m.author}` },
    h("p", { class: "hint" }, `${m.author === "support" ? "Support" : "Requester"}, ${when(m.created_at)}`),
    h("p", { class: "body" }, m.body))));
  $("requester-detail").replaceChildren(requester
    ? h("div", {},
      h("p", {}, h("a", { href: `#user/${requester.id}` }, requester.email), ` (${requester.name})`),
      h("p", {}, `Plan ${requester.plan}, balance ${requester.credits} credits.`),
      h("ul", {}, ...requester.recent_tasks.map((t) => h("li", {},
        h("a", { href: `#job/${t.id}` }, t.id.slice(0, 12)), ` ${t.mode}, ${t.status}, ${when(t.created_at)}`))))
    : h("p", {}, `A visitor: answer at ${request.email}.`));
}

$("reply-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("reply-alert"));
  try {
    await api(`/admin/support/${shown.id}/reply`, { method: "POST", body: { message: $("reply-message").value } });
    form.reset();
    await loadRequest(shown.id);
  } catch (err) {
    showError(err, form, $("reply-alert"));
  }
});

$("close-request").addEventListener("click", async () => {
  try {
    await api(`/admin/support/${shown.id}/state`, { method: "POST", body: { state: "closed" } });
    await loadRequest(shown.id);
  } catch (err) {
    $("reply-alert").textContent = err.message;
  }
});
