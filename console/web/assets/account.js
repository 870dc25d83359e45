// The web app's account and support views: correcting the email, exporting one's data,
// deleting the account, and support requests (signed in, or as a visitor with an email).
// Categories and states come from the API's schema, like every other choice in the forms.

import { api, h, when, showError, clearErrors } from "./api.js";

const $ = (id) => document.getElementById(id);
const formData = (form) => Object.fromEntries(new FormData(form).entries());
const size = (bytes) => (bytes < 1e6 ? `${Math.max(1, Math.round(bytes / 1e3))} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
const label = (value) => value[0].toUpperCase() + value.slice(1).replaceAll("_", " ");

// ---- account --------------------------------------------------------------------------

export async function loadAccount(me, params) {
  $("account-email").textContent = me.email;
  // An account without a password confirms with a recent sign-in instead.
  for (const id of ["email-password-field", "delete-password-field"]) $(id).classList.toggle("hidden", !me.has_password);
  $("delete-recent").classList.toggle("hidden", me.has_password);
  showAvatar(me);
  await Promise.all([loadMethods(me, params), loadSessions()]);
}

// ---- sign-in methods ------------------------------------------------------------------

let providers = null;

/// The configured login providers (`[{id, name}]`), fetched once.
export async function loginProviders() {
  providers ??= (await api("/auth/providers")).providers;
  return providers;
}

/// A "Continue with …" link for each provider, in every `[data-providers]` box.
export async function showProviderButtons() {
  const list = await loginProviders();
  document.querySelectorAll("[data-providers]").forEach((box) => {
    box.querySelectorAll("a.provider").forEach((a) => a.remove());
    box.append(...list.map((p) =>
      h("a", { class: "button secondary provider", href: `/auth/${encodeURIComponent(p.id)}/start` }, `Continue with ${p.name}`)));
    box.classList.toggle("hidden", list.length === 0);
  });
}

async function loadMethods(me, params) {
  const [list, { identities: linked }] = await Promise.all([loginProviders(), api("/me/identities")]);
  const name = (id) => list.find((p) => p.id === id)?.name ?? id;
  $("methods-alert").textContent = params?.get("link_error") ?? "";
  $("methods-notice").textContent = params?.get("linked")
    ? `${name(params.get("linked"))} is linked: you can sign in with it.${params.get("password_disabled")
      ? " Your email address was never confirmed, so your password was turned off; set a new one through \"Forgot your password?\" if you want one." : ""}`
    : "";
  const unlink = async (identity) => {
    $("methods-alert").textContent = "";
    try {
      await api(`/me/identities/${encodeURIComponent(identity.id)}`, { method: "DELETE" });
      await loadMethods(me);
    } catch (err) {
      $("methods-alert").textContent = err.message;
    }
  };
  $("method-rows").replaceChildren(
    h("li", {}, me.has_password ? "Email and password" : "No password: set one through \"Forgot your password?\" on the log-in page"),
    ...linked.map((identity) => h("li", {},
      `${identity.provider_name}${identity.email ? ` (${identity.email})` : ""}, linked ${when(identity.created_at)} `,
      h("button", { type: "button", class: "secondary", onclick: () => unlink(identity) }, "Unlink"))));
  const link = async (provider) => {
    try {
      const { redirect_url } = await api("/me/identities", { method: "POST", body: { provider: provider.id } });
      location.href = redirect_url;
    } catch (err) {
      $("methods-alert").textContent = err.message;
    }
  };
  $("method-links").replaceChildren(...list.filter((p) => !linked.some((i) => i.provider === p.id)).map((p) =>
    h("button", { type: "button", class: "secondary", onclick: () => link(p) }, `Link ${p.name}`)));
}

function showAvatar(profile) {
  const img = $("avatar-image");
  img.classList.toggle("hidden", !profile.avatar_url);
  if (profile.avatar_url) img.src = profile.avatar_url;
  $("avatar-remove").classList.toggle("hidden", !profile.avatar_url);
}

$("avatar-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  $("avatar-alert").textContent = "";
  const file = $("avatar-file").files[0];
  if (!file) return ($("avatar-alert").textContent = "Choose an image first.");
  const body = new FormData();
  body.append("file", file);
  const response = await fetch("/api/v1/me/avatar", { method: "POST", body, credentials: "same-origin" });
  const answer = await response.json().catch(() => null);
  if (!response.ok) return ($("avatar-alert").textContent = answer?.error?.message ?? `the server answered ${response.status}`);
  form.reset();
  showAvatar(answer);
});

$("avatar-remove").addEventListener("click", async () => {
  showAvatar(await api("/me/avatar", { method: "DELETE" }));
});

/// "Firefox on Linux" from a `User-Agent`, or the string itself when it is none we know.
function browser(agent) {
  if (!agent) return "Unknown browser";
  const name = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"]]
    .find(([mark]) => agent.includes(mark))?.[1];
  const system = [["iPhone", "iPhone"], ["Android", "Android"], ["Windows", "Windows"], ["Mac OS X", "macOS"], ["Linux", "Linux"]]
    .find(([mark]) => agent.includes(mark))?.[1];
  return name ? `${name}${system ? ` on ${system}` : ""}` : agent.slice(0, 60);
}

async function loadSessions() {
  const { sessions } = await api("/me/sessions");
  $("session-rows").replaceChildren(...sessions.map((s) => h("tr", {},
    h("td", { title: s.user_agent ?? "" }, browser(s.user_agent), s.current ? h("span", { class: "hint" }, " (this one)") : null),
    h("td", { class: "mono" }, s.ip ?? "—"), h("td", {}, when(s.last_seen_at)), h("td", {}, when(s.created_at)),
    h("td", {}, s.current ? null : h("button", { type: "button", class: "secondary", "aria-label": `Sign out ${browser(s.user_agent)}`,
      onclick: async () => { await api(`/me/sessions/${s.id}`, { method: "DELETE" }); await loadSessions(); } }, "Sign out")))));
}

$("revoke-others").addEventListener("click", async () => {
  await api("/me/sessions/revoke-others", { method: "POST" });
  await loadSessions();
});

/// The banner asking to confirm the address, shown while it is not.
export function showVerifyBanner(me) {
  $("verify-banner").classList.toggle("hidden", !me || me.email_verified);
  if (me) $("verify-email").textContent = me.email;
}

$("verify-resend").addEventListener("click", async () => {
  try {
    await api("/me/verify", { method: "POST" });
    $("verify-resent").textContent = "Sent.";
  } catch (err) {
    $("verify-resent").textContent = err.message;
  }
});

/// `#verify?token=`: follows the link from the mail.
export async function loadVerify(params) {
  const result = $("verify-result");
  try {
    const done = await api("/auth/verify", { method: "POST", body: { token: params.get("token") ?? "" } });
    result.textContent = done.changed
      ? `Your account now uses ${done.email}.`
      : `Thank you: ${done.email} is confirmed.`;
    result.dataset.state = "done";
    $("verify-banner").classList.add("hidden");
  } catch (err) {
    result.textContent = err.message;
    result.dataset.state = "failed";
  }
}

/// `#reset`: asks for a link; `#reset?token=`: sets the new password.
export function loadReset(params) {
  const token = params.get("token");
  $("reset-request-form").classList.toggle("hidden", !!token);
  $("reset-form").classList.toggle("hidden", !token);
  $("reset-form").dataset.token = token ?? "";
}

$("reset-request-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("reset-request-alert"));
  try {
    await api("/auth/password-reset", { method: "POST", body: formData(form) });
    $("reset-requested").textContent = "If an account has this address, a link to reset its password is on its way. It works for 30 minutes.";
  } catch (err) {
    showError(err, form, $("reset-request-alert"));
  }
});

