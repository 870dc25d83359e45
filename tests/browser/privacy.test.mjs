// Support and privacy in real headless Chromium against a real `lithos serve` (see
// harness.mjs): a user files a support request, an administrator answers it in the console's
// inbox, and the user sees the answer; the user exports their data and deletes the account.
//
//   node --test tests/browser/        (after `cargo build` and `npm ci --prefix console`)

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ADMIN, accessible, base, dataDir, fitsWidth, shot, signedIn, withPage } from "./harness.mjs";

/// The newest link with a token in the mail to `address` that the server wrote to its outbox
/// (no SMTP is configured here), quoted-printable decoded.
function linkMailedTo(address, kind) {
  const dir = join(dataDir, "outbox");
  const mails = readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), "latin1"))
    .filter((m) => m.toLowerCase().includes(`to: ${address}`));
  const text = mails.at(-1).replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  const link = new RegExp(`https?://[^\\s"<>]*#${kind}\\?token=[0-9a-f]+`).exec(text);
  assert.ok(link, `a #${kind} link in the mail to ${address}`);
  return new URL(link[0]);
}

const HORSE = join(dirname(new URL(import.meta.url).pathname), "../data/horse.png");
const ASKER = { name: "Asker", email: "asker@lithos.test", password: "asking passphrase 5" };

test("a user files a support request, an admin replies in the console, and the user sees the reply", async () => {
  await withPage("support-ask", async (page) => {
    await page.goto("/#signup");
    const signup = page.locator("#view-signup");
    await signup.getByLabel("Name").fill(ASKER.name);
    await signup.getByLabel("Email").fill(ASKER.email);
    await signup.getByLabel("Date of birth").fill("1988-02-29");
    await signup.getByLabel(/^Password/).fill(ASKER.password);
    await signup.getByRole("button", { name: "Create my account" }).click();
    await page.locator("#view-convert:not(.hidden)").waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Support" }).click();
    const form = page.locator("#support-form");
    await form.getByLabel("About").selectOption("billing");
    await form.getByLabel("Subject").fill("Where did my credits go?");
    await form.getByLabel("Message").fill("I had 20 credits.\nNow I have fewer.");
    await form.getByRole("button", { name: "Send" }).click();
    await page.locator("#support-thread:not(.hidden)").waitFor();
    await page.locator("#support-rows tr", { hasText: "Where did my credits go?" }).waitFor();
    await accessible(page);
    await shot(page, "20-support-filed");
  });

  await withPage("support-answer", async (page) => {
    await signedIn(page, ADMIN);
    await page.goto("/console#support");
    await page.locator("#support-rows a", { hasText: "Where did my credits go?" }).click();
    await page.locator("#requester-detail", { hasText: ASKER.email }).waitFor();
    await page.locator("#requester-detail", { hasText: "balance 20 credits" }).waitFor();
    await page.locator("#request-messages", { hasText: "Now I have fewer." }).waitFor();
    await page.getByLabel("Reply").fill("Nothing was spent: your balance is 20.");
    await page.getByRole("button", { name: "Send reply" }).click();
    await page.locator("#request-meta", { hasText: "Answered" }).waitFor();
    await accessible(page);
    await shot(page, "21-console-support-reply");
  });

  await withPage("support-read", async (page) => {
    await signedIn(page, ASKER);
    await page.goto("/#support");
    const row = page.locator("#support-rows tr", { hasText: "Where did my credits go?" });
    await row.locator("[data-state=answered]").waitFor();
    await row.getByRole("link").click();
    await page.locator("#thread-messages .message.support", { hasText: "Nothing was spent: your balance is 20." }).waitFor();
    await shot(page, "22-support-reply-seen");
    await fitsWidth(page, 360);
  });
});

test("a visitor writes to support with an email address", async () => {
  await withPage("support-visitor", async (page) => {
    await page.goto("/#support");
    const form = page.locator("#support-form");
    assert.equal(await page.locator("#support-task-field").isHidden(), true, "no task to pick when signed out");
    await form.getByLabel(/Your email address/).fill("visitor@lithos.test");
    await form.getByLabel("About").selectOption("abuse");
    await form.getByLabel("Subject").fill("A copy of my logo");
    await form.getByLabel("Message").fill("Someone sells my logo as a relief.");
    await form.getByRole("button", { name: "Send" }).click();
    await page.locator("#support-sent", { hasText: "visitor@lithos.test" }).waitFor();
    await accessible(page);
  });
});

