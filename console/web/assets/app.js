// The end-user app: sign up or log in, upload an image or a scan by drag and drop, pick a mode
// and its parameters (for a scan, its isovalue on its histogram), see the cost, watch progress
// over SSE, rotate the mesh, download it; history, credits and API keys. One page; the hash
// names the view.

import uPlot from "/vendor/uplot/uPlot.esm.js";
import { api, h, when, showError, clearErrors } from "./api.js";
import { Preview } from "./preview.js";
import { loadAccount, loadSupport, loadVerify, loadReset, showVerifyBanner, showProviderButtons } from "./account.js";

const $ = (id) => document.getElementById(id);
let me = null;
let upload = null; // { id, width, height, filename, volume }
let events = null;
let preview = null;

// A job's modes and options come from the API's schema, which the engine's job table writes:
// each option's label, unit, bounds, default and the modes it applies to. None is listed here.
let jobSchema = null; // { modes, summaries, fields }
let apiDoc = null;
const openapi = async () => (apiDoc ??= await api("/openapi.json"));

async function loadJobSchema() {
  const doc = await openapi();
  const { JobRequest, JobMode, MeshFormat } = doc.components.schemas;
  const format = $("format");
  format.replaceChildren(...MeshFormat.enum.map((f) =>
    h("option", { value: f }, `${MeshFormat["x-labels"][f]}: ${MeshFormat["x-summaries"][f]}`)));
  // A mode this server cannot run (prompts without a generation provider) is not offered.
  const unavailable = JobMode["x-unavailable"] ?? {};
  jobSchema = {
    modes: JobMode.enum.filter((m) => !(m in unavailable)),
    // What each mode takes: an image or a volume.
    inputs: JobMode["x-input"],
    // The modes whose model the AI generation provider makes: no free preview.
    generated: JobMode["x-generated"] ?? [],
    summaries: JobMode["x-summaries"],
    fields: Object.entries(JobRequest.properties).map(([name, schema]) => ({ name, ...schema })),
  };
  setModes(inputOf(upload));
}

/// What an upload is, as the modes' `x-input` names it: an image, a volume, a 3D file or a
/// font.
const inputOf = (u) => (u?.font ? "font" : u?.model ? "model" : u?.volume ? "volume" : "image");

/// Whether `mode` takes a font, which is optional: text needs no upload.
const takesFont = (mode) => jobSchema?.inputs[mode] === "font";
/// Whether `mode` takes a prompt, which the provider makes a model of: no upload at all.
const takesPrompt = (mode) => jobSchema?.inputs[mode] === "prompt";
const needsNoUpload = (mode) => takesFont(mode) || takesPrompt(mode);
/// Whether the AI generation provider makes `mode`'s model (of a prompt, or of a photo).
const isGenerated = (mode) => jobSchema?.generated.includes(mode);

/// Offers the modes that take `input` (an image, a volume or a 3D file), and text and prompts,
/// which need no upload.
function setModes(input) {
  if (!jobSchema) return;
  const select = $("mode");
  const chosen = select.value;
  const modes = jobSchema.modes.filter((m) => jobSchema.inputs[m] === input || needsNoUpload(m));
  select.replaceChildren(...modes.map((m) =>
    h("option", { value: m }, `${m[0].toUpperCase()}${m.slice(1)}: ${jobSchema.summaries[m]}`)));
  if (modes.includes(chosen)) select.value = chosen;
  renderParams();
}

/// The fields of `mode`, its words (text, a prompt) first: what the form is about.
const words = (f) => (f.name === "text" || f.name === "prompt" ? 0 : 1);
const fieldsFor = (mode) => jobSchema.fields.filter((f) => f["x-modes"].includes(mode))
  .sort((a, b) => words(a) - words(b));
const defaultIn = (f, mode) => f["x-mode-defaults"]?.[mode] ?? f.default;

// ---- views ----------------------------------------------------------------------------

const VIEWS = ["welcome", "pricing", "login", "signup", "join", "convert", "history", "credits", "billing", "keys", "account", "support", "verify", "reset"];
// What a visitor who is not signed in may see.
const OPEN = ["welcome", "pricing", "login", "signup", "join", "support", "verify", "reset"];

async function route() {
  const [view, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query ?? "");
  const wanted = view || (me ? "convert" : "welcome");
  const target = !me && !OPEN.includes(wanted) ? "login" : VIEWS.includes(wanted) ? wanted : "convert";
  for (const v of VIEWS) $(`view-${v}`).classList.toggle("hidden", v !== target);
  document.querySelectorAll("nav a").forEach((a) =>
    a.getAttribute("href") === `#${target}` ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current"));
  $("page-error").textContent = "";
  try {
    if (target === "history") await loadHistory();
    if (target === "credits") await loadCredits();
    if (target === "keys") await loadKeys();
    if (target === "account") await loadAccount(me, params);
    if (target === "login" || target === "signup") await showProviderButtons();
    // A sign-in through a provider that failed comes back here with its reason.
    if (target === "login") $("login-alert").textContent = params.get("error") ?? "";
    if (target === "join") loadJoin(params);
    if (target === "verify") await loadVerify(params);
    if (target === "reset") loadReset(params);
    if (target === "support") await loadSupport(me, await openapi());
    if (target === "welcome") await loadWelcome();
    if (target === "pricing") await loadPricing();
    if (target === "billing") await loadBilling(params.get("checkout"));
  } catch (err) {
    $("page-error").textContent = err.message;
  }
  const heading = $(`view-${target}`).querySelector("h1");
  if (heading) document.title = `${heading.textContent} · Lithos`;
}

async function signedIn(profile) {
  me = profile;
  $("nav").classList.remove("hidden");
  $("nav-out").classList.add("hidden");
  $("console-link").classList.toggle("hidden", me.role !== "admin");
  $("balance").textContent = me.credits;
  showVerifyBanner(me);
  const next = new URLSearchParams(location.search).get("next");
  if (next === "/console" && me.role === "admin") { location.href = "/console"; return; }
  if (!location.hash || ["#login", "#signup", "#welcome"].includes(location.hash)) location.hash = "#convert";
  else await route();
}

async function refreshBalance() {
  me = await api("/me");
  $("balance").textContent = me.credits;
}

// ---- accounts -------------------------------------------------------------------------

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("login-alert"));
  const { email, password } = formData(form);
  try {
    await signedIn(await api("/auth/login", { method: "POST", body: { email, password } }));
  } catch (err) {
    showError(err, form, $("login-alert"));
  }
});

