// The API client both pages use: JSON in and out, same-origin cookies, and errors that keep
// the server's `{error: {code, message, field}}`.

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body?.error ?? {};
    super(detail.message || `the server answered ${status}`);
    this.status = status;
    this.code = detail.code;
    this.field = detail.field;
  }
}

export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, credentials: "same-origin", signal, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (err) {
    // A request its caller aborted is not a lost connection: let the caller see the abort.
    if (signal?.aborted) throw err;
    throw new ApiError(0, { error: { message: "the server cannot be reached; check your connection" } });
  }
  const text = await response.text();
  const data = text ? safeJson(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}

/// Elements with attributes and children: `h("td", { class: "mono" }, "text")`.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const when = (ms) => (ms ? new Date(ms).toLocaleString() : "—");
export const duration = (ms) =>
  ms === null || ms === undefined ? "—" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;

/// Shows an error from `api` beside its field when the form has one, else in `alertEl`.
export function showError(err, form, alertEl) {
  const field = err.field && form?.querySelector(`[name="${CSS.escape(err.field)}"]`);
  if (field) {
    field.setAttribute("aria-invalid", "true");
    const out = form.querySelector(`#${field.id}-error`);
    if (out) { out.textContent = err.message; field.focus(); return; }
  }
  if (alertEl) alertEl.textContent = err.message;
}

export function clearErrors(form, alertEl) {
  form?.querySelectorAll("[aria-invalid]").forEach((f) => f.removeAttribute("aria-invalid"));
  form?.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
  if (alertEl) alertEl.textContent = "";
}