$("reset-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("reset-alert"));
  try {
    await api("/auth/password-reset/confirm", { method: "POST", body: { token: form.dataset.token, password: $("reset-password").value } });
    form.reset();
    location.hash = "#login";
    $("login-notice").textContent = "Your password is set: log in with it.";
  } catch (err) {
    showError(err, form, $("reset-alert"));
  }
});

$("email-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("email-alert"));
  $("email-done").textContent = "";
  try {
    const { pending_email } = await api("/me/email", { method: "POST", body: formData(form) });
    $("email-done").textContent = `We sent a link to ${pending_email}: your account moves there when you follow it.`;
    form.reset();
  } catch (err) {
    showError(err, form, $("email-alert"));
  }
});

let polling = null;

$("export-start").addEventListener("click", async () => {
  const status = $("export-status");
  status.replaceChildren("Starting…");
  try {
    const started = await api("/me/export", { method: "POST" });
    clearTimeout(polling);
    await pollExport(started.id);
  } catch (err) {
    status.replaceChildren(err.message);
  }
});

async function pollExport(id) {
  const status = $("export-status");
  const now = await api(`/me/exports/${id}`);
  status.dataset.state = now.status;
  if (now.status === "running") {
    status.replaceChildren("Gathering your data…");
    polling = setTimeout(() => pollExport(id).catch((err) => status.replaceChildren(err.message)), 1000);
  } else if (now.status === "ready") {
    status.replaceChildren(
      h("a", { href: now.download_url, download: "lithos-export.zip", class: "button" }, "Download my data"),
      ` ${size(now.bytes)}, until ${when(now.expires_at)}.`);
  } else {
    status.replaceChildren(now.error ?? `The export is ${now.status}.`);
  }
}