$("signup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("signup-alert"));
  const { name, email, password, birth_date } = formData(form);
  try {
    await signedIn(await api("/auth/register", { method: "POST", body: { name, email, password, birth_date } }));
  } catch (err) {
    // Refused for age: the server kept nothing, and neither does the form.
    if (err.status === 403) form.reset();
    showError(err, form, $("signup-alert"));
  }
});

/// `#join?token=…&provider=…`: a person new to Lithos signed in through a provider; their
/// birth date comes before any account.
function loadJoin(params) {
  const form = $("join-form");
  form.dataset.token = params.get("token") ?? "";
  $("join-intro").textContent = `You signed in with ${params.get("provider") ?? "your login provider"}. One question before your account is made:`;
}

$("join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("join-alert"));
  try {
    const profile = await api("/auth/providers/join", { method: "POST", body: { token: form.dataset.token, birth_date: $("join-birth_date").value } });
    history.replaceState(null, "", "/#convert");
    await signedIn(profile);
  } catch (err) {
    // Refused for age: the server kept nothing, and neither does the form.
    if (err.status === 403) form.reset();
    showError(err, form, $("join-alert"));
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("/auth/logout", { method: "POST" }); } catch { /* signed out anyway */ }
  me = null;
  $("nav").classList.add("hidden");
  $("nav-out").classList.remove("hidden");
  location.hash = "#welcome";
});

// ---- upload ---------------------------------------------------------------------------

const drop = $("drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files?.[0];
  if (file) sendFile(file);
});
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); }
});
$("file").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  if (file) sendFile(file);
});

/// Uploads with XMLHttpRequest, whose upload events give the progress bar.
function sendFile(file) {
  const form = $("convert-form");
  clearErrors(form, $("convert-alert"));
  upload = null;
  $("submit").disabled = true;
  $("upload-status").classList.remove("hidden");
  $("upload-status").querySelector("label").firstChild.textContent = "Uploading ";
  $("upload-name").textContent = file.name;
  const bar = $("upload-progress");
  bar.value = 0;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/v1/uploads");
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
  });
  xhr.addEventListener("load", () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status >= 200 && xhr.status < 300) {
      bar.value = 100;
      $("upload-status").querySelector("label").firstChild.textContent = "Uploaded ";
      upload = body;
      const size = body.font ? `the font ${body.font.name}`
        : body.model ? `${body.model.analysis.triangles.toLocaleString("en")} triangles`
        : body.volume ? `${body.volume.dims.join(" × ")} voxels` : `${body.width} × ${body.height} pixels`;
      $("drop-hint").textContent = `${body.filename}: ${size}. Drop another to replace it.`;
      setModes(inputOf(body));
      showVolume(body.volume);
      showModel(body.model);
      showOriginal(body.model ? file : null, body.model?.format);
      $("submit").disabled = false;
      quoteSoon();
    } else {
      $("file-error").textContent = body?.error?.message ?? `the upload failed (${xhr.status})`;
    }
  });
  xhr.addEventListener("error", () => { $("file-error").textContent = "the upload failed: the server cannot be reached"; });
  const data = new FormData();
  data.append("file", file);
  xhr.send(data);
}

// ---- parameters and cost -------------------------------------------------------------

function renderParams() {
  const set = $("params");
  set.replaceChildren(h("legend", {}, "Parameters"));
  if (!jobSchema) return;
  const mode = $("mode").value;
  const more = h("details", { id: "more-params" }, h("summary", {}, "More options"));
  // The shape picker's options: each shape's own, shown beside the picker while it is picked.
  const shaped = h("div", { id: "shape-options" });
  for (const f of fieldsFor(mode)) {
    if (f["x-shape"]) shaped.append(h("div", { "data-shape": f["x-shape"] }, ...control(f, mode)));
    else (f["x-basic"].includes(mode) ? set : more).append(...control(f, mode));
  }
  $("p-shape")?.nextElementSibling?.after(shaped);
  if (more.children.length > 1) set.append(more);
  showShapeOptions();
  histogram?.redraw(false);
}

/// Shows the options of the shape picked, hides the others'.
function showShapeOptions() {
  const shape = $("p-shape")?.value || "flat";
  for (const group of document.querySelectorAll("#shape-options [data-shape]")) {
    group.classList.toggle("hidden", group.dataset.shape !== shape);
  }
}

