// portal.mjs - the customer's journey through the portal in Debian's Chromium,
// driven by playwright-core (issue 11, "Browser tests"), in two worlds:
// - the seeded portal (PORTAL_URL, no workers): login, the list with all four
//   statuses and every reason in ja and en, the confirm screens, a blocking
//   preflight, a page that does not exist, logout;
// - the pipeline portal (PIPE_URL, `certdesk serve` running the workers): reissue ->
//   confirm -> complete -> the self-refreshing order page until `done` -> the list
//   says not needed -> logout.
// A screenshot of every page in both languages goes to $SHOTS. Prints "PASS name" /
// "FAIL name" / "# note" lines for test_browser.sh, and "VALID_FROM date" (what the
// done page says) for it to compare with the certificate served.
//
// Environment: PORTAL_URL, SHOTS (a directory), MEMBER, PASSWORD, PASSWORD2 (m0002's),
// CTS_MGMT (challtestsrv's management URL: the DNS the preflight asks), PIPE_URL,
// PIPE_MEMBER, PIPE_PASSWORD, PIPE_CERT (its certificate id), PIPE_CN.
import { chromium } from 'playwright-core';

const base = process.env.PORTAL_URL;
const shots = process.env.SHOTS;
const member = process.env.MEMBER || 'm0001';
const password = process.env.PASSWORD;

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
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

// The labels and a fragment of each reason's text, as core/i18n.c words them.
const words = {
  ja: {
    status: { available: '再発行', not_needed: '再発行不要', in_progress: '再発行手続中', impossible: '再発行不可' },
    reason: {
      server_problem: '現在ご利用いただける状態にありません',
      foreign_certificate_installed: '別の証明書',
      new_setting_exists: '新しいSSL設定',
      csr_required: 'CSR',
    },
    switchTo: 'English',
  },
  en: {
    status: { available: 'Reissue', not_needed: 'Not needed', in_progress: 'In progress', impossible: 'Not possible' },
    reason: {
      server_problem: 'not in a usable state',
      foreign_certificate_installed: 'Another certificate',
      new_setting_exists: 'new SSL setting',
      csr_required: 'CSR',
    },
    switchTo: '日本語',
  },
};
// m0001's certificates (tests/browser/portal-env.sh) before the browser applies.
const expected = {
  1001: ['available'],
  1002: ['in_progress'],
  1003: ['impossible', 'csr_required'],
  1004: ['not_needed'],
  1008: ['impossible', 'server_problem'],
  1011: ['impossible', 'foreign_certificate_installed'],
  1012: ['impossible', 'new_setting_exists'],
};

async function checkList(page, lang, exp) {
  const w = words[lang];
  for (const [id, [status, reason]] of Object.entries(exp)) {
    const row = page.locator(`#cert-${id}`);
    const got = await row.getAttribute('data-status');
    const label = (await row.locator('.status').innerText()).trim();
    if (got !== status || label !== w.status[status])
      throw new Error(`certificate ${id}: ${got} "${label}", expected ${status} "${w.status[status]}"`);
    const button = await row.locator(`#reissue-${id}`).count();
    if ((status === 'available') !== (button === 1))
      throw new Error(`certificate ${id}: a Reissue button only on available (has ${button})`);
    if (reason) {
      await row.locator('details summary').click();
      const text = await row.locator('details').innerText();
      if (!text.includes(w.reason[reason]))
        throw new Error(`certificate ${id}: details lack "${w.reason[reason]}": ${text}`);
      if (await row.locator(`li[data-reason="${reason}"]`).count() !== 1)
        throw new Error(`certificate ${id}: no ${reason} in the details`);
    }
  }
  return true;
}

async function switchLang(page, lang) {
  await Promise.all([page.waitForNavigation(), page.click('#lang-switch')]);
  const got = await page.getAttribute('html', 'lang');
  if (got !== lang) throw new Error(`the switch gave lang=${got}, not ${lang}`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const consoleErrors = [];
// One context per world: both portals are on 127.0.0.1, and cookies do not tell
// ports apart.
async function newPage() {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
  const p = await context.newPage();
  // a CSP violation is a console error; the 404 page's own status is one too (not counted)
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of 404/.test(m.text())) consoleErrors.push(m.text());
  });
  return p;
}
let page = await newPage();
const pipe = process.env.PIPE_URL;
const pipeCert = process.env.PIPE_CERT;
const pipeCn = process.env.PIPE_CN;
// how long the pipeline may take under load (Pebble, nginx, SMTP, two CAs)
const PIPELINE_MS = 240000;

