// The web pages in real headless Chromium against a real `lithos serve` (see harness.mjs).
//
//   node --test tests/browser/        (after `cargo build` and `npm ci --prefix console`)
//
// Screenshots of every page go to test-output/browser/; a failed test names its screenshot.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import {
  ADMIN,
  CREEM,
  GENERATION,
  USER,
  accessible,
  assertClosedManifold,
  assertPreviewLit,
  base,
  binary,
  browser,
  creemBase,
  dataDir,
  dropFile,
  fitsWidth,
  generatorBase,
  litFraction,
  horse,
  OIDC_USER,
  root,
  shot,
  shots,
  signedIn,
  signedUp,
  withPage,
} from "./harness.mjs";

let userTaskId = null;

test("a user signs up, uploads horse.png, converts it, previews and downloads a closed, manifold STL", async () => {
  await withPage("user-flow", async (page) => {
    const response = await page.goto("/#signup");
    const csp = response.headers()["content-security-policy"];
    assert.match(csp, /script-src 'self' 'sha256-[^']+';/, "the import map is allowed by its hash");
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(response.headers()["x-content-type-options"], "nosniff");
    const signup = page.locator("#view-signup");
    await signup.getByLabel("Name").fill(USER.name);
    await signup.getByLabel("Email").fill(USER.email);
    await signup.getByLabel("Date of birth").fill("1990-05-17");
    await signup.getByLabel(/^Password/).fill("short");
    await signup.getByRole("button", { name: "Create my account" }).click();
    await page.locator("#signup-password-error").filter({ hasText: /./ }).waitFor();
    assert.equal(await page.getAttribute("#signup-password", "aria-invalid"), "true", "the error is beside its field");
    await shot(page, "01-signup-error");
    await signup.getByLabel(/^Password/).fill(USER.password);
    await signup.getByRole("button", { name: "Create my account" }).click();
    await page.locator("#view-convert:not(.hidden)").waitFor();
    await accessible(page);

    await dropFile(page, "#drop", "horse.png", horse, "image/png");
    await page.locator("#drop-hint", { hasText: "horse.png" }).waitFor();
    assert.equal(await page.locator("#upload-progress").evaluate((p) => p.value), 100, "the upload reached 100%");
    await page.getByLabel("Mode").selectOption("relief");
    await page.getByLabel(/^Detail/).fill("-3");
    await page.locator("#p-max_grid-error").filter({ hasText: /at least/ }).waitFor();
    assert.ok(await page.locator("#submit").isDisabled(), "an invalid field blocks the conversion");
    await page.getByLabel(/^Detail/).fill("256");
    await page.getByLabel(/^Width/).fill("60");
    await page.locator("#cost", { hasText: /costs 1 credit/ }).waitFor();
    // The mesh tolerance: the form says what to expect before converting. On a grid no larger
    // than the preview's, the preview is the task, so its count is exact.
    await page.getByLabel(/^Mesh tolerance/).fill("0.05");
    const expected = page.locator("#expected", { hasText: /Expect about [\d,]+ triangles, \d+ kB as STL/ });
    await expected.waitFor();
    const expectedTriangles = Number((await expected.textContent()).match(/about ([\d,]+)/)[1].replaceAll(",", ""));
    await shot(page, "02-convert-ready");

    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#task-status[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    const made = Number((await page.locator("#task-status").textContent()).match(/Done: ([\d,]+) triangles/)[1].replaceAll(",", ""));
    assert.equal(made, expectedTriangles, "the task made what the form expected");
    assert.equal(await page.locator("#task-progress").evaluate((p) => p.value), 100, "progress reached 100%");
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    await assertPreviewLit(page);
    await page.locator("#preview").focus();
    await page.keyboard.press("ArrowLeft");
    await shot(page, "03-convert-done");

    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    const path = join(shots, "horse.stl");
    await download.saveAs(path);
    assertClosedManifold(readFileSync(path));
    userTaskId = (await page.evaluate(() => fetch("/api/v1/tasks").then((r) => r.json()))).tasks[0].id;

    await page.goto("/#history");
    await page.locator("#history-rows tr", { hasText: "succeeded" }).waitFor();
    await shot(page, "04-history");
    await page.goto("/#credits");
    await page.locator("#ledger-rows tr", { hasText: "capture" }).waitFor();
    assert.equal(await page.locator("#credits-balance").textContent(), "19", "20 granted, 1 spent");
    await shot(page, "05-credits");

    await page.goto("/#keys");
    await page.locator("#view-keys").getByLabel(/^Name/).fill("laptop");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.locator("#new-key-value").filter({ hasText: /./ }).waitFor();
    const key = await page.locator("#new-key-value").textContent();
    assert.match(key, /^lk_/, "the new key is shown");
    const me = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200, "the shown key works");
    await shot(page, "06-keys");
    await page.reload();
    await page.locator("#key-rows tr", { hasText: "laptop" }).waitFor();
    assert.ok(await page.locator("#new-key").isHidden(), "the key is shown only once");
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Revoke laptop" }).click();
    await page.locator("#key-rows", { hasText: "No keys." }).waitFor();
    const revoked = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(revoked.status, 401, "a revoked key stops working");

    await page.goto("/#convert");
    await fitsWidth(page, 360);
    await shot(page, "07-convert-360px");
  });
});

