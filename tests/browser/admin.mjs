// admin.mjs - the operator pages in Debian's Chromium, driven by playwright-core:
// login at /admin/login, the campaign list and the campaign's burndown (inline SVG
// drawn by the server), the failures with Retry / Cancel for an admin and without
// them for a viewer, a retry from the browser, a certificate's history, search and
// the revocation queue, in Japanese and English. Screenshots of every page in both
// languages go to $SHOTS as admin-*.png. Prints "PASS name" / "FAIL name" / "# note"
// lines for test_admin_browser.sh.
//
// Environment: PORTAL_URL, SHOTS, ADMIN_PW, VIEWER_PW, ORDER_1005, ORDER_1014.
import { chromium } from 'playwright-core';

const base = process.env.PORTAL_URL;
const shots = process.env.SHOTS;

let failed = 0;
function result(ok, name, detail) {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}`);
  if (!ok) {
    failed++;
    if (detail) console.log(`# ${String(detail).replace(/\n/g, '\n# ')}`);
  }
}
async function step(name, fn) {
  try {
    const r = await fn();
    result(r !== false, name);
  } catch (e) {
    result(false, name, e.stack || e);
  }
}
async function shot(page, name) {
  await page.screenshot({ path: `${shots}/admin-${name}.png`, fullPage: true });
}
async function switchLang(page, lang) {
  await Promise.all([page.waitForNavigation(), page.click('#lang-switch')]);
  const got = await page.getAttribute('html', 'lang');
  if (got !== lang) throw new Error(`the switch gave lang=${got}, not ${lang}`);
}
async function login(page, name, pw) {
  await page.goto(`${base}/admin/login`);
  await page.fill('#operator', name);
  await page.fill('#password', pw);
  await Promise.all([page.waitForNavigation(), page.click('#login')]);
}
const count = async (page, sel) => page.locator(sel).count();
const text = async (page, sel) => (await page.locator(sel).innerText()).trim();

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const consoleErrors = [];
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 40[34]/.test(m.text())) consoleErrors.push(m.text());
});