/// An option's input, its label (with the unit) and the place for its error.
function control(f, mode) {
  const id = `p-${f.name}`;
  const d = defaultIn(f, mode);
  const error = h("div", { class: "field-error", id: `${id}-error` });
  const described = { id, name: f.name, title: f.description, "aria-describedby": `${id}-error` };
  if (f.type === "boolean") {
    return [h("label", { for: id }, h("input", { ...described, type: "checkbox", checked: d === true }), " ", f["x-label"]), error];
  }
  const unit = f.type === "array" ? `${f.minItems} numbers, comma-separated${f["x-unit"] ? `, ${f["x-unit"]}` : ""}` : f["x-unit"];
  const label = h("label", { for: id }, f["x-label"], " ", unit ? h("span", { class: "hint" }, `(${unit})`) : null);
  if (f.enum) {
    const options = f.enum.map((v) => h("option", { value: v, selected: v === d }, v));
    return [label, h("select", described, d === undefined ? h("option", { value: "" }, "none") : null, ...options), error];
  }
  if (f.type === "array") {
    // A mode's default list (a prompt's 6 cm cube) is shown filled in; no default: the note.
    const note = f["x-default-note"] ? `default: ${f["x-default-note"]}` : undefined;
    return [label, h("input", { ...described, type: "text", value: Array.isArray(d) ? d.join(", ") : "", placeholder: note }), error];
  }
  if (f.oneOf) {
    // A number, or a name standing for one (the CT presets): typed, or picked from the list.
    const names = Object.entries(f["x-values"] ?? {});
    const note = f["x-default-note"] ? `default: ${f["x-default-note"].replaceAll("`", "").replaceAll("_", " ")}` : undefined;
    return [label, h("input", { ...described, type: "text", list: `${id}-names`, placeholder: note }),
      h("datalist", { id: `${id}-names` }, ...names.map(([n, v]) => h("option", { value: n }, `${n} (${v})`))), error];
  }
  if (f.name === "series" && upload?.volume?.series?.length > 1) {
    // The upload's own series: the described one first.
    const shown = upload.volume.series_uid;
    const all = [...upload.volume.series].sort((a, b) => (b.uid === shown) - (a.uid === shown));
    const series = all.map((s) => h("option", { value: s.uid === shown ? "" : s.uid },
      `${s.modality || "?"} ${s.number ?? ""} ${s.description} (${s.slices} × ${s.size.join(" × ")})`.replace(/\s+/g, " ")));
    return [label, h("select", described, ...series), error];
  }
  if (f.type === "string" && f.name === "text") {
    // Lines of text: the words to make.
    return [label, h("textarea", { ...described, rows: 3, maxlength: f.maxLength, placeholder: "Your text" }), error];
  }
  if (f.type === "string" && f.name === "prompt") {
    // The prompt box: what the generation provider is asked to make.
    return [label, h("textarea", { ...described, rows: 2, maxlength: f.maxLength, placeholder: "a cat wearing a hat" }), error];
  }
  if (f.type === "string") {
    return [label, h("input", { ...described, type: "text", pattern: f.pattern, maxlength: f.maxLength }), error];
  }
  const placeholder = f["x-default-note"] ? `default: ${f["x-default-note"].replaceAll("`", "").replaceAll("_", " ")}` : undefined;
  return [label, h("input", {
    ...described, type: "number", value: d ?? "", placeholder, min: f.minimum, max: f.maximum,
    step: f.type === "integer" ? 1 : "any", inputmode: "decimal",
  }), error];
}

/// The task's parameters, or null (with the fields' errors shown) when one is not valid. The
/// fields shown up front are sent as they read (a solid's threshold then masks by brightness,
/// so "invert" picks the shape even in an image with alpha); those under "More options" only
/// when changed from their defaults (a relief's threshold would otherwise need a mask).
function readParams() {
  if (!jobSchema) return null;
  const mode = $("mode").value;
  const params = {};
  let ok = true;
  const refuse = (input, f, problem) => {
    input.setAttribute("aria-invalid", "true");
    $(`${input.id}-error`).textContent = `${f["x-label"]} ${problem}`;
    ok = false;
  };
  const shape = $("p-shape")?.value || "flat";
  for (const f of fieldsFor(mode)) {
    if (f["x-shape"] && f["x-shape"] !== shape) continue;
    const input = $(`p-${f.name}`);
    const d = defaultIn(f, mode);
    if (f.type === "boolean") {
      if (input.checked !== (d === true)) params[f.name] = input.checked;
      continue;
    }
    const raw = input.value.trim();
    if (raw === "" || (f.enum && raw === d)) continue;
    if (f.enum || input.tagName === "SELECT") { params[f.name] = raw; continue; }
    if (f.oneOf) {
      const names = Object.keys(f["x-values"] ?? {});
      if (names.includes(raw)) params[f.name] = raw;
      else if (Number.isFinite(Number(raw))) params[f.name] = Number(raw);
      else refuse(input, f, `must be a number or one of ${names.join(", ")}`);
      continue;
    }
    if (f.type === "string") {
      if (f.pattern && !new RegExp(f.pattern, "u").test(raw)) refuse(input, f, "is not valid");
      else params[f.name] = raw;
      continue;
    }
    if (f.type === "array") {
      const values = raw.split(",").map((v) => Number(v.trim()));
      if (values.length !== f.minItems || !values.every(Number.isFinite)) refuse(input, f, `must be ${f.minItems} numbers`);
      else params[f.name] = values;
      continue;
    }
    const value = Number(raw);
    const problem = !Number.isFinite(value) ? "must be a number"
      : f.minimum !== undefined && value < f.minimum ? `must be at least ${f.minimum}`
      : f.maximum !== undefined && value > f.maximum ? `must be at most ${f.maximum}` : null;
    if (problem) { refuse(input, f, problem); continue; }
    if (value === d && !f["x-basic"].includes(mode)) continue; // the server applies it
    params[f.name] = f.type === "integer" ? Math.round(value) : value;
  }
  return ok ? params : null;
}

/// The task's body from the form, or null while it cannot be sent: every mode but text and
/// prompts needs an upload, text takes one only when it is a font (else the bundled font sets
/// it), and a prompt never does.
function request() {
  const params = readParams();
  const mode = $("mode").value;
  if (!params || (!upload && !needsNoUpload(mode))) return null;
  if (takesFont(mode) && !params.text) return null;
  if (takesPrompt(mode) && !params.prompt) return null;
  const uploadId = takesPrompt(mode) ? undefined
    : takesFont(mode) ? (upload?.font ? upload.id : undefined) : upload.id;
  return { upload_id: uploadId, mode, format: $("format").value, params };
}

let quoteTimer = null;
function quoteSoon() {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(quote, 200);
}