test("an admin sees the job in the overview and the jobs list, and adjusts credits into the ledger", async () => {
  assert.ok(userTaskId, "the user's task exists (the first test ran)");
  await withPage("admin-flow", async (page) => {
    const response = await page.goto("/console");
    assert.match(response.headers()["content-security-policy"], /frame-ancestors 'none'/);
    await page.locator("#view-login:not(.hidden)").waitFor();
    assert.match(page.url(), /next=\/console/, "signed out: sent to log in");
    const login = page.locator("#view-login");
    await login.getByLabel("Email").fill(ADMIN.email);
    await login.getByLabel("Password").fill(ADMIN.password);
    await login.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/console/);
    await page.locator("#count-processed", { hasText: /^[1-9]/ }).waitFor();
    assert.equal(await page.locator("#count-failed").textContent(), "0");
    await page.locator("#chart-jobs canvas").waitFor();
    await accessible(page);
    for (const w of ["5 minutes", "24 hours"]) {
      await page.getByRole("button", { name: w }).click();
      await page.locator("#updated", { hasText: w === "5 minutes" ? "Window 5m" : "Window 24h" }).waitFor();
      assert.equal(await page.locator("#count-processed").textContent(), "1", `the job counts in the ${w} window`);
    }
    await shot(page, "10-console-overview");

    await page.getByRole("link", { name: "Workers" }).click();
    await page.locator("#worker-rows tr", { hasText: "live" }).waitFor();
    assert.match(await page.locator("#worker-rows").textContent(), /cpu/, "the backend is shown");
    await shot(page, "11-console-workers");

    await page.getByRole("link", { name: "Jobs" }).click();
    await page.getByLabel("User (email or id)").fill("ada@");
    await page.getByLabel("State").selectOption("succeeded");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.locator("#job-rows tr", { hasText: USER.email }).waitFor();
    assert.equal(await page.locator("#job-rows tr").count(), 1, "the user's one job");
    await shot(page, "12-console-jobs");
    await page.locator(`#job-rows a[href="#job/${userTaskId}"]`).click();
    await page.locator("#job-body", { hasText: "Attempts" }).waitFor();
    const detail = await page.locator("#job-body").textContent();
    assert.match(detail, /succeeded/);
    assert.match(detail, /"max_grid": 256/, "the parameters");
    assert.match(detail, /mesh|top_surface|thickness/i, "per-stage timings");
    assert.ok(await page.getByRole("link", { name: "Download output" }).isVisible(), "the output link");
    await page.waitForFunction(() => document.querySelector("#job-body img.job-thumb")?.complete);
    assert.equal(await page.locator("#job-body img.job-thumb").evaluate((i) => i.naturalWidth), 512, "the thumbnail");
    await shot(page, "13-console-job");

    await page.getByRole("link", { name: "Users" }).click();
    await page.getByLabel("Email contains").fill("ada");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: USER.email }).click();
    await page.locator("#user-balance", { hasText: "19" }).waitFor();
    await page.getByRole("button", { name: "Adjust" }).click();
    assert.match(await page.locator("#adjust-amount-error").textContent(), /non-zero/, "an amount is required");
    await page.getByLabel(/^Amount/).fill("5");
    await page.getByRole("button", { name: "Adjust" }).click();
    assert.match(await page.locator("#adjust-reason-error").textContent(), /why/, "a reason is required");
    await page.locator("#adjust-form").getByLabel(/^Reason/).fill("goodwill for the slow preview");
    await page.getByRole("button", { name: "Adjust" }).click();
    await page.locator("#user-ledger tr", { hasText: "goodwill for the slow preview" }).waitFor();
    assert.equal(await page.locator("#user-balance").textContent(), "24", "19 + 5");
    const row = await page.locator("#user-ledger tr", { hasText: "goodwill" }).textContent();
    assert.match(row, /adjustment/);
    assert.match(row, /\+5/);
    await shot(page, "14-console-user");

    await page.getByRole("link", { name: "Usage" }).click();
    await page.locator("#mode-rows tr", { hasText: "relief" }).waitFor();
    await shot(page, "15-console-usage");
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.locator("#audit-rows tr", { hasText: "user.credits" }).waitFor();
    assert.match(await page.locator("#audit-rows").textContent(), new RegExp(ADMIN.email), "with the admin");
    await shot(page, "16-console-audit");
    await fitsWidth(page, 360);
  });
  // The same entry, through the user's own API: exactly one adjustment of +5.
  const login = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: USER.email, password: USER.password }) });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const credits = await (await fetch(`${base}/api/v1/credits?limit=100`, { headers: { cookie } })).json();
  assert.equal(credits.balance, 24);
  const adjustments = credits.entries.filter((e) => e.kind === "adjustment");
  assert.deepEqual(adjustments.map((e) => [e.amount, e.reason]), [[5, "goodwill for the slow preview"]]);
});

test("a non-admin who opens /console is refused", async () => {
  await withPage("non-admin", async (page) => {
    await page.goto("/#login");
    const login = page.locator("#view-login");
    await login.getByLabel("Email").fill(USER.email);
    await login.getByLabel("Password").fill(USER.password);
    await login.getByRole("button", { name: "Log in" }).click();
    await page.locator("#view-convert:not(.hidden)").waitFor();
    assert.ok(await page.locator("#console-link").isHidden(), "no console link for users");
    const response = await page.goto("/console");
    assert.equal(response.status(), 403);
    await page.locator("#refused").waitFor();
    await shot(page, "20-console-refused");
    const api = await page.evaluate(() => fetch("/api/v1/admin/overview").then((r) => r.status));
    assert.equal(api, 403, "and so is the console's API");
  });
});