test("a user exports their data, then deletes the account, and the email can sign up again", async () => {
  await withPage("privacy-account", async (page) => {
    await signedIn(page, ASKER);
    await page.goto("/#account");
    await page.locator("#account-email", { hasText: ASKER.email }).waitFor();
    await page.locator("#session-rows", { hasText: "(this one)" }).waitFor();
    await page.getByLabel(/^An image/).setInputFiles(HORSE);
    await page.getByRole("button", { name: "Use this picture" }).click();
    const drawn = await page.locator("#avatar-image:not(.hidden)").evaluate(async (img) => {
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    assert.deepEqual(drawn, [256, 256], "the picture is a 256 px square");
    await page.getByRole("button", { name: "Export my data" }).click();
    const link = page.getByRole("link", { name: "Download my data" });
    await link.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const zip = await download.createReadStream().then(async (stream) => {
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      return Buffer.concat(chunks);
    });
    assert.equal(zip.subarray(0, 4).toString("latin1"), "PK\u0003\u0004", "a ZIP");
    assert.ok(zip.includes(Buffer.from("support_requests.json")), "with the support requests");
    await accessible(page);
    await shot(page, "23-account");

    page.once("dialog", (d) => d.accept());
    await page.locator("#delete-form").getByLabel("Your password").fill("not the password");
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.locator("#delete-password-error", { hasText: "wrong" }).waitFor();
    page.once("dialog", (d) => d.accept());
    await page.locator("#delete-form").getByLabel("Your password").fill(ASKER.password);
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.locator("#view-welcome:not(.hidden)").waitFor();
    const me = await page.evaluate(() => fetch("/api/v1/me").then((r) => r.status));
    assert.equal(me, 401, "signed out: the session is gone");
  });
  const again = await fetch(`${base}/api/v1/auth/register`, { method: "POST",
    headers: { "Content-Type": "application/json", Origin: base },
    body: JSON.stringify({ email: ASKER.email, password: ASKER.password, name: "Asker again", birth_date: "1988-02-29" }) });
  assert.equal(again.status, 201, "the email registers again");
});

test("a new user confirms the address from the mail, and someone who forgot the password sets a new one", async () => {
  const who = { name: "Forgetful", email: "forgetful@lithos.test", password: "first passphrase 6" };
  await withPage("email-links", async (page) => {
    await page.goto("/#signup");
    const signup = page.locator("#view-signup");
    await signup.getByLabel("Name").fill(who.name);
    await signup.getByLabel("Email").fill(who.email);
    await signup.getByLabel("Date of birth").fill("1979-07-07");
    await signup.getByLabel(/^Password/).fill(who.password);
    await signup.getByRole("button", { name: "Create my account" }).click();
    await page.locator("#verify-banner:not(.hidden)", { hasText: who.email }).waitFor();
    await page.waitForTimeout(200);
    const verify = linkMailedTo(who.email, "verify");
    await page.goto(`${verify.pathname}${verify.hash}`);
    await page.locator("#verify-result[data-state=done]", { hasText: "is confirmed" }).waitFor();
    await page.getByRole("button", { name: "Log out" }).click();
    await page.locator("#view-welcome:not(.hidden)").waitFor();
    await page.getByRole("navigation", { name: "Visitor" }).getByRole("link", { name: "Log in" }).click();
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Your account's email address").fill(who.email);
    await page.getByRole("button", { name: "Send me a link" }).click();
    await page.locator("#reset-requested", { hasText: "If an account has this address" }).waitFor();
    await page.waitForTimeout(200);
    const reset = linkMailedTo(who.email, "reset");
    await page.goto(`${reset.pathname}${reset.hash}`);
    await page.getByLabel(/^New password/).fill("second passphrase 7");
    await accessible(page);
    await page.getByRole("button", { name: "Set my new password" }).click();
    await page.locator("#login-notice", { hasText: "Your password is set" }).waitFor();
    await page.locator("#view-login").getByLabel("Email").fill(who.email);
    await page.locator("#view-login").getByLabel("Password").fill("second passphrase 7");
    await page.locator("#view-login").getByRole("button", { name: "Log in" }).click();
    await page.locator("#view-convert:not(.hidden)").waitFor();
    assert.equal(await page.locator("#verify-banner").isHidden(), true, "the address is confirmed");
  });
});