// The quote in flight: a newer one aborts it, so a slow, stale answer never overwrites the
// answer to the form as it is now.
let quoting = null;
// What the result card shows, as a preview's key: the form previews only when it differs.
let shown = null;
const previewKey = (body) => JSON.stringify([body.upload_id, body.mode, body.params]);

async function quote() {
  const form = $("convert-form");
  quoting?.abort();
  const controller = new AbortController();
  quoting = controller;
  clearErrors(form, $("convert-alert"));
  const body = request();
  if (!body) { $("submit").disabled = true; return; }
  try {
    const q = await api("/tasks/quote", { method: "POST", body, signal: controller.signal });
    if (controller.signal.aborted) return;
    const work = isGenerated(body.mode)
      ? `a model generated from the ${takesPrompt(body.mode) ? "prompt" : "photo"}, then repaired`
      : takesFont(body.mode) ? `a ${q.grid[0]} × ${q.grid[1]} field`
      : upload.volume ? `${upload.volume.dims.join(" × ")} voxels`
      : upload.model ? `${upload.model.analysis.triangles.toLocaleString("en")} triangles` : `a ${q.grid[0]} × ${q.grid[1]} grid`;
    $("cost").textContent = `This costs ${q.cost} credit${q.cost === 1 ? "" : "s"} (${work}). Your balance is ${q.balance}.`;
    $("submit").disabled = q.cost > q.balance;
    if (q.cost > q.balance) $("convert-alert").textContent = "Not enough credits: lower the detail, or buy credits.";
    // A result (a task's, or an opened one) stays on show until the options change.
    // A generated model has no free preview: each generation costs at the provider.
    const previewable = !isGenerated(body.mode) && (takesFont(body.mode) || !upload.volume);
    if (previewable && previewKey(body) !== shown) livePreview(body, q.grid, controller.signal);
    if (isGenerated(body.mode) && $("preview").dataset.rendered === "live") noPreview();
  } catch (err) {
    if (controller.signal.aborted) return;
    $("submit").disabled = true;
    showError(err, form, $("convert-alert"));
  }
}

const megabytes = (bytes) => bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;

/// The free preview of the form as it is (POST /previews, after each quote): the model on a
/// small grid at the task's size, and a lithophane's backlit view, in the result card. A newer
/// quote aborts it.
async function livePreview(body, grid, signal) {
  const note = $("preview-note");
  try {
    const p = await api("/previews", { method: "POST", body, signal });
    if (signal.aborted) return;
    const glb = Uint8Array.from(atob(p.glb), (c) => c.charCodeAt(0));
    preview ??= new Preview($("preview"));
    await preview.show(glb.buffer, "glb");
    if (signal.aborted) return;
    shown = previewKey(body);
    $("preview").dataset.rendered = "live";
    $("preview").dataset.size = p.size_mm.map((v) => v.toFixed(1)).join(" × ");
    $("result-title").textContent = "Preview";
    note.textContent = `Free preview at ${p.grid[0]} × ${p.grid[1]} points, ${p.size_mm.map((v) => v.toFixed(1)).join(" × ")} mm. ` +
      `Converting makes it at ${grid[0]} × ${grid[1]}.`;
    $("expected").textContent = `Expect about ${p.expected_triangles.toLocaleString()} triangles, ${megabytes(p.expected_bytes)} as ${body.format.toUpperCase()}.`;
    if (p.colours_png) showBacklitImage(`data:image/png;base64,${p.colours_png}`, "colours");
    else showBacklitImage(p.backlit_png ? `data:image/png;base64,${p.backlit_png}` : null);
  } catch (err) {
    if (signal.aborted) return;
    note.textContent = `No preview: ${err.message}`;
    $("expected").textContent = "";
  }
}

/// Takes a live preview of another mode away: a generated model is made only by converting.
function noPreview() {
  preview?.clear();
  delete $("preview").dataset.rendered;
  shown = null;
  $("result-title").textContent = "Result";
  $("expected").textContent = "";
  showBacklitImage(null);
  $("preview-note").textContent =
    "No free preview: the AI generation provider charges each model it makes. Convert to make it.";
}

$("mode").addEventListener("change", () => { renderParams(); quoteSoon(); });
$("format").addEventListener("change", quoteSoon);
$("params").addEventListener("input", () => { histogram?.redraw(false); quoteSoon(); });
$("params").addEventListener("change", (e) => {
  if (e.target.id === "p-shape") showShapeOptions();
  quoteSoon();
});

// ---- a scan: its values, and the isovalue on their histogram ---------------------------

let histogram = null; // uPlot
let draggingIso = false;
const isoField = () => jobSchema?.fields.find((f) => f.name === "iso");

/// The isovalue the form says: a number, a preset's value, or the default (Otsu's).
function currentIso() {
  const raw = $("p-iso")?.value.trim() ?? "";
  const preset = isoField()?.["x-values"]?.[raw];
  if (preset !== undefined) return preset;
  return raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : upload?.volume?.otsu_iso;
}