test("a dark shape and its light surround, as OBJ and PLY, are previewed and fill the slab between them", async () => {
  await withPage("solid-formats", async (page) => {
    await signedUp(page, { name: "Grace", email: "grace@lithos.test", password: "another passphrase 3" });
    await dropFile(page, "#drop", "horse.png", horse, "image/png");
    await page.locator("#drop-hint", { hasText: "horse.png" }).waitFor();
    await page.getByLabel("Mode").selectOption("solid");
    // The form's defaults are the engine's (a 100 mm width); this solid is 80 mm wide.
    await page.getByLabel(/^Width/).fill("80");
    await page.getByLabel(/^Detail/).fill("128");
    await page.getByLabel(/^Top edge bevel/).fill("0");
    const meshes = {};
    for (const [format, invert] of [["obj", true], ["ply", false]]) {
      await page.getByLabel(/Invert: the dark parts/).setChecked(invert);
      await page.getByLabel("File format").selectOption(format);
      await page.locator("#cost", { hasText: /costs \d+ credit/ }).waitFor();
      await page.getByRole("button", { name: "Convert" }).click();
      await page.locator(`#preview[data-rendered="${format}"]`).waitFor({ timeout: 120_000 });
      assert.equal(await page.locator("#preview-note").textContent(), "", "no preview problem reported");
      await assertPreviewLit(page);
      await shot(page, `30-solid-${format}`);
      // The task's file, read with the loaders the preview uses: its triangles, enclosed volume
      // and footprint.
      meshes[format] = await page.evaluate(async () => {
        const task = (await (await fetch("/api/v1/tasks")).json()).tasks[0];
        const buffer = await (await fetch(`/api/v1/tasks/${task.id}/output`)).arrayBuffer();
        let geometry;
        if (task.format === "obj") {
          const { OBJLoader } = await import("three/addons/loaders/OBJLoader.js");
          new OBJLoader().parse(new TextDecoder().decode(buffer)).traverse((n) => { if (n.isMesh) geometry = n.geometry; });
        } else {
          const { PLYLoader } = await import("three/addons/loaders/PLYLoader.js");
          geometry = new PLYLoader().parse(buffer);
        }
        const p = geometry.attributes.position.array;
        const index = geometry.index?.array ?? [...Array(p.length / 3).keys()];
        let volume = 0;
        for (let t = 0; t < index.length; t += 3) {
          const [a, b, c] = [index[t] * 3, index[t + 1] * 3, index[t + 2] * 3];
          volume += (p[a] * (p[b + 1] * p[c + 2] - p[b + 2] * p[c + 1])
            - p[a + 1] * (p[b] * p[c + 2] - p[b + 2] * p[c])
            + p[a + 2] * (p[b] * p[c + 1] - p[b + 1] * p[c])) / 6;
        }
        geometry.computeBoundingBox();
        const { min, max } = geometry.boundingBox;
        return { triangles: index.length / 3, expected: task.result.triangles, volume, size: [max.x - min.x, max.y - min.y, max.z - min.z] };
      });
      const m = meshes[format];
      assert.ok(m.triangles > 100, `a real mesh (${m.triangles} triangles)`);
      assert.equal(m.triangles, m.expected, `the ${format} file holds the task's triangles`);
      assert.ok(m.volume > 0, `the ${format} mesh encloses a positive volume (${m.volume} mm³)`);
      assert.ok(Math.abs(m.size[2] - 5) < 1e-3, `the extrusion is 5 mm high (${m.size[2]})`);
    }
    // The light surround spans the image; the dark horse and it together fill the 5 mm slab.
    const [w, h] = meshes.ply.size;
    assert.ok(Math.abs(w - 80) < 1, `the surround is 80 mm wide (${w})`);
    const slab = w * h * 5;
    const sum = meshes.obj.volume + meshes.ply.volume;
    assert.ok(Math.abs(sum - slab) / slab < 0.01, `shape + surround = ${sum.toFixed(0)} mm³, slab ${slab.toFixed(0)} mm³`);
    assert.ok(meshes.obj.volume < meshes.ply.volume, "the horse is the smaller part");
  });
});

test("a lithophane as 3MF and as GLB is previewed, shows its backlit view, and history shows thumbnails", async () => {
  await withPage("lithophane-formats", async (page) => {
    await signedUp(page, { name: "Hedy", email: "hedy@lithos.test", password: "a third passphrase 4" });
    await dropFile(page, "#drop", "horse.png", horse, "image/png");
    await page.locator("#drop-hint", { hasText: "horse.png" }).waitFor();
    await page.getByLabel("Mode").selectOption("lithophane");
    await page.getByLabel(/^Detail/).fill("128");
    // The format list comes from the API's MeshFormat schema.
    const offered = await page.locator("#format option").evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(offered, ["stl", "stl-ascii", "ply", "obj", "3mf", "glb"]);
    for (const format of ["3mf", "glb"]) {
      await page.getByLabel("File format").selectOption(format);
      await page.locator("#cost", { hasText: /costs \d+ credit/ }).waitFor();
      await page.getByRole("button", { name: "Convert" }).click();
      await page.locator(`#preview[data-rendered="${format}"]`).waitFor({ timeout: 120_000 });
      assert.equal(await page.locator("#preview-note").textContent(), "", "no preview problem reported");
      await assertPreviewLit(page);
      await shot(page, `40-lithophane-${format}`);
    }
    // The backlit view, behind its toggle: the picture the task stored, one pixel a grid point.
    await page.locator("#backlit-on").check();
    const backlit = page.locator("#backlit");
    await backlit.waitFor();
    await page.waitForFunction(() => document.querySelector("#backlit").complete);
    const size = await backlit.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
    const task = (await page.evaluate(() => fetch("/api/v1/tasks").then((r) => r.json()))).tasks[0];
    assert.deepEqual(size, task.result.grid, "the backlit view of the lithophane");
    assert.ok(await page.locator("#preview").isHidden(), "it takes the 3D view's place");
    await shot(page, "41-lithophane-backlit");
    await page.locator("#backlit-on").uncheck();
    assert.ok(await page.locator("#preview").isVisible());

    await page.goto("/#history");
    await page.locator("#history-rows img.thumb").first().waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll("#history-rows img.thumb")].every((i) => i.complete));
    const thumbs = await page.locator("#history-rows img.thumb").evaluateAll((is) => is.map((i) => i.naturalWidth));
    assert.deepEqual(thumbs, [512, 512], "each conversion's 512-pixel thumbnail");
    await shot(page, "42-history-thumbnails");
  });
});