$("delete-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("delete-alert"));
  if (!confirm("Delete your account and every file in it? This cannot be undone.")) return;
  try {
    await api("/me", { method: "DELETE", body: formData(form) });
    location.href = "/#welcome";
    location.reload();
  } catch (err) {
    showError(err, form, $("delete-alert"));
  }
});

// ---- support --------------------------------------------------------------------------

let categories = null;
let open = null; // the request shown in the thread

export async function loadSupport(me, schema) {
  categories ??= schema.components.schemas.SupportCategory.enum;
  const select = $("support-category");
  if (!select.options.length) select.replaceChildren(...categories.map((c) => h("option", { value: c }, label(c))));
  $("support-email-field").classList.toggle("hidden", !!me);
  $("support-task-field").classList.toggle("hidden", !me);
  $("support-mine").classList.toggle("hidden", !me);
  if (!me) {
    $("support-thread").classList.add("hidden");
    return;
  }
  const { tasks } = await api("/tasks?limit=20");
  $("support-task").replaceChildren(h("option", { value: "" }, "None"),
    ...tasks.map((t) => h("option", { value: t.id }, `${t.mode}, ${when(t.created_at)} (${t.status})`)));
  await listRequests();
}

async function listRequests() {
  const { requests } = await api("/support/requests");
  $("support-rows").replaceChildren(...requests.map((r) => h("tr", {},
    h("td", {}, h("a", { href: "#support", onclick: (e) => { e.preventDefault(); showThread(r.id); } }, r.subject)),
    h("td", {}, label(r.category)), h("td", { "data-state": r.state }, label(r.state)), h("td", {}, when(r.updated_at)))));
  if (!requests.length) $("support-rows").append(h("tr", {}, h("td", { colspan: 4 }, "None yet.")));
}

async function showThread(id) {
  const request = await api(`/support/requests/${id}`);
  open = request.id;
  $("thread-title").textContent = `${request.subject} (${label(request.state)})`;
  $("thread-messages").replaceChildren(...request.messages.map((m) => h("li", { class: `message ${m.author}` },
    h("p", { class: "hint" }, `${m.author === "support" ? "Lithos support" : "You"}, ${when(m.created_at)}`),
    h("p", { class: "body" }, m.body))));
  $("support-thread").classList.remove("hidden");
}

$("support-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("support-alert"));
  $("support-sent").textContent = "";
  const { email, category, task_id, subject, message } = formData(form);
  const signedIn = $("support-email-field").classList.contains("hidden");
  try {
    if (signedIn) {
      const filed = await api("/support/requests", { method: "POST", body: { category, subject, message, task_id: task_id || null } });
      await listRequests();
      await showThread(filed.id);
      $("support-sent").textContent = "Sent.";
    } else {
      await api("/support/contact", { method: "POST", body: { email, category, subject, message } });
      $("support-sent").textContent = `Sent. We will answer at ${email}.`;
    }
    form.reset();
  } catch (err) {
    showError(err, form, $("support-alert"));
  }
});

$("follow-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, null);
  try {
    await api(`/support/requests/${open}/messages`, { method: "POST", body: formData(form) });
    form.reset();
    await showThread(open);
    await listRequests();
  } catch (err) {
    showError(err, form, null);
  }
});