function setIso(value) {
  const input = $("p-iso");
  if (!input) return;
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

const round = (v, span) => Number(v.toFixed(Math.max(0, 2 - Math.floor(Math.log10(span || 1)))));

/// A 3D file's inspection: what is wrong with it, before it is repaired.
function showModel(m) {
  $("model-panel").classList.toggle("hidden", !m);
  if (!m) return;
  const a = m.analysis;
  const n = (count, one, many = `${one}s`) => `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
  const size = [0, 1, 2].map((k) => (a.max[k] - a.min[k]).toFixed(1)).join(" × ");
  $("model-facts").textContent = `${m.format.toUpperCase()}, ${n(a.triangles, "triangle")}, ${n(a.shells, "shell")}, ${size} mm.`;
  const problems = [
    [a.holes, "hole"], [a.non_manifold_edges, "edge with more than two faces", "edges with more than two faces"],
    [a.non_manifold_vertices, "vertex where pieces touch", "vertices where pieces touch"],
    [a.flipped_faces, "flipped face"], [a.inverted_shells, "inside-out shell"],
    [a.degenerate_faces, "degenerate face"], [a.duplicate_faces, "duplicate face"],
    [a.self_intersections, "pair of crossing faces", "pairs of crossing faces"],
  ].filter(([count]) => count > 0).map(([count, one, many]) => n(count, one, many));
  $("model-problems").textContent = problems.length
    ? `Found: ${problems.join(", ")}. Repair (on by default) fixes what it can; the task's check says what it made.`
    : "Printable as it is: closed, manifold and oriented.";
}

/// The 3D file as it was dropped, before repair, beside the result (which shows the repaired
/// model): drawn from the dropped file's own bytes, in the formats three.js reads.
let original = null;
const drawn = { stl: "stl", obj: "obj", ply: "ply", "3mf": "3mf", gltf: "glb" };
async function showOriginal(file, format) {
  const canvas = $("original");
  const note = $("original-note");
  canvas.classList.add("hidden");
  delete canvas.dataset.rendered;
  note.textContent = "";
  if (!file || !format) return;
  if (!drawn[format]) {
    note.textContent = `${format.toUpperCase()} files are not drawn here; the result shows the repaired model.`;
    return;
  }
  canvas.classList.remove("hidden");
  try {
    original ??= new Preview(canvas);
    await original.show(await file.arrayBuffer(), drawn[format]);
    canvas.dataset.rendered = drawn[format];
    note.textContent = "As uploaded, before repair. The result shows the repaired model beside it.";
  } catch (err) {
    canvas.classList.add("hidden");
    note.textContent = `The file as uploaded cannot be drawn here (${err.message}); the result shows the repaired model.`;
  }
}

function showVolume(v) {
  histogram?.destroy();
  histogram = null;
  $("volume-panel").classList.toggle("hidden", !v);
  if (!v) return;
  const [lo, hi] = v.value_range;
  const unit = v.hounsfield ? " HU" : "";
  const series = v.series.length > 1 ? ` ${v.series.length} series; the largest is shown.` : "";
  $("volume-facts").textContent = `${v.dims.join(" × ")} voxels of ${v.spacing_mm.map((s) => +s.toFixed(3)).join(" × ")} mm; values from ${round(lo, hi - lo)} to ${round(hi, hi - lo)}${unit}.${series}`;
  const width = (hi - lo) / v.histogram.length || 1;
  const xs = v.histogram.map((_, i) => lo + (i + 0.5) * width);
  // Counts on a log scale (air dwarfs everything in a CT); +1 keeps empty bins drawable.
  const ys = v.histogram.map((n) => n + 1);
  const el = $("histogram");
  histogram = new uPlot({
    width: Math.max(240, el.clientWidth || 400), height: 180,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: false, range: [lo, hi > lo ? hi : lo + 1] }, y: { distr: 3 } },
    axes: [{ label: v.hounsfield ? "Hounsfield units" : "value" }, { label: "voxels", size: 60 }],
    series: [{}, { label: "voxels", stroke: "#3a6ea5", fill: "rgba(58, 110, 165, 0.35)", paths: uPlot.paths.bars({ size: [1, Infinity], gap: 0 }) }],
    hooks: {
      draw: [(u) => {
        const iso = currentIso();
        if (!Number.isFinite(iso)) return;
        const x = u.valToPos(iso, "x", true);
        const { ctx } = u;
        ctx.save();
        ctx.strokeStyle = "#c0392b";
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
        el.dataset.iso = String(iso);
      }],
    },
  }, [xs, ys], el);
  histogram.over.addEventListener("mousedown", (e) => { draggingIso = true; isoFromPointer(e); });
  const presets = $("iso-presets");
  const values = Object.entries(isoField()?.["x-values"] ?? {});
  presets.replaceChildren(...values.map(([name, hu]) =>
    h("button", { type: "button", class: "secondary", onclick: () => setIso(name) }, `${name[0].toUpperCase()}${name.slice(1).replace("-", " ")} (${hu} HU)`)));
  presets.classList.toggle("hidden", !v.hounsfield || !values.length);
}

function isoFromPointer(e) {
  if (!histogram) return;
  const rect = histogram.over.getBoundingClientRect();
  const value = histogram.posToVal(Math.min(Math.max(e.clientX - rect.left, 0), rect.width), "x");
  const [lo, hi] = upload.volume.value_range;
  setIso(round(value, hi - lo));
}

window.addEventListener("mousemove", (e) => { if (draggingIso) isoFromPointer(e); });
window.addEventListener("mouseup", () => { draggingIso = false; });

// ---- running a task -------------------------------------------------------------------

$("convert-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("convert-alert"));
  const body = request();
  if (!body) return;
  $("submit").disabled = true;
  // The task's result takes the preview's place: no preview in flight may land after it.
  clearTimeout(quoteTimer);
  quoting?.abort();
  try {
    const task = await api("/tasks", { method: "POST", body });
    await refreshBalance();
    watch(task);
    shown = previewKey(body);
    quoteSoon();
  } catch (err) {
    showError(err, form, $("convert-alert"));
  } finally {
    $("submit").disabled = !upload && !needsNoUpload($("mode").value);
  }
});

/// Follows a task over Server-Sent Events until it ends (EventSource reconnects by itself
/// after a dropped connection).
function watch(task) {
  events?.close();
  $("download").classList.add("hidden");
  $("formats").classList.add("hidden");
  show(task);
  events = new EventSource(`/api/v1/tasks/${task.id}/events`);
  events.addEventListener("task", (e) => {
    const t = JSON.parse(e.data);
    show(t);
    if (!["queued", "running"].includes(t.status)) {
      events.close();
      finished(t);
    }
  });
}