try {
  // --- the seeded world: every status and reason, no worker ----------------------
  await step('the mail link lands on the Japanese login page', async () => {
    await page.goto(`${base}/reissue?campaign=1`);
    await shot(page, 'login-ja');
    return page.url().startsWith(`${base}/login?next=`) &&
      (await page.getAttribute('html', 'lang')) === 'ja';
  });
  await step('a wrong password shows the one login error (ja)', async () => {
    await page.fill('#member_id', member);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await shot(page, 'login-error-ja');
    return (await page.locator('#login-error').innerText()).includes('正しくありません');
  });
  await step('login lands on the list the mail linked to', async () => {
    await page.fill('#member_id', member);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    return page.url() === `${base}/certificates?campaign=1` &&
      (await page.locator('#campaign').count()) === 1;
  });
  await step('the list shows all four statuses and every reason in Japanese', async () => {
    await checkList(page, 'ja', expected);
    await shot(page, 'list-ja');
    return true;
  });
  await step('in progress shows its stage and a link to the order (ja)', async () => {
    const text = await page.locator('#cert-1002').innerText();
    return text.includes('受付') || (await page.locator('#cert-1002 .stage').count()) === 1;
  });
  await step('the confirmation screen in Japanese: names from DNS, validity, overwrite notice', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#reissue-1001')]);
    await shot(page, 'confirm-ja');
    const names = await page.locator('#names li').allInnerTexts();
    return names.join(' ') === 'yamada-shoten.example.jp www.yamada-shoten.example.jp' &&
      (await page.locator('#overwrite-notice').count()) === 1 &&
      (await page.locator('#new-validity').innerText()).includes('最長') &&
      (await page.locator('#apply').count()) === 1;
  });
  await step('switching to English keeps the page', async () => {
    await switchLang(page, 'en');
    await shot(page, 'confirm-en');
    return (await page.locator('h1').innerText()) === 'Confirm the reissue';
  });
  await step('the list shows all four statuses and every reason in English', async () => {
    await page.goto(`${base}/certificates`);
    await checkList(page, 'en', expected);
    await shot(page, 'list-en');
    return true;
  });
  await step('a page that does not exist (en, ja)', async () => {
    const r = await page.goto(`${base}/orders/999999`);
    await shot(page, 'not-found-en');
    await switchLang(page, 'ja');
    await shot(page, 'not-found-ja');
    // the switch comes back to the page it was pressed on, an error page too
    return r.status() === 404 && page.url() === `${base}/orders/999999` &&
      (await page.locator('h1').innerText()) === 'エラー';
  });
  await step('logout ends the session; the list asks for a login again', async () => {
    await switchLang(page, 'en');
    await page.goto(`${base}/certificates`);
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    await shot(page, 'login-en');
    await page.goto(`${base}/certificates`);
    return page.url().startsWith(`${base}/login`) && (await page.locator('#login').count()) === 1;
  });
  await step('a wrong password shows the one login error (en)', async () => {
    await page.fill('#member_id', member);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await shot(page, 'login-error-en');
    return (await page.locator('#login-error').innerText()).length > 0 &&
      (await page.getAttribute('html', 'lang')) === 'en';
  });
  await step('a preflight problem blocks the confirmation, in both languages; re-check passes once fixed', async () => {
    const cts = (path, body) => fetch(`${process.env.CTS_MGMT}/${path}`, { method: 'POST', body: JSON.stringify(body) });
    await cts('add-caa', { host: 'hanako.example.jp', policies: [{ tag: 'issue', value: 'other-ca.example' }] });
    await page.goto(`${base}/login`);
    await page.fill('#member_id', 'm0002');
    await page.fill('#password', process.env.PASSWORD2);
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await page.goto(`${base}/certificates/1005/reissue`);
    await shot(page, 'confirm-blocked-en');
    const blockedEn = await page.locator('#preflight-problem').innerText();
    await switchLang(page, 'ja');
    await shot(page, 'confirm-blocked-ja');
    const blockedJa = await page.locator('#preflight-problem').innerText();
    if (!blockedEn.includes('CAA') || !blockedJa.includes('CAA') || (await page.locator('#apply').count()) !== 0)
      throw new Error(`not blocked: ${blockedEn} / ${blockedJa}`);
    await cts('clear-caa', { host: 'hanako.example.jp' });
    await Promise.all([page.waitForNavigation(), page.click('#recheck')]);
    await shot(page, 'confirm-install-ja');
    await switchLang(page, 'en');
    await shot(page, 'confirm-install-en');
    return (await page.locator('#apply').count()) === 1 &&
      (await page.locator('#install-notice').count()) === 1;
  });

  // --- the pipeline world: the reissue goes all the way ------------------------------
  page = await newPage();
  let orderUrl = '';
  await step('the member of the pipeline world logs in from the mail link (ja)', async () => {
    await page.goto(`${pipe}/reissue?campaign=1`);
    await page.fill('#member_id', process.env.PIPE_MEMBER);
    await page.fill('#password', process.env.PIPE_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await shot(page, 'pipeline-list-ja');
    return page.url() === `${pipe}/certificates?campaign=1` &&
      (await page.getAttribute(`#cert-${pipeCert}`, 'data-status')) === 'available';
  });
  await step('reissue -> the confirmation names both names from DNS (ja, en)', async () => {
    await Promise.all([page.waitForNavigation(), page.click(`#reissue-${pipeCert}`)]);
    await shot(page, 'pipeline-confirm-ja');
    const names = (await page.locator('#names li').allInnerTexts()).join(' ');
    await switchLang(page, 'en');
    await shot(page, 'pipeline-confirm-en');
    return names === `${pipeCn} www.${pipeCn}` && (await page.locator('#overwrite-notice').count()) === 1;
  });
  await step('apply -> the application-complete screen (en)', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#apply')]);
    await shot(page, 'complete-en');
    return /\/orders\/\d+\/complete$/.test(page.url()) &&
      (await page.locator('#complete').innerText()).includes('complete');
  });
  await step('back to the confirm page: it is not cached and leads to the one order', async () => {
    const completeUrl = page.url();
    await page.goBack();
    await page.waitForLoadState();
    // no-store: the browser asks again, and an order in progress redirects to it
    const here = page.url();
    await page.goto(completeUrl);
    return here === completeUrl.replace(/\/complete$/, '');
  });
  await step('the complete screen in Japanese', async () => {
    await switchLang(page, 'ja');
    await shot(page, 'complete-ja');
    return (await page.locator('#complete').innerText()).includes('受け付けました');
  });
  await step('the order page shows its stages with times, refreshing without script (ja, en)', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#see-order')]);
    orderUrl = page.url();
    await shot(page, 'order-ja');
    const state = await page.getAttribute('#order-state', 'data-state');
    const refresh = await page.locator('meta[http-equiv="refresh"]').count();
    const stages = await page.locator('ol.stages li').count();
    const queuedTime = await page.locator('li[data-stage="queued"] time').innerText();
    await switchLang(page, 'en');
    await shot(page, 'order-en');
    console.log(`# the order page first showed ${state}`);
    return stages === 12 && /\d{4}-\d\d-\d\d \d\d:\d\d/.test(queuedTime) &&
      (state === 'done' || refresh === 1);
  });
  await step('the page refreshes itself until the order is done (the real pipeline)', async () => {
    // meta refresh only: count the loads the page makes by itself while we watch
    let loads = 0;
    const onLoad = () => loads++;
    page.on('load', onLoad);
    const end = Date.now() + PIPELINE_MS;
    let state = '';
    let seen = new Set();
    while (Date.now() < end) {
      try {
        state = await page.getAttribute('#order-state', 'data-state', { timeout: 5000 });
        seen.add(state);
      } catch (e) {
        state = ''; // between two documents of a refresh
      }
      if (state === 'done' || state === 'failed' || state === 'canceled') break;
      await page.waitForTimeout(250);
    }
    page.off('load', onLoad);
    await shot(page, 'order-done-en');
    console.log(`# states seen: ${[...seen].join(' ')}; ${loads} refreshes`);
    if (state !== 'done')
      throw new Error(`the order is ${state}: ${await page.locator('main').innerText()}`);
    return page.url() === orderUrl && (loads > 0 || seen.size === 1);
  });
  await step('the done page: no refresh, every stage reached with its time, none current, the new validity (en)', async () => {
    const refresh = await page.locator('meta[http-equiv="refresh"]').count();
    const classes = await page.locator('ol.stages li').evaluateAll((l) => l.map((e) => e.className));
    const times = await page.locator('ol.stages li time').allInnerTexts();
    const done = await page.locator('#order-done').innerText();
    const m = /new certificate: (\d{4}-\d\d-\d\d) \S (\d{4}-\d\d-\d\d)/.exec(done);
    if (!m) throw new Error(`no validity on the done page: ${done}`);
    console.log(`VALID_FROM ${m[1]}`);
    if (refresh !== 0 || classes.some((c) => c !== 'reached') || times.some((t) => !/\d\d:\d\d/.test(t)))
      throw new Error(`refresh ${refresh}, stages ${classes.join(' ')}, times ${times.join(' | ')}`);
    return done.includes('valid from');
  });
  await step('the done page in Japanese says how to check the lock and the start date', async () => {
    await switchLang(page, 'ja');
    await shot(page, 'order-done-ja');
    const done = await page.locator('#order-done').innerText();
    return done.includes('再発行が完了しました') && done.includes('有効期間の開始') &&
      (await page.locator('#order-state').innerText()).length > 0;
  });
  await step('the list now says not needed (ja, en)', async () => {
    await page.goto(`${pipe}/certificates`);
    await shot(page, 'list-done-ja');
    const ja = await page.locator(`#cert-${pipeCert} .status`).innerText();
    await switchLang(page, 'en');
    await shot(page, 'list-done-en');
    const en = await page.locator(`#cert-${pipeCert} .status`).innerText();
    return (await page.getAttribute(`#cert-${pipeCert}`, 'data-status')) === 'not_needed' &&
      ja === '再発行不要' && en === 'Not needed' &&
      (await page.locator(`#reissue-${pipeCert}`).count()) === 0;
  });
  await step('logout ends the session of the pipeline world', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    await page.goto(orderUrl);
    return page.url().startsWith(`${pipe}/login`);
  });
  await step('no console errors (the CSP holds: no inline script or style)', async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.join('\n'));
    return true;
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