try {
  await step('the operator pages ask for the operator login (ja)', async () => {
    await page.goto(`${base}/admin/campaigns`);
    await shot(page, 'login-ja');
    return page.url().startsWith(`${base}/admin/login`) &&
      (await text(page, 'h1')) === '運用管理ログイン';
  });
  await step('a wrong password is refused with one message', async () => {
    await login(page, 'admin1', 'not-the-password');
    return (await text(page, '#login-error')).includes('正しくありません');
  });
  await step('admin1 logs in and lands on the campaigns', async () => {
    await login(page, 'admin1', process.env.ADMIN_PW);
    return page.url() === `${base}/admin/campaigns` && (await text(page, '#who')).includes('運用 太郎');
  });
  await step('the campaign list: counts by status and a forecast (ja)', async () => {
    const row = page.locator('#campaign-1');
    const n = async (k) => Number((await row.locator(`[data-count="${k}"]`).innerText()).trim());
    // the 12 G3 targets: 1001 and 1010 reissued; 1002 and 1014 in progress; 1005
    // available again (a retry can help); the 7 others not possible (1009 failed for
    // good, the rest for reasons of the inventory)
    const got = [await n('reissued'), await n('in_progress'), await n('impossible'), await n('available')];
    await shot(page, 'campaigns-ja');
    if (got.join(',') !== '2,2,7,1') throw new Error(`counts ${got}`);
    return (await row.locator('[data-forecast]').getAttribute('data-forecast')) !== 'unknown';
  });
  await step('the campaign page draws the burndown as inline SVG (ja)', async () => {
    await page.click('#campaign-1 a');
    await page.waitForSelector('#burndown');
    await shot(page, 'burndown-ja');
    const bars = await count(page, '#burndown rect.reissued');
    const deadline = await page.locator('#burndown .deadline-label').textContent();
    const days = await count(page, '#burndown-table tr[data-day]');
    // twelve days back to today; reissued on the days after 8 days ago
    if (days !== 13) throw new Error(`${days} days in the table`);
    if (!deadline.startsWith('期限')) throw new Error(`deadline label "${deadline}"`);
    return bars >= 8 && (await count(page, '#burndown line.ideal')) >= 1;
  });
  await step('the burndown counts follow the orders: before and after the first reissue', async () => {
    const rows = page.locator('#burndown-table tr[data-day]');
    const cells = async (i) => (await rows.nth(i).locator('td').allTextContents()).slice(1).map(Number);
    const first = await cells(0);
    const day5 = await cells(5);
    // day 0 (12 days ago): nothing yet; day 5 (7 days ago): 1001 reissued, 1002 in progress
    if (first.join(',') !== '0,0,0,12') throw new Error(`first day ${first}`);
    if (day5.join(',') !== '1,1,0,10') throw new Error(`day 5 ${day5}`);
    return true;
  });
  await step('the failures page: reason, Retry and Cancel for an admin (ja)', async () => {
    await page.click('#nav-failures');
    await shot(page, 'failures-ja');
    const row = await text(page, `#order-${process.env.ORDER_1005}`);
    if (!row.includes('192.0.2.1 <script>')) throw new Error(`detail not shown as text: ${row}`);
    return (await count(page, `#retry-${process.env.ORDER_1005}`)) === 1 &&
      (await count(page, `#retry-${process.env.ORDER_1014}`)) === 1 &&
      (await count(page, `#cancel-${process.env.ORDER_1014}`)) === 1;
  });
  await step('the failures page in English', async () => {
    await switchLang(page, 'en');
    await shot(page, 'failures-en');
    return (await text(page, 'h1')) === 'Failed orders' &&
      (await text(page, `#retry-${process.env.ORDER_1005}`)) === 'Retry';
  });
  await step('campaigns and burndown in English', async () => {
    await page.click('#nav-campaigns');
    await shot(page, 'campaigns-en');
    await page.click('#campaign-1 a');
    await page.waitForSelector('#burndown');
    await shot(page, 'burndown-en');
    return (await page.locator('#burndown .deadline-label').textContent()).startsWith('Deadline');
  });
  await step('Retry from the browser queues a new order and shows it in the history (en)', async () => {
    await page.click('#nav-failures');
    await Promise.all([page.waitForNavigation(), page.click(`#retry-${process.env.ORDER_1005}`)]);
    await shot(page, 'history-en');
    const events = await text(page, '#event-list');
    return page.url().startsWith(`${base}/admin/certificates/1005`) &&
      (await count(page, '#orders tr[data-state="queued"]')) === 1 &&
      events.includes('operator:admin1');
  });
  await step('the history in Japanese', async () => {
    await switchLang(page, 'ja');
    await shot(page, 'history-ja');
    return (await text(page, '#events')) === 'できごとの記録' &&
      (await page.locator('#status').getAttribute('data-status')) === 'in_progress';
  });
  await step('search by common name, in both languages', async () => {
    await page.click('#nav-search');
    await page.fill('#q', 'yamada');
    await Promise.all([page.waitForNavigation(), page.click('#search')]);
    await shot(page, 'search-ja');
    const ja = await count(page, '#results tr.hit');
    await switchLang(page, 'en');
    await shot(page, 'search-en');
    return ja === 4 && (await count(page, '#results tr.hit')) === 4;
  });
  await step('a literal % finds nothing', async () => {
    await page.fill('#q', '%');
    await Promise.all([page.waitForNavigation(), page.click('#search')]);
    return (await count(page, '#no-results')) === 1;
  });
  await step('the revocation queue in both languages', async () => {
    await page.click('#nav-revocations');
    await shot(page, 'revocations-en');
    const en = await count(page, '#revocations tr[data-state="done"]');
    await switchLang(page, 'ja');
    await shot(page, 'revocations-ja');
    return en === 1 && (await count(page, '#revocations tr[data-state="done"]')) === 1;
  });
  await step('admin1 logs out', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    await page.goto(`${base}/admin/failures`);
    if (!page.url().startsWith(`${base}/admin/login`)) throw new Error(`at ${page.url()}`);
    await switchLang(page, 'en');
    await shot(page, 'login-en');
    await switchLang(page, 'ja');
    return (await text(page, 'h1')) === '運用管理ログイン';
  });
  await step('a viewer sees the failures without a single button', async () => {
    await login(page, 'viewer1', process.env.VIEWER_PW);
    await page.goto(`${base}/admin/failures`);
    await shot(page, 'failures-viewer-ja');
    return (await count(page, 'main form')) === 0 && (await count(page, '#viewer-note')) === 1 &&
      (await count(page, `#order-${process.env.ORDER_1014}`)) === 1;
  });
  await step('no console errors (the CSP holds: no inline script or style)', async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.join('\n'));
    return true;
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