test("a free preview follows the options before paying; history reopens a result and converts it again with changes", async () => {
  await withPage("live-preview", async (page) => {
    await signedUp(page, { name: "Lise", email: "lise@lithos.test", password: "a fourth passphrase 5" });
    const balance = await page.locator("#balance").textContent();
    await dropFile(page, "#drop", "horse.png", horse, "image/png");
    await page.locator("#drop-hint", { hasText: "horse.png" }).waitFor();
    await page.getByLabel("Mode").selectOption("lithophane");
    // A preview before any credit is spent: the panel, lit, with its backlit view.
    await page.locator('#preview[data-rendered="live"]').waitFor({ timeout: 30_000 });
    await page.locator("#preview-note", { hasText: "Free preview at" }).waitFor();
    await assertPreviewLit(page);
    const flat = await page.locator("#preview").getAttribute("data-size");
    await page.locator("#backlit-on").check();
    assert.match(await page.locator("#backlit").getAttribute("src"), /^data:image\/png;base64,/);
    assert.ok(await page.locator("#backlit").isVisible());
    await page.locator("#backlit-on").uncheck();
    await shot(page, "45-live-preview-flat");

    // The shape picker shows each shape's own options, and only those.
    const shown = () => page.locator("#shape-options [data-shape]:not(.hidden) [name]").evaluateAll((es) => es.map((e) => e.name).sort());
    assert.deepEqual(await shown(), ["feet", "hanger_mm", "outline"]);
    // A cylinder from the shape picker: the preview curves (its footprint is the diameter).
    await page.getByLabel("Shape", { exact: true }).selectOption("cylinder");
    assert.deepEqual(await shown(), ["ring_mm", "socket_mm", "top_ring_mm"]);
    await page.waitForFunction((before) => document.querySelector("#preview").dataset.size !== before, flat);
    const [across] = (await page.locator("#preview").getAttribute("data-size")).split(" × ").map(Number);
    const [width] = flat.split(" × ").map(Number);
    assert.ok(Math.abs(across - width / Math.PI) < 1, `a tube ${across} mm across from a panel ${width} mm wide`);
    await assertPreviewLit(page);
    await shot(page, "46-live-preview-cylinder");
    assert.equal(await page.locator("#balance").textContent(), balance, "previews are free");

    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#preview[data-rendered="stl"]').waitFor({ timeout: 120_000 });

    // History reopens it: its mesh and its options; a change previews and converts again.
    await page.goto("/#history");
    await page.locator(".open-task").first().click();
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    assert.equal(await page.getByLabel("Shape", { exact: true }).inputValue(), "cylinder");
    assert.equal(await page.locator("#mode").inputValue(), "lithophane");
    await page.getByLabel(/^Bottom ring height/).fill("3");
    await page.locator('#preview[data-rendered="live"]').waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Convert", exact: true }).click();
    // The reopened task's status already says "Done": wait for the new task to be done.
    await page.waitForFunction(
      () => fetch("/api/v1/tasks").then((r) => r.json()).then((b) => b.tasks.length === 2 && b.tasks[0].status === "succeeded"),
      null,
      { timeout: 120_000, polling: 500 },
    );
    await page.locator("#task-status", { hasText: "Done" }).waitFor({ timeout: 120_000 });
    const tasks = (await page.evaluate(() => fetch("/api/v1/tasks").then((r) => r.json()))).tasks;
    assert.equal(tasks.length, 2);
    assert.equal(tasks[0].upload_id, tasks[1].upload_id, "from the same file");
    assert.deepEqual([tasks[0].params.shape, tasks[0].params.ring_mm], ["cylinder", 3]);
    await shot(page, "47-converted-again");

    // The same model as 3MF, made free from the task.
    await page.locator("#other-format").selectOption("3mf");
    await page.locator("#make-format").click();
    await page.locator('#preview[data-rendered="3mf"]').waitFor({ timeout: 120_000 });
    assert.equal(await page.locator("#download").textContent(), "Download 3MF");
    const after = (await page.evaluate(() => fetch("/api/v1/tasks").then((r) => r.json()))).tasks;
    assert.deepEqual([after.length, after[0].derived_from, after[0].cost], [3, tasks[0].id, 0]);
    await shot(page, "48-another-format");
  });
});