function show(t) {
  const percent = Math.round((t.status === "succeeded" ? 1 : t.progress ?? 0) * 100);
  $("task-progress").value = percent;
  $("task-status").textContent = `${t.mode} · ${t.status} · ${percent}%`;
  $("task-status").dataset.status = t.status;
}

async function finished(t) {
  $("result-title").textContent = "Result";
  await refreshBalance();
  if (t.status !== "succeeded") {
    $("task-status").textContent = `${t.mode} · ${t.status}${t.error ? `: ${t.error}` : ""}`;
    return;
  }
  const tri = t.result?.triangles;
  const check = t.result?.check;
  const checked = check
    ? ` Checked: closed, manifold and oriented; ${check.shells} shell${check.shells === 1 ? "" : "s"}, ${(check.volume_mm3 / 1000).toFixed(1)} cm³.`
    : "";
  const r = t.result?.model?.repairs;
  const repaired = r
    ? ` Repaired: ${r.holes_filled} holes filled, ${r.faces_flipped} faces flipped, ${r.duplicate_faces_removed + r.degenerate_faces_removed} bad faces dropped, ${r.shells_turned_out} shells turned out, ${r.welded_vertices} corners welded${r.shells_merged ? `, ${r.shells_merged} overlapping shell${r.shells_merged === 1 ? "" : "s"} merged` : ""}.`
    : "";
  const hollow = t.result?.model?.hollow;
  const hollowed = hollow
    ? ` Hollowed: ${hollow.wall_mm} mm walls, ${(hollow.cavity_mm3 / 1000).toFixed(1)} cm³ of material saved, ${hollow.drains} drain hole${hollow.drains === 1 ? "" : "s"}.`
    : "";
  $("task-status").textContent = `Done: ${tri ? `${tri.toLocaleString()} triangles, ` : ""}${t.format.toUpperCase()} ready.${checked}${repaired}${hollowed}`;
  const link = $("download");
  link.href = `/api/v1/tasks/${t.id}/output`;
  link.textContent = `Download ${t.format.toUpperCase()}`;
  link.classList.remove("hidden");
  offerFormats(t);
  showBacklit(t);
  await showMesh(t.id, t.format, t.result?.bytes ?? 0);
}

/// The other formats the model can be had in, made free from the task it came from.
function offerFormats(t) {
  $("formats").dataset.task = t.derived_from ?? t.id;
  const others = [...$("format").options].filter((o) => o.value !== t.format);
  $("other-format").replaceChildren(...others.map((o) => h("option", { value: o.value }, o.textContent)));
  $("formats").classList.remove("hidden");
  $("formats-note").textContent = "";
}

$("make-format").addEventListener("click", async () => {
  const format = $("other-format").value;
  $("formats-note").textContent = `Making ${format.toUpperCase()}…`;
  try {
    const t = await api(`/tasks/${$("formats").dataset.task}/formats`, { method: "POST", body: { format } });
    if (t.status === "succeeded") await finished(t);
    else watch(t);
  } catch (err) {
    $("formats-note").textContent = err.message;
  }
});

/// A lithophane's view lit from behind, or a palette relief's colours, behind a toggle: the
/// picture the task stored.
function showBacklit(t) {
  const kind = ["backlit", "colours"].find((p) => t.result?.pictures?.includes(p));
  showBacklitImage(kind ? `/api/v1/tasks/${t.id}/pictures/${kind}` : null, kind);
}

/// What the toggle says for each kind of picture.
const PICTURE_LABELS = {
  backlit: "Backlit: the lithophane as it looks lit from behind",
  colours: "Colours: the relief as its filaments are expected to show",
};

/// The picture toggle and picture for `src` (none: hidden) of `kind`, keeping the toggle's
/// state.
function showBacklitImage(src, kind = "backlit") {
  $("backlit-label").textContent = PICTURE_LABELS[kind];
  $("backlit").alt = PICTURE_LABELS[kind];
  $("backlit-toggle").classList.toggle("hidden", !src);
  if (src) $("backlit").src = src;
  else { $("backlit").removeAttribute("src"); $("backlit-on").checked = false; }
  $("backlit").classList.toggle("hidden", !src || !$("backlit-on").checked);
  $("preview").classList.toggle("hidden", Boolean(src) && $("backlit-on").checked);
}

$("backlit-on").addEventListener("change", () => {
  $("backlit").classList.toggle("hidden", !$("backlit-on").checked);
  $("preview").classList.toggle("hidden", $("backlit-on").checked);
});

// Larger outputs are offered for download only: a browser tab holds the whole file, and its
// geometry twice over, to draw it.
const PREVIEW_MAX_BYTES = 200e6;

async function showMesh(id, format, bytes) {
  const note = $("preview-note");
  note.textContent = "";
  if (bytes > PREVIEW_MAX_BYTES) {
    note.textContent = `This mesh is ${(bytes / 1e6).toFixed(0)} MB, too large to preview here; download it to view it.`;
    return;
  }
  try {
    const response = await fetch(`/api/v1/tasks/${id}/output`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`the output could not be fetched (${response.status})`);
    preview ??= new Preview($("preview"));
    await preview.show(await response.arrayBuffer(), format);
    $("preview").dataset.rendered = format;
  } catch (e) {
    note.textContent = `No preview: ${e.message}. The download is unaffected.`;
  }
}

// ---- history, credits, keys -----------------------------------------------------------

