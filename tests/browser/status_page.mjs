// Drives the status page in headless Chromium (the system's browser, through playwright-core) and checks what an
// administrator sees and does. Started by tests/browser/test_status_page.py against the local stack; prints one
// JSON line of measurements on stdout and exits non-zero (with the failed assertion on stderr) when a check fails.
//
// Environment: PAGE_URL (the page, without key), ADMIN_KEY, CHROMIUM (executable), SCREENSHOT_DIR,
// SCENARIO ("sample" or "tenant"), EXPECT (JSON: what the product's own data says the page must show).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const { PAGE_URL, ADMIN_KEY, CHROMIUM, SCREENSHOT_DIR, SCENARIO } = process.env;
const EXPECT = JSON.parse(process.env.EXPECT || "{}");
const LAPTOP = { width: 1366, height: 768 };

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
const result = { scenario: SCENARIO };
try {
  const context = await browser.newContext({ viewport: LAPTOP, serviceWorkers: "block" });
  const page = await context.newPage();
  const requested = [];
  page.on("request", (request) => requested.push({ url: request.url(), headers: request.headers() }));
  const consoleErrors = [];
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  const began = Date.now();
  await page.goto(`${PAGE_URL}?code=${encodeURIComponent(ADMIN_KEY)}`);
  await page.waitForSelector("body[data-loaded='true']", { timeout: 30000 });
  result.load_ms = Date.now() - began;
  result.navigation = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType("navigation");
    return { transfer_bytes: nav.transferSize, body_bytes: nav.decodedBodySize, dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd) };
  });

  // The key left the address bar; every request after the page's own went to this origin with the key in a header.
  assert.ok(!page.url().includes(ADMIN_KEY), "the key is still in the address bar");
  const origin = new URL(PAGE_URL).origin;
  for (const { url, headers } of requested.slice(1)) {
    assert.equal(new URL(url).origin, origin, `a request left the app: ${url}`);
    assert.ok(!url.includes(ADMIN_KEY), `the key is in a requested URL: ${url}`);
    if (new URL(url).pathname.includes("/manage/")) assert.equal(headers["x-functions-key"], ADMIN_KEY);
  }
  result.requests = requested.map(({ url }) => new URL(url).pathname);

  const rows = page.locator("#user-table tbody tr");
  if (SCENARIO === "sample") await sample(page, rows);
  else await tenant(page, rows);

  assert.deepEqual(consoleErrors.filter((e) => !e.includes("/.auth/me") && !e.includes("404")), [],
    "the page logged errors");
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}