test("the console's jobs list keeps the rows that More brought in when it refreshes", async () => {
  // One more user's 20 one-credit tasks: with the earlier tests' jobs, more than a page.
  const register = await fetch(`${base}/api/v1/auth/register`, { method: "POST",
    headers: { "Content-Type": "application/json", Origin: base },
    body: JSON.stringify({ email: "many@lithos.test", password: "many tasks passphrase", name: "Many", birth_date: "1990-05-17" }) });
  assert.equal(register.status, 201);
  const cookie = register.headers.get("set-cookie").split(";")[0];
  const key = (await (await fetch(`${base}/api/v1/api-keys`, { method: "POST",
    headers: { "Content-Type": "application/json", Origin: base, cookie }, body: JSON.stringify({ name: "many" }) })).json()).key;
  const form = new FormData();
  form.append("file", new Blob([horse], { type: "image/png" }), "horse.png");
  const auth = { Authorization: `Bearer ${key}` };
  const upload = await (await fetch(`${base}/api/v1/uploads`, { method: "POST", headers: auth, body: form })).json();
  for (let i = 0; i < 20; i++) {
    const task = await fetch(`${base}/api/v1/tasks`, { method: "POST", headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ upload_id: upload.id, mode: "relief", params: { max_grid: 16 } }) });
    assert.equal(task.status, 201);
  }
  await withPage("jobs-refresh", async (page) => {
    await signedIn(page, ADMIN);
    await page.goto("/console#jobs");
    const rows = page.locator("#job-rows tr");
    await page.locator("#job-rows tr").nth(19).waitFor();
    assert.equal(await rows.count(), 20, "one page");
    await page.locator("#jobs-more").click();
    await page.locator("#job-rows tr").nth(20).waitFor();
    const shown = await rows.count();
    assert.ok(shown > 20, `More added rows (${shown})`);
    // The list refreshes every 5 seconds; it must still show as many rows after it has.
    await page.waitForResponse((r) => r.url().includes("/admin/jobs?") && !r.url().includes("cursor="), { timeout: 8000 });
    await page.waitForTimeout(300);
    assert.equal(await rows.count(), shown, "the refresh kept the rows More brought in");
  });
});

test("a slow quote never overwrites the answer to the form as it is now", async () => {
  await withPage("stale-quote", async (page) => {
    await signedIn(page, ADMIN);
    await page.goto("/#convert");
    await page.reload(); // the app learns of the session as it loads
    await page.locator("#view-convert:not(.hidden)").waitFor();
    await dropFile(page, "#drop", "horse.png", horse, "image/png");
    await page.locator("#drop-hint", { hasText: "horse.png" }).waitFor();
    await page.getByLabel("Mode").selectOption("relief");
    await page.locator("#cost", { hasText: /costs/ }).waitFor();
    // The quote for a 200-point grid is held back 1.5 s; the one for 8 points goes at once.
    await page.route("**/api/v1/tasks/quote", async (route) => {
      const slow = route.request().postData().includes('"max_grid":200');
      if (slow) await new Promise((r) => setTimeout(r, 1500));
      await route.continue().catch(() => {}); // an aborted request has nothing to continue
    });
    await page.getByLabel(/^Detail/).fill("200");
    await page.waitForRequest((r) => r.url().endsWith("/tasks/quote") && r.postData().includes('"max_grid":200'));
    await page.getByLabel(/^Detail/).fill("8");
    await page.locator("#cost", { hasText: /a 8 × / }).waitFor();
    await page.waitForTimeout(2000);
    assert.match(await page.locator("#cost").textContent(), /a 8 × /, "the 200-point answer came late and was dropped");
  });
});

test("the preview keeps a file's own normals and frees what it replaces", async () => {
  await withPage("preview-normals", async (page) => {
    await page.goto("/");
    const result = await page.evaluate(async () => {
      const { Preview } = await import("/assets/preview.js");
      const canvas = document.createElement("canvas");
      canvas.width = 200; canvas.height = 150;
      document.body.append(canvas);
      const preview = new Preview(canvas);
      // A triangle in the XY plane whose file normals point along X (computed ones would not).
      const ply = ["ply", "format ascii 1.0", "element vertex 3", "property float x", "property float y",
        "property float z", "property float nx", "property float ny", "property float nz", "element face 1",
        "property list uchar int vertex_indices", "end_header",
        "0 0 0 1 0 0", "1 0 0 1 0 0", "0 1 0 1 0 0", "3 0 1 2", ""].join("\n");
      const bytes = new TextEncoder().encode(ply).buffer;
      await preview.show(bytes, "ply");
      const normal = [...preview.mesh.geometry.getAttribute("normal").array.slice(0, 3)];
      let disposed = 0;
      const first = preview.mesh;
      first.material.dispose = () => { disposed += 1; };
      first.geometry.dispose = () => { disposed += 1; };
      const obj = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 1 0 0\nf 1//1 2//1 3//1\n";
      await preview.show(new TextEncoder().encode(obj).buffer, "obj");
      const objNormal = [...preview.mesh.geometry.getAttribute("normal").array.slice(0, 3)];
      return { normal, objNormal, disposed };
    });
    // Rotating Z-up to Y-up turns about X, which leaves an X normal as it is.
    assert.deepEqual(result.normal.map((v) => Math.round(v * 1000) / 1000), [1, 0, 0], "PLY normals kept");
    assert.deepEqual(result.objNormal.map((v) => Math.round(v * 1000) / 1000), [1, 0, 0], "OBJ normals kept");
    assert.equal(result.disposed, 2, "the replaced mesh's geometry and material were freed");
  });
});