async function loadHistory() {
  const { tasks } = await api("/tasks?limit=50");
  $("history-rows").replaceChildren(
    ...tasks.map((t) => h("tr", {},
      h("td", {}, t.result?.pictures?.includes("thumbnail")
        ? h("img", { class: "thumb", src: `/api/v1/tasks/${t.id}/pictures/thumbnail`, alt: `${t.mode} thumbnail`, width: 64, height: 64, loading: "lazy" })
        : ""),
      h("td", {}, when(t.created_at)),
      h("td", {}, t.mode),
      h("td", {}, h("span", { class: `badge ${t.status}` }, t.status)),
      h("td", {}, t.cost),
      h("td", {}, t.result?.triangles?.toLocaleString() ?? "—"),
      h("td", {}, t.status === "succeeded"
        ? h("a", { href: `/api/v1/tasks/${t.id}/output`, download: true }, `Download ${t.format}`)
        : t.error ?? ""),
      h("td", {}, t.status === "succeeded"
        ? h("button", { type: "button", class: "secondary open-task", "data-task": t.id, onclick: () => openTask(t) }, "Open")
        : ""),
    )),
  );
  if (!tasks.length) $("history-rows").append(h("tr", {}, h("td", { colspan: 8 }, "No conversions yet.")));
}

/// A past result in the convert view: its mesh, backlit view and download, with the form set
/// to its options, so that changing them previews and converts again from the same file
/// (while retention keeps the file).
async function openTask(t) {
  location.hash = "#convert";
  let source = null;
  if (t.upload_id) {
    try { source = await api(`/uploads/${t.upload_id}`); } catch { source = null; }
  }
  upload = source?.state === "ready" ? source : null;
  setModes(jobSchema?.inputs[t.mode] ?? inputOf(upload));
  showVolume(upload?.volume ?? null);
  showModel(upload?.model ?? null);
  showOriginal(null);
  $("mode").value = t.mode;
  $("format").value = t.format;
  renderParams();
  for (const [name, value] of Object.entries(t.params ?? {})) {
    const input = $(`p-${name}`);
    if (!input) continue;
    if (input.type === "checkbox") input.checked = value === true;
    else input.value = Array.isArray(value) ? value.join(", ") : String(value);
  }
  showShapeOptions();
  const again = upload || (needsNoUpload(t.mode) && !t.upload_id);
  $("drop-hint").textContent = upload
    ? `${upload.filename}: change the options to preview them, then convert again.`
    : again && takesPrompt(t.mode) ? "Change the prompt or its options, then generate again."
    : again ? "Change the text or its options to preview them, then convert again."
    : "The original file was deleted after its retention period: drop it again to convert with changes.";
  show(t);
  shown = again ? previewKey(request() ?? {}) : null;
  await finished(t);
  if (again) quoteSoon();
  else $("submit").disabled = true;
}

async function loadCredits() {
  const { balance, entries } = await api("/credits?limit=100");
  $("credits-balance").textContent = balance;
  $("balance").textContent = balance;
  $("ledger-rows").replaceChildren(
    ...entries.map((e) => h("tr", {},
      h("td", {}, when(e.created_at)), h("td", {}, e.kind),
      h("td", {}, e.amount > 0 ? `+${e.amount}` : e.amount), h("td", {}, e.reason))),
  );
}