async function sample(page, rows) {
  // Every mapped user of the sample tenant is in the table, and the rejected row with its message.
  assert.equal(await rows.count(), EXPECT.users.length);
  const table = await page.locator("#user-table tbody").innerText();
  for (const name of EXPECT.users) assert.ok(table.includes(name), `user ${name} is not listed`);
  if (EXPECT.rejected_user) {
    const skipped = await page.locator("#rejected-users tbody").innerText();
    assert.ok(skipped.includes(EXPECT.rejected_user), `the skipped user is not listed: ${skipped}`);
  }
  const rejected = await page.locator("#rejected tbody").innerText();
  assert.ok(rejected.includes(EXPECT.rejected), `the rejected row is not shown: ${rejected}`);
  // The state `status` gives, in words; the fired deletion guard and the poisoned message are what needs attention.
  const state = page.locator("#state");
  assert.match(await state.innerText(), /Running/);
  assert.equal(await state.getAttribute("data-state"), EXPECT.state);
  assert.match(await state.innerText(), /Needs attention/);
  const attention = await page.locator("#attention").innerText();
  assert.ok(attention.includes(`✖ ${EXPECT.alert}`), `the deletion guard is not shown: ${attention}`);
  assert.match(attention, /1 poison message/);
  assert.ok((await page.locator("#poison tbody").innerText()).includes(EXPECT.poisoned));
  assert.match(await page.locator("#last-runs tbody").innerText(), /blocked by the deletion guard/);
  const lastRuns = await page.locator("#last-runs tbody").innerText();
  assert.match(lastRuns, /Export/);
  assert.ok((await page.locator("#chart rect.written").count()) >= 1, "the chart has no bar for the export run");

  // Readable: every visible text has a contrast of at least 4.5:1 against what is behind it (WCAG AA).
  const lowContrast = await page.evaluate(() => {
    const parse = (css) => {
      const m = /rgba?\(([^)]+)\)/.exec(css);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const luminance = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const behind = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const colour = parse(getComputedStyle(n).backgroundColor);
        if (colour && colour.a > 0) return colour;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const found = [];
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode.parentElement;
      if (!walker.currentNode.textContent.trim() || seen.has(node) || !node.checkVisibility()) continue;
      seen.add(node);
      const [light, dark] = [luminance(parse(getComputedStyle(node).color)), luminance(behind(node))]
        .sort((x, y) => y - x);
      const ratio = (light + 0.05) / (dark + 0.05);
      if (ratio < 4.5) found.push(`${node.tagName} "${node.textContent.trim().slice(0, 40)}": ${ratio.toFixed(2)}`);
    }
    return { found, checked: seen.size };
  });
  result.contrast_checked = lowContrast.checked;
  assert.deepEqual(lowContrast.found, [], "text below 4.5:1 contrast");

  // Keyboard only: skip link, then the filter narrows the table to one user; a header sorts it.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip");
  const target = EXPECT.resync;
  await page.locator("#filter").focus();
  await page.keyboard.type(target.name);
  await page.waitForFunction((n) => document.querySelectorAll("#user-table tbody tr").length === n, 1);
  assert.ok((await rows.first().innerText()).includes(target.name));
  await page.locator("#filter").fill("");
  await page.waitForFunction((n) => document.querySelectorAll("#user-table tbody tr").length === n, EXPECT.users.length);
  const header = page.locator("#user-table th[data-sort='mailbox']");
  await header.locator("button").focus();
  await page.keyboard.press("Enter");
  assert.equal(await header.getAttribute("aria-sort"), "ascending");
  const mailboxes = await page.locator("#user-table tbody tr td:nth-child(2)").allInnerTexts();
  const sorted = [...mailboxes].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  assert.deepEqual(mailboxes, sorted, "the table is not sorted by mailbox");

  // Resync preview: a dry run first, then the resync only after pressing the confirmation.
  const resyncButton = page.getByRole("button", { name: `Resync ${target.name}…` });
  await resyncButton.focus();
  await page.keyboard.press("Enter");
  const dialog = page.locator("#resync-dialog");
  await dialog.locator("#resync-result h3, #resync-result .error").first().waitFor({ timeout: 30000 });
  const previewed = await dialog.locator("#resync-result").innerText();
  assert.match(previewed, /^Dry run — nothing was changed/, `the dry run failed: ${previewed}`);
  assert.doesNotMatch(previewed, /\bnull\b|undefined|\[object/, "the preview shows a programming value");
  result.preview = previewed;
  await page.screenshot({ path: `${SCREENSHOT_DIR}/status-page-resync-preview.png` });
  const confirm = dialog.getByRole("button", { name: `Resync ${target.name} now` });
  assert.ok(await confirm.isEnabled());
  await confirm.click();
  await dialog.getByText(/^Done: run /).waitFor({ timeout: 30000 });
  result.resync = await dialog.locator("dl.counts").innerText();
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector("dialog[open]"));
  // Back on the same user's button once the status has been read again (the rows are new).
  await page.waitForFunction((label) => document.activeElement.getAttribute("aria-label") === label,
    `Resync ${target.name}…`);

  // Renew subscriptions: asks first, then answers what the job did.
  await page.getByRole("button", { name: "Renew subscriptions…" }).click();
  const renew = page.locator("#renew-dialog");
  await renew.getByRole("button", { name: "Renew now" }).click();
  await renew.locator("#renew-result h3, #renew-result .error").first().waitFor({ timeout: 30000 });
  const renewed = await renew.locator("#renew-result").innerText();
  assert.match(renewed, /^Done/, `renewing subscriptions failed: ${renewed}`);
  result.renew = await renew.locator("dl.counts").innerText();
  await renew.getByRole("button", { name: "Close" }).click();
  // Closing a dialog reloads the status: the new subscription is listed.
  await page.waitForFunction(() => document.querySelector("#subscriptions tbody").innerText.includes("active"));
  await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/status-page.png`, fullPage: true });

  // Paused (from the API; the page has no pause button): shown at the top once the status is read again.
  const manage = PAGE_URL.replace(/status-page$/, "");
  const post = (route, body) => fetch(manage + route, { method: "POST", body: JSON.stringify(body || {}),
    headers: { "x-functions-key": ADMIN_KEY, "Content-Type": "application/json" } });
  assert.equal((await post("pause", { reason: "cutover weekend" })).status, 200);
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.waitForFunction(() => document.querySelector("#state").dataset.state === "paused");
  result.paused = await state.innerText();
  assert.match(result.paused, /PAUSED/);
  assert.match(result.paused, /cutover weekend/);
  assert.equal((await post("resume")).status, 200);
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.waitForFunction(() => document.querySelector("#state").dataset.state !== "paused");

  // Every control has a name a screen reader can say; every form field has a label.
  const unnamed = await page.evaluate(() => [...document.querySelectorAll("button, input, select")]
    .filter((c) => !(c.getAttribute("aria-label") || c.textContent.trim() || (c.labels && c.labels.length)))
    .map((c) => c.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
}

async function tenant(page, rows) {
  // A laptop with a large tenant: every user is listed, filtering and sorting stay quick.
  assert.equal(await rows.count(), EXPECT.users_count);
  const filterBegan = Date.now(); // typing, the 120 ms pause the filter waits for, and the re-render
  await page.locator("#filter").fill(EXPECT.filter);
  await page.waitForFunction((n) => document.querySelectorAll("#user-table tbody tr").length === n, EXPECT.filtered);
  result.filter_ms = Date.now() - filterBegan;
  await page.locator("#filter").fill("");
  await page.waitForFunction((n) => document.querySelectorAll("#user-table tbody tr").length === n, EXPECT.users_count);
  // Sorting re-renders synchronously in the click handler; measured in the page, with the layout it forces.
  result.sort_ms = await page.evaluate(() => {
    const button = document.querySelector("#user-table th[data-sort='last_export'] button");
    const began = performance.now();
    button.click();
    button.click();
    document.body.offsetHeight; // eslint-disable-line no-unused-expressions -- layout included
    return Math.round(performance.now() - began);
  });
  assert.equal(await page.locator("#user-table th[data-sort='last_export']").getAttribute("aria-sort"), "descending");
  assert.ok((await rows.first().locator("th").innerText()).includes(EXPECT.latest_export),
    "sorting by last export, newest first, does not put the latest one first");
  await page.screenshot({ path: `${SCREENSHOT_DIR}/status-page-500-users.png` });
}