test("a user drops a CT series, sets the isovalue on its histogram, converts it and sees the bone", async () => {
  // The series as a PACS exports it: pydicom's slices in a ZIP (tests/engine/scripts).
  const cases = mkdtempSync(join(tmpdir(), "lithos-dicom-"));
  execFileSync("python3", [join(root, "tests/engine/scripts/dicom_cases.py"), cases]);
  const series = readFileSync(join(cases, "phantom.zip"));
  rmSync(cases, { recursive: true, force: true });
  await withPage("volume-flow", async (page) => {
    await signedUp(page, { name: "Radiographer", email: "ct@lithos.test", password: "a long passphrase 3" });

    await dropFile(page, "#drop", "phantom.zip", series, "application/zip");
    await page.locator("#volume-panel:not(.hidden)").waitFor();
    await page.locator("#volume-facts", { hasText: "64 × 56 × 30 voxels" }).waitFor();
    assert.match(await page.locator("#volume-facts").textContent(), /-1000 to 560 HU/);
    await page.locator("#histogram canvas").waitFor();
    const modes = await page.locator("#mode option").evaluateAll((o) => o.map((e) => e.value));
    assert.deepEqual(modes, ["volume", "text", "prompt"], "a scan is converted as a volume (text and prompts need no file)");

    // The line starts at Otsu's threshold; a preset moves it, and so does dragging it.
    const iso = () => page.locator("#histogram").getAttribute("data-iso").then(Number);
    await page.getByRole("button", { name: "Bone (300 HU)" }).click();
    assert.equal(await page.locator("#p-iso").inputValue(), "bone");
    assert.equal(await iso(), 300);
    const over = await page.locator("#histogram .u-over").boundingBox();
    await page.mouse.move(over.x + over.width * 0.25, over.y + over.height / 2);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.2, over.y + over.height / 2, { steps: 4 });
    await page.mouse.up();
    const dragged = Number(await page.locator("#p-iso").inputValue());
    assert.ok(dragged > -1000 && dragged < -500, `dragging a fifth of the way in sets about -690 HU (${dragged})`);
    assert.equal(await iso(), dragged, "the line is where the field says");
    await shot(page, "08-volume-histogram");
    await page.getByRole("button", { name: "Bone (300 HU)" }).click();
    await page.locator("#cost", { hasText: /costs 1 credit/ }).waitFor();
    await accessible(page);

    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#task-status[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    await assertPreviewLit(page);
    await shot(page, "09-volume-preview");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    const path = join(shots, "phantom.stl");
    await download.saveAs(path);
    const stl = readFileSync(path);
    assertClosedManifold(stl);
    // The bone cylinder: radius 6 mm, 30 slices of 1.25 mm.
    let volume = 0;
    const v = (o) => [stl.readFloatLE(o), stl.readFloatLE(o + 4), stl.readFloatLE(o + 8)];
    for (let t = 0, n = stl.readUInt32LE(80); t < n; t++) {
      const o = 84 + 50 * t + 12;
      const [a, b, c] = [v(o), v(o + 12), v(o + 24)];
      volume += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6;
    }
    const cylinder = Math.PI * 36 * 37.5;
    assert.ok(Math.abs(volume / cylinder - 1) < 0.02, `the bone is ${volume.toFixed(0)} mm³, the cylinder ${cylinder.toFixed(0)}`);
  });
});

test("a user drops a broken STL, reads what is wrong with it, converts it and gets a closed solid", async () => {
  // A sphere with three holes and two faces turned over, as trimesh writes it.
  const cases = mkdtempSync(join(tmpdir(), "lithos-models-"));
  execFileSync("python3", [join(root, "tests/engine/scripts/models.py"), cases]);
  const broken = readFileSync(join(cases, "broken.stl"));
  rmSync(cases, { recursive: true, force: true });
  await withPage("mesh-flow", async (page) => {
    await signedUp(page, { name: "Maker", email: "stl@lithos.test", password: "a long passphrase 4" });
    await dropFile(page, "#drop", "broken.stl", broken, "model/stl");
    await page.locator("#model-panel:not(.hidden)").waitFor();
    await page.locator("#model-problems", { hasText: "3 holes" }).waitFor();
    assert.match(await page.locator("#model-problems").textContent(), /2 flipped faces/);
    assert.match(await page.locator("#model-facts").textContent(), /STL, 1,277 triangles, 1 shell/);
    const modes = await page.locator("#mode option").evaluateAll((o) => o.map((e) => e.value));
    assert.deepEqual(modes, ["mesh", "text", "prompt"], "a 3D file is converted as a mesh (text and prompts need no file)");
    // The file as dropped, holes and all, drawn before it is repaired.
    await page.locator('#original[data-rendered="stl"]').waitFor();
    const before = await litFraction(page, "#original");
    assert.ok(before > 0.02, `the original is drawn (${(before * 100).toFixed(1)}% of pixels lit)`);
    await page.locator("#cost", { hasText: /costs 1 credit/ }).waitFor();
    await accessible(page);
    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#task-status[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    assert.match(await page.locator("#task-status").textContent(), /Checked: closed, manifold and oriented; 1 shell/);
    assert.match(await page.locator("#task-status").textContent(), /3 holes filled, 2 faces flipped/);
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    // The repaired model in the result, beside the original, which stays on show.
    assert.ok(await page.locator("#original").isVisible(), "the original beside the repair");
    assert.match(await page.locator("#original-note").textContent(), /before repair/);
    await shot(page, "09b-mesh-repaired");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    const path = join(shots, "repaired.stl");
    await download.saveAs(path);
    assertClosedManifold(readFileSync(path));
  });
});