async function loadKeys() {
  const { keys } = await api("/api-keys");
  $("key-rows").replaceChildren(
    ...keys.map((k) => h("tr", {},
      h("td", {}, k.name), h("td", { class: "mono" }, `${k.prefix}…`), h("td", {}, when(k.created_at)),
      h("td", {}, when(k.last_used_at)),
      h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Revoke ${k.name}`, onclick: () => revoke(k) }, "Revoke")))),
  );
  if (!keys.length) $("key-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No keys.")));
}

async function revoke(key) {
  if (!confirm(`Revoke the key “${key.name}”? Programs using it stop working.`)) return;
  try {
    await api(`/api-keys/${key.id}`, { method: "DELETE" });
    await loadKeys();
  } catch (err) {
    $("page-error").textContent = err.message;
  }
}

$("key-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form, $("page-error"));
  try {
    const created = await api("/api-keys", { method: "POST", body: { name: $("key-name").value.trim() } });
    $("new-key-value").textContent = created.key;
    $("new-key").classList.remove("hidden");
    $("copied").textContent = "";
    form.reset();
    await loadKeys();
  } catch (err) {
    showError(err, form, $("page-error"));
  }
});

$("copy-key").addEventListener("click", async () => {
  const text = $("new-key-value").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("copied").textContent = "Copied.";
  } catch {
    getSelection().selectAllChildren($("new-key-value"));
    $("copied").textContent = "Selected: press Ctrl+C to copy.";
  }
});

// ---- visitors, pricing and billing ----------------------------------------------------

let examples = null;
let catalog = null;

const money = (minor, currency) =>
  minor === null || minor === undefined ? "" : new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "EUR" }).format(minor / 100);

async function loadCatalog() {
  catalog ??= await api("/billing/catalog");
  return catalog;
}

async function loadWelcome() {
  showExample(document.querySelector(".example[aria-pressed=true]")?.dataset.example ?? "lithophane");
  const { packs, plans } = await loadCatalog();
  const lines = [
    ...packs.map((p) => `${p.credits} credits: ${money(p.price, p.currency)}`),
    ...plans.slice(1).map((p) => `${p.id}: ${p.credits_per_period} credits a month, ${money(p.price, p.currency)}`),
  ];
  $("welcome-pricing").textContent = lines.length ? lines.join(" · ") : `Free: ${+plans[0].limits.max_megapixels.toFixed(1)} megapixels a task.`;
}

// Lithos' own outputs, bundled with the page (made by assets/examples/make.sh).
const EXAMPLES = {
  lithophane: "A lithophane of a photo: thin where it is light, so it shows the picture when lit from behind.",
  relief: "A relief of the same photo: bright is high.",
  "ct-bone": "The bone of a CT scan (a DICOM series) at the bone preset, 300 HU.",
};

async function showExample(name) {
  for (const b of document.querySelectorAll(".example")) b.setAttribute("aria-pressed", String(b.dataset.example === name));
  $("example-note").textContent = EXAMPLES[name];
  try {
    const response = await fetch(`/assets/examples/${name}.stl`);
    if (!response.ok) throw new Error(`the example answered ${response.status}`);
    examples ??= new Preview($("example-preview"));
    await examples.show(await response.arrayBuffer(), "stl");
    $("example-preview").dataset.rendered = name;
  } catch (e) {
    $("example-note").textContent = `${EXAMPLES[name]} (No 3D view: ${e.message}.)`;
  }
}

for (const b of document.querySelectorAll(".example")) b.addEventListener("click", () => showExample(b.dataset.example));

function limitsList(l) {
  return h("ul", {},
    h("li", {}, `up to ${+l.max_megapixels.toFixed(1)} megapixels a task`),
    h("li", {}, `uploads up to ${l.max_upload_mb} MB`),
    l.max_running ? h("li", {}, `${l.max_running} tasks at once`) : null,
    h("li", {}, `outputs kept ${l.retention_days} days`));
}

async function loadPricing() {
  const { packs, plans } = await loadCatalog();
  const buy = (product) => h("button", { type: "button", onclick: () => checkout(product) }, me ? "Buy" : "Sign up to buy");
  $("packs").replaceChildren(...packs.map((p) => h("div", { class: "card offer" },
    h("h3", {}, `${p.credits} credits`), h("p", { class: "price" }, money(p.price, p.currency)), buy(p.id))));
  if (!packs.length) $("packs").append(h("p", { class: "hint" }, "No packs on sale here."));
  $("plans").replaceChildren(...plans.map((p) => h("div", { class: "card offer" },
    h("h3", {}, p.id[0].toUpperCase() + p.id.slice(1)),
    h("p", { class: "price" }, p.price === null || p.price === undefined ? "Free" : `${money(p.price, p.currency)} a month`),
    p.credits_per_period ? h("p", {}, `${p.credits_per_period} credits each month`) : null,
    limitsList(p.limits),
    p.credits_per_period ? buy(p.id) : null)));
}

async function checkout(product) {
  if (!me) { location.hash = "#signup"; return; }
  $("pricing-alert").textContent = "";
  try {
    const { checkout_url } = await api("/billing/checkout", { method: "POST", body: { product } });
    location.href = checkout_url;
  } catch (err) {
    $("pricing-alert").textContent = err.message;
  }
}

/// The billing page; with `checkout`, back from paying: waits for the payment's webhook.
async function loadBilling(checkoutId) {
  const status = $("checkout-status");
  status.textContent = "";
  await showAccount();
  if (!checkoutId) return;
  status.textContent = "Payment sent: waiting for the payment provider to confirm it…";
  for (let i = 0; i < 60; i++) {
    const c = await api(`/billing/checkouts/${encodeURIComponent(checkoutId)}`);
    if (c.status === "completed") {
      await refreshBalance();
      await showAccount();
      status.textContent = `Payment received: your balance is now ${me.credits} credits.`;
      status.dataset.state = "received";
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  status.textContent = "Still waiting for the payment to be confirmed. It can take a few minutes; your credits arrive as soon as it is.";
  status.dataset.state = "waiting";
}

async function showAccount() {
  const account = await api("/billing");
  const card = $("plan-card");
  const sub = account.subscription;
  const actions = [];
  if (sub && ["active", "trialing", "past_due", "unpaid"].includes(sub.status)) {
    actions.push(h("button", { type: "button", class: "secondary", onclick: () => changePlan("cancel") }, "Cancel at the period's end"));
  }
  if (sub && ["scheduled_cancel", "paused"].includes(sub.status)) {
    actions.push(h("button", { type: "button", onclick: () => changePlan("resume") }, "Resume"));
  }
  if (account.payments.length) {
    actions.push(h("button", { type: "button", class: "secondary", onclick: openPortal }, "Payment details and invoices"));
  }
  card.replaceChildren(...[
    h("h2", {}, `Plan: ${account.plan}`),
    account.hold ? h("p", { class: "alert error" }, `Billing hold: ${account.hold}`) : null,
    sub ? h("p", {}, `Subscription ${sub.status}${sub.period_end ? `; ${sub.status === "active" ? "renews" : "ends"} ${when(sub.period_end)}` : ""}.`) : null,
    account.plan_ends_at ? h("p", {}, `The plan ends ${when(account.plan_ends_at)}; then the free plan applies.`) : null,
    limitsList(account.limits),
    h("p", {}, ...actions, " ", h("a", { href: "#pricing" }, "Buy credits or change plans")),
  ].filter(Boolean));
  $("payment-rows").replaceChildren(...account.payments.map((p) => h("tr", {},
    h("td", {}, when(p.created_at)),
    h("td", {}, p.kind === "pack" ? `Pack ${p.product}` : `${p.product} plan period`),
    h("td", {}, money(p.amount_paid, p.currency)),
    h("td", {}, `+${p.credits}${p.clawed_back ? ` (−${p.clawed_back})` : ""}`),
    h("td", {}, p.reversals.map((r) => `${r.kind} ${money(r.amount, r.currency)}: −${r.credits}${r.shortfall ? `, ${r.shortfall} short` : ""}`).join("; ") || "—"))));
  if (!account.payments.length) $("payment-rows").append(h("tr", {}, h("td", { colspan: 5 }, "No payments yet.")));
}

async function changePlan(action) {
  $("billing-alert").textContent = "";
  try {
    await api("/billing/subscription", { method: "POST", body: { action } });
    $("checkout-status").textContent = "Asked; the change shows here once the payment provider confirms it.";
    setTimeout(showAccount, 1500);
  } catch (err) {
    $("billing-alert").textContent = err.message;
  }
}

async function openPortal() {
  try {
    const { url } = await api("/billing/portal", { method: "POST" });
    location.href = url;
  } catch (err) {
    $("billing-alert").textContent = err.message;
  }
}

// ---- start ----------------------------------------------------------------------------

loadJobSchema().catch((err) => { $("page-error").textContent = `the form could not load its options: ${err.message}`; });
window.addEventListener("hashchange", route);
api("/me").then(signedIn, () => route());