test("a user types a name, previews it as a keychain, converts it without a file and gets one closed solid", async () => {
  await withPage("text-flow", async (page) => {
    await signedUp(page, { name: "Namer", email: "text@lithos.test", password: "a long passphrase 4" });
    await page.locator("#mode").selectOption("text");
    await page.locator("#p-text").fill("Lia\nLithos");
    await page.locator("#p-layout").selectOption("keychain");
    await page.locator("#cost", { hasText: /costs 1 credit \(a \d+ × \d+ field\)/ }).waitFor();
    await page.locator('#preview[data-rendered="live"]').waitFor();
    await accessible(page);
    await shot(page, "09c-text-preview");
    const before = Number(await page.locator("#balance").textContent());
    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#task-status[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    assert.match(await page.locator("#task-status").textContent(), /Checked: closed, manifold and oriented; 1 shell/);
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    await shot(page, "09d-text-keychain");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    const path = join(shots, "keychain.stl");
    await download.saveAs(path);
    assertClosedManifold(readFileSync(path));
    // A letter the font lacks is named on its field, and nothing is charged.
    await page.locator("#p-text").fill("日本");
    await page.locator("#p-text-error", { hasText: /no letter for/ }).waitFor();
    assert.equal(Number(await page.locator("#balance").textContent()), before - 1, "the keychain's one credit, no more");
  });
});

test("a user types a prompt, sees its price, converts it without a file and gets the provider's broken model closed", async () => {
  await withPage("prompt-flow", async (page) => {
    await signedUp(page, { name: "Prompter", email: "prompt@lithos.test", password: "a long passphrase 6" });
    await page.locator("#mode").selectOption("prompt");
    await page.locator("#p-prompt").fill("a broken vase, for the test");
    await page.locator("#cost", { hasText: `costs ${GENERATION.credits} credits (a model generated from the prompt` }).waitFor();
    // A prompt has no free preview: each generation costs at the provider.
    assert.notEqual(await page.locator("#preview").getAttribute("data-rendered"), "live");
    await accessible(page);
    await shot(page, "09e-prompt");
    const before = Number(await page.locator("#balance").textContent());
    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#task-status[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    assert.match(await page.locator("#task-status").textContent(), /Checked: closed, manifold and oriented; 1 shell/);
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    await shot(page, "09f-prompt-result");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    assert.equal(download.suggestedFilename(), "prompt.stl");
    const path = join(shots, "prompt.stl");
    await download.saveAs(path);
    assertClosedManifold(readFileSync(path));
    assert.equal(Number(await page.locator("#balance").textContent()), before - GENERATION.credits, "the quoted credits, no more");
    // The provider was asked once, with the prompt as typed.
    const tasks = await (await fetch(`${generatorBase}/control/tasks`)).json();
    assert.deepEqual(tasks.map((t) => t.prompt), ["a broken vase, for the test"]);
  });
});

/** A PNG's chunks in order, each with its kind and its bytes (length, kind, data and CRC). */
function pngChunks(png) {
  const chunks = [];
  for (let i = 8; i < png.length; ) {
    const end = i + 12 + png.readUInt32BE(i);
    chunks.push({ kind: png.toString("latin1", i + 4, i + 8), bytes: png.subarray(i, end) });
    i = end;
  }
  return chunks;
}

test("a user drops a photo, picks Sculpt over its free preview, sees the provider's price and gets its model closed", async () => {
  await withPage("sculpt-flow", async (page) => {
    await signedUp(page, { name: "Sculptor", email: "sculpt@lithos.test", password: "a long passphrase 8" });
    await dropFile(page, "#drop", "horse.png", horse, "image/png");
    await page.locator('#preview[data-rendered="live"]').waitFor({ timeout: 30_000 });
    const modes = await page.locator("#mode option").evaluateAll((o) => o.map((e) => e.value));
    assert.deepEqual(modes, ["relief", "lithophane", "solid", "sculpt", "text", "prompt"], "a photo is also sculpted");
    await page.locator("#mode").selectOption("sculpt");
    await page.locator("#cost", { hasText: `costs ${GENERATION.credits} credits (a model generated from the photo` }).waitFor();
    // The relief's free preview is taken away: the provider charges each generation.
    await page.locator("#preview-note", { hasText: "No free preview" }).waitFor();
    assert.equal(await page.locator("#preview").getAttribute("data-rendered"), null);
    // A generated model is fitted into a 6 cm cube on the bed unless asked otherwise.
    assert.equal(await page.locator("#p-fit_mm").inputValue(), "60, 60, 60");
    await accessible(page);
    await shot(page, "09g-sculpt");
    const before = Number(await page.locator("#balance").textContent());
    await page.getByRole("button", { name: "Convert" }).click();
    await page.locator('#task-status[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    assert.match(await page.locator("#task-status").textContent(), /Checked: closed, manifold and oriented; 1 shell/);
    await page.locator('#preview[data-rendered="stl"]').waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    const path = join(shots, "sculpt.stl");
    await download.saveAs(path);
    assertClosedManifold(readFileSync(path));
    assert.equal(Number(await page.locator("#balance").textContent()), before - GENERATION.credits, "the quoted credits, no more");
    // The provider got the photo once: every chunk byte for byte but its text (an iTXt).
    const tasks = (await (await fetch(`${generatorBase}/control/tasks`)).json()).filter((t) => t.kind === "image");
    assert.equal(tasks.length, 1);
    const chunks = pngChunks(horse);
    assert.ok(chunks.some((c) => c.kind === "iTXt"), "scikit-image's horse.png carries text");
    const sent = Buffer.concat([horse.subarray(0, 8), ...chunks.filter((c) => c.kind !== "iTXt").map((c) => c.bytes)]);
    assert.equal(tasks[0].image.sha256, createHash("sha256").update(sent).digest("hex"));
  });
});

test("a visitor sees what Lithos makes and its prices, signs up, buys a pack through Creem and sees it arrive", async () => {
  await withPage("buy-flow", async (page) => {
    await page.goto("/");
    await page.locator("#view-welcome:not(.hidden)").waitFor();
    await page.locator('#example-preview[data-rendered="lithophane"]').waitFor();
    await page.getByRole("button", { name: "CT bone" }).click();
    await page.locator('#example-preview[data-rendered="ct-bone"]').waitFor();
    const lit = await litFraction(page, "#example-preview");
    assert.ok(lit > 0.01, `the example is drawn (${(lit * 100).toFixed(1)}% lit)`);
    await page.locator("#welcome-pricing", { hasText: "100 credits" }).waitFor();
    await shot(page, "10-welcome");
    await page.getByRole("navigation", { name: "Visitor" }).getByRole("link", { name: "Pricing" }).click();
    await page.locator("#packs .offer", { hasText: "100 credits" }).waitFor();
    await page.locator("#plans .offer", { hasText: "500 credits each month" }).waitFor();
    await shot(page, "11-pricing-signed-out");
    await fitsWidth(page, 360);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.goto("/#signup");
    const signup = page.locator("#view-signup");
    await signup.getByLabel("Name").fill("Buyer");
    await signup.getByLabel("Email").fill("buyer@lithos.test");
    await signup.getByLabel("Date of birth").fill("1990-05-17");
    await signup.getByLabel(/^Password/).fill("a long passphrase 4");
    await signup.getByRole("button", { name: "Create my account" }).click();
    await page.locator("#view-convert:not(.hidden)").waitFor();
    await page.goto("/#pricing");
    await page.locator("#packs .offer", { hasText: "100 credits" }).getByRole("button", { name: "Buy" }).click();

    // Creem's hosted page (the stand-in): a declined card, then a good one.
    await page.waitForURL(`${creemBase}/checkout/**`);
    await page.getByLabel("Card number").fill("4000 0000 0000 0002");
    await page.getByRole("button", { name: /^Pay/ }).click();
    await page.locator("#message", { hasText: "declined" }).waitFor();
    await page.getByLabel("Card number").fill("4242 4242 4242 4242");
    await page.getByRole("button", { name: /^Pay/ }).click();

    await page.waitForURL(/#billing\?checkout=/);
    await page.locator('#checkout-status[data-state="received"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator("#checkout-status").textContent(), /balance is now 120 credits/);
    assert.equal(await page.locator("#balance").textContent(), "120");
    await page.locator("#payment-rows tr", { hasText: "+100" }).waitFor();
    await accessible(page);
    await shot(page, "12-billing-paid");
  });
  // The console shows the payment, the revenue and the webhook that granted it.
  await withPage("billing-console", async (page) => {
    await page.goto("/#login");
    const login = page.locator("#view-login");
    await login.getByLabel("Email").fill(ADMIN.email);
    await login.getByLabel("Password").fill(ADMIN.password);
    await login.getByRole("button", { name: "Log in" }).click();
    await page.locator("#nav:not(.hidden)").waitFor();
    await page.goto("/console#billing");
    await page.locator("#payment-rows tr", { hasText: "buyer@lithos.test" }).waitFor();
    assert.match(await page.locator("#payment-rows").textContent(), /9\.00 EUR/);
    await page.locator("#chart-revenue canvas").waitFor();
    await page.locator("#inbox-rows tr", { hasText: "checkout.completed" }).waitFor();
    await accessible(page);
    await shot(page, "14-console-billing");
  });
});

test("a person signs in with a login provider's button, gives a birth date first, and lands signed in", async () => {
  await withPage("provider-sign-in", async (page) => {
    await page.goto("/#login");
    const button = page.getByRole("link", { name: "Continue with Lab SSO" });
    await button.waitFor();
    await accessible(page);
    await shot(page, "login-with-provider");
    await button.click();
    // At the provider: its own login form.
    await page.waitForURL(/\/interaction\//);
    await page.fill('input[name="login"]', OIDC_USER.login);
    await page.fill('input[name="password"]', OIDC_USER.password);
    await page.click('button[type="submit"]');
    // Back at Lithos: the birth date comes before any account.
    await page.waitForURL(/#join\?/);
    await page.locator("#join-intro", { hasText: "Lab SSO" }).waitFor();
    await accessible(page);
    await page.fill("#join-birth_date", "1990-05-17");
    await page.click('#join-form button[type="submit"]');
    await page.waitForURL(/#convert/);
    await page.locator("#nav").waitFor();
    const me = await page.evaluate(() => fetch("/api/v1/me").then((r) => r.json()));
    assert.equal(me.email, OIDC_USER.email);
    assert.equal(me.email_verified, true, "the provider vouched for it");
    assert.equal(me.has_password, false);
    // The account page lists the provider, and keeps the last way in.
    await page.goto("/#account");
    await page.locator("#method-rows li", { hasText: "Lab SSO" }).waitFor();
    await page.locator("#delete-recent").waitFor();
    await page.locator("#method-rows button", { hasText: "Unlink" }).click();
    await page.locator("#methods-alert", { hasText: "only way to sign in" }).waitFor();
    await shot(page, "account-sign-in-methods");
  });
});
