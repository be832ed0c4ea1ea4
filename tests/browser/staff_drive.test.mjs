// A collection drive run from the staff console in real headless Chromium,
// against the real gateway, server and Redis: a staff member signs in, opens
// the event, checks a participant in by code, logs weigh-ins (one while the
// browser is offline: queued, then sent once, never twice), watches the live
// totals and the venue screen (which renews its token through the console,
// never with the refresh token); the language switch works. Screenshots go to
// build/test-artifacts/browser/staff_drive/.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch } from './lib/browser.mjs';
import { ADMIN_PASSWORD, Stack } from './lib/stack.mjs';

const STAFF_LOGIN = 'sato.k';
const STAFF_PASSWORD = 'staff-password-1234';

let stack;
let browser;
let page;
let eventId;
let citizenCode;
let citizenToken;
let staffToken;
let venue;  // the venue screen opened from the console
let shot = 0;

async function screenshot(name) {
  shot += 1;
  await page.screenshot({ path: path.join(stack.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// What formatCo2 in the page shows for `grams` in Japanese (kg, one decimal).
function co2Ja(grams) {
  return `${new Intl.NumberFormat('ja', { maximumFractionDigits: 1 }).format(grams / 1000)} kg`;
}

async function live() {
  return stack.call('EventsService', 'GetEventLive', { eventId }, staffToken);
}

describe('staff console', () => {
  before(async () => {
    stack = await Stack.start('staff_drive');
    const admin = await stack.call('IdentityService', 'SignIn', { accountId: 'admin', secret: ADMIN_PASSWORD });
    await stack.call('IdentityService', 'CreateStaff', {
      requestId: 'staff-sato-0001', login: STAFF_LOGIN, password: STAFF_PASSWORD, displayName: '佐藤',
    }, admin.token);
    const now = Date.now();
    const event = await stack.call('EventsService', 'CreateEvent', {
      requestId: 'event-frontale-0001', kind: 'EVENT_KIND_DRIVE', name: 'フロンターレ古着回収',
      place: '等々力陸上競技場', ward: 'nakahara',
      startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 3 * 3600_000).toISOString(),
      acceptedActionTypes: ['clothing_reuse', 'clothing_recycling'],
    }, admin.token);
    eventId = event.eventId;
    await stack.call('EventsService', 'AssignStaff', { eventId, staffLogins: [STAFF_LOGIN] }, admin.token);
    const citizen = await stack.call('IdentityService', 'Register', {
      requestId: 'register-mika-0001', nickname: 'みか', ward: 'nakahara',
    });
    citizenToken = citizen.token;
    citizenCode = (await stack.call('EventsService', 'GetCheckInCode', {}, citizen.token)).code;
    staffToken = (await stack.call('IdentityService', 'SignIn', { accountId: STAFF_LOGIN, secret: STAFF_PASSWORD })).token;
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
  });

  it('speaks Japanese by default and signs the staff member in', async () => {
    await page.goto(`${stack.baseUrl}/staff.html`);
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();
    await page.getByLabel('ログイン名').fill(STAFF_LOGIN);
    await page.getByLabel('パスワード').fill('wrong-password-0000');
    await page.getByRole('button', { name: 'サインイン' }).click();
    // Refused: the server's message is shown and nothing else happens.
    await page.locator('#signin-error').filter({ hasText: /\S/ }).waitFor();
    await screenshot('signin-refused');
    await page.getByLabel('パスワード').fill(STAFF_PASSWORD);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByRole('heading', { name: '担当イベント' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'サインイン' }).isVisible(), false, 'still signed in');
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('ecoact.session')).token);
    assert.ok(token.length > 20, 'the access token is kept in sessionStorage');
    await screenshot('events');
  });

  it('opens the assigned event', async () => {
    await page.getByRole('button', { name: /フロンターレ古着回収/ }).click();
    await page.getByRole('heading', { name: 'フロンターレ古着回収' }).waitFor();
    assert.equal(await page.locator('#event-status').textContent(), '開始前');
    await page.getByRole('button', { name: '受付を開始' }).click();
    await page.locator('#event-status', { hasText: '受付中' }).waitFor();
    assert.equal((await live()).event.status, 'EVENT_STATUS_OPEN');
  });

  it('shows the server\'s message for a mistyped code, then checks the participant in', async () => {
    await page.getByLabel(/参加者のコード/).fill('NOT-A-REAL-CODE');
    await page.getByRole('button', { name: 'チェックイン', exact: true }).click();
    const result = page.locator('#checkin-result.error');
    await result.filter({ hasText: /\S/ }).waitFor();
    await screenshot('checkin-refused');
    await page.getByLabel(/参加者のコード/).fill(citizenCode);
    await page.getByRole('button', { name: 'チェックイン', exact: true }).click();
    await page.getByText(/みか さんをチェックインしました/).waitFor();
    assert.equal(await page.isChecked('#who-participant'), true, 'the weigh-in is credited to the participant');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'weight', 'focus moves to the weight');
    assert.equal(await page.getAttribute('#weight', 'inputmode'), 'decimal');
    assert.equal(int((await live()).participants), 1);
  });

  it('logs weigh-ins with the keyboard and shows the live totals', async () => {
    await page.selectOption('#action-type', 'clothing_reuse');
    await page.locator('#weight').fill('3.2');
    await page.locator('#weight').press('Enter');
    await page.locator('#entries li[data-state="recorded"]').first().waitFor();

    await page.getByLabel('匿名の持ち込み').check();
    await page.selectOption('#action-type', 'clothing_recycling');
    await page.locator('#weight').fill('1,5');  // a comma keypad
    await page.locator('#weight').press('Enter');
    await page.locator('#entries li[data-state="recorded"]').nth(1).waitFor();

    await page.locator('#weight').fill('150');
    await page.locator('#weight').press('Enter');
    await page.getByText(/100 kg 以下の数で入力してください/).waitFor();

    const totals = await live();
    assert.equal(totals.byActionType.reduce((n, r) => n + int(r.entries), 0), 2);
    assert.ok(int(totals.co2eGrams) > 0);
    await page.locator('#live-co2', { hasText: co2Ja(int(totals.co2eGrams)) }).waitFor();
    await page.locator('#live-participants', { hasText: '1' }).waitFor();
    assert.equal(await page.locator('#live-types tr').count(), 2);
    await screenshot('weigh-ins-and-live-totals');
  });

  it('keeps a weigh-in made offline and sends it once when back online', async () => {
    await browser.context.setOffline(true);
    await page.evaluate(() => window.dispatchEvent(new Event('offline')));
    await page.getByLabel('匿名の持ち込み').check();
    await page.selectOption('#action-type', 'clothing_reuse');
    await page.locator('#weight').fill('2');
    await page.locator('#weight').press('Enter');
    await page.locator('#connection', { hasText: /オフラインです.*未送信 1 件/ }).waitFor();
    await page.locator('#entries li[data-state="queued"]').waitFor();
    await screenshot('offline-queued');
    assert.equal((await live()).byActionType.reduce((n, r) => n + int(r.entries), 0), 2, 'nothing sent while offline');

    await browser.context.setOffline(false);
    await page.locator('#entries li[data-state="queued"]').waitFor({ state: 'detached' });
    await page.locator('#connection').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#entries li[data-state="recorded"]').count(), 3);
    const totals = await live();
    assert.equal(totals.byActionType.reduce((n, r) => n + int(r.entries), 0), 3, 'sent exactly once');
    await page.locator('#live-co2', { hasText: co2Ja(int(totals.co2eGrams)) }).waitFor();
  });

  it('renews a refused access token with the refresh token, once', async () => {
    const before = await page.evaluate(() => JSON.parse(sessionStorage.getItem('ecoact.session')));
    await page.evaluate(() => {
      const session = JSON.parse(sessionStorage.getItem('ecoact.session'));
      session.token = 'not.a-valid.token';
      sessionStorage.setItem('ecoact.session', JSON.stringify(session));
    });
    await page.getByLabel('匿名の持ち込み').check();
    await page.locator('#weight').fill('0.8');
    await page.locator('#weight').press('Enter');
    await page.locator('#entries li[data-state="recorded"]').nth(3).waitFor();
    const after = await page.evaluate(() => JSON.parse(sessionStorage.getItem('ecoact.session')));
    assert.notEqual(after.token, 'not.a-valid.token');
    assert.notEqual(after.refreshToken, before.refreshToken, 'the refresh token is single use: replaced');
    assert.equal((await live()).byActionType.reduce((n, r) => n + int(r.entries), 0), 4);
  });

  it('opens the venue screen, which refreshes by itself', async () => {
    const [screen] = await Promise.all([
      browser.context.waitForEvent('page'),
      page.getByRole('link', { name: '会場スクリーンを開く' }).click(),
    ]);
    await screen.waitForLoadState();
    const before = int((await live()).co2eGrams);
    await screen.locator('#live-co2', { hasText: co2Ja(before) }).waitFor();
    await screen.locator('#live-board tr', { hasText: 'みか' }).waitFor();
    // A weigh-in logged elsewhere shows without a reload.
    const outcome = await stack.call('EventsService', 'RecordWeighIn', {
      eventId, clientEntryId: 'tablet2-0001', actionType: 'clothing_reuse', weightKg: 10,
    }, staffToken);
    await screen.locator('#live-co2', { hasText: co2Ja(before + int(outcome.co2eGrams)) }).waitFor({ timeout: 20000 });
    await screen.screenshot({ path: path.join(stack.artifacts, `${String(++shot).padStart(2, '0')}-venue-screen.png`), fullPage: true });
    const copy = await screen.evaluate(() => JSON.parse(sessionStorage.getItem('ecoact.session')));
    assert.ok(copy.token, 'the venue screen uses the staff access token');
    assert.equal(copy.refreshToken, undefined, 'but drops the copied refresh token: only the console rotates it');
    venue = screen;
  });

  it('renews the venue screen\'s token through the console, which alone rotates the refresh token', async () => {
    const screen = venue;
    const sessionOf = (p) => p.evaluate(() => JSON.parse(sessionStorage.getItem('ecoact.session')));
    // The venue screen's token runs out: it asks the console for its current one.
    const expire = (token) => {
      const session = JSON.parse(sessionStorage.getItem('ecoact.session'));
      if (token) session.token = token;
      session.tokenExpiresAt = new Date(Date.now() - 1000).toISOString();
      sessionStorage.setItem('ecoact.session', JSON.stringify(session));
    };
    let console0 = await sessionOf(page);
    await screen.evaluate(expire, 'not.a-valid.token');
    await screen.waitForFunction((token) => JSON.parse(sessionStorage.getItem('ecoact.session')).token === token,
      console0.token);
    assert.equal((await sessionOf(page)).refreshToken, console0.refreshToken, 'a valid console token is handed over as is');

    // Now the console's token is about to expire too: the console renews it
    // (its refresh token, once) and hands the new one to the venue screen.
    await page.evaluate(expire);
    await screen.evaluate(expire, 'not.a-valid.token');
    await page.waitForFunction((old) => JSON.parse(sessionStorage.getItem('ecoact.session')).refreshToken !== old,
      console0.refreshToken);
    const console1 = await sessionOf(page);
    await screen.waitForFunction((token) => JSON.parse(sessionStorage.getItem('ecoact.session')).token === token,
      console1.token);
    assert.equal((await sessionOf(screen)).refreshToken, undefined);
    // Still the staff view (the public report leaves anonymous drop-offs out
    // and has no board): an anonymous weigh-in shows with the board.
    const before = int((await live()).co2eGrams);
    const outcome = await stack.call('EventsService', 'RecordWeighIn', {
      eventId, clientEntryId: 'tablet2-0002', actionType: 'clothing_reuse', weightKg: 5,
    }, staffToken);
    await screen.locator('#live-co2', { hasText: co2Ja(before + int(outcome.co2eGrams)) }).waitFor({ timeout: 20000 });
    assert.equal(await screen.locator('#board-card').isVisible(), true);

    // The console's session still works, renewals included: its refresh
    // token was never used by another tab, so the server did not take a
    // renewal for a reuse and revoke the session.
    await page.evaluate(expire, 'not.a-valid.token');
    await page.getByLabel('匿名の持ち込み').check();
    await page.locator('#weight').fill('0.5');
    await page.locator('#weight').press('Enter');
    await page.locator('#entries li[data-state="recorded"]').nth(4).waitFor();
    const console2 = await sessionOf(page);
    assert.notEqual(console2.refreshToken, console1.refreshToken, 'renewed again, not refused');
    assert.equal(await page.getByRole('heading', { name: 'サインイン' }).isVisible(), false, 'still signed in');

    // Without an opener to ask, the venue screen falls back to the public report.
    await screen.evaluate(() => { window.opener = null; });
    await screen.evaluate(expire, 'not.a-valid.token');
    await screen.locator('#board-card').waitFor({ state: 'hidden' });
    assert.equal(await screen.evaluate(() => sessionStorage.getItem('ecoact.session')), null);
    await screen.close();
  });

  it('shows the drive on the public dashboard and the public venue screen', async () => {
    // Reports hold the citizens' ledger: the participant's weigh-ins, not the
    // anonymous drop-offs (reports.proto). The participant's own ledger total
    // is what the city must show once the reports projector has caught up.
    const impact = await stack.call('ActionsService', 'GetMyImpact', {}, citizenToken);
    const credited = int(impact.totals.find((x) => x.period === 'PERIOD_ALL_TIME').co2eGrams);
    assert.ok(credited > 0);
    let report;
    for (let i = 0; i < 100; i++) {
      report = await stack.call('ReportsService', 'GetImpactReport', { scope: 'SCOPE_CITY' });
      if (int(report.total?.co2eGrams) === credited) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(int(report.total?.co2eGrams), credited, 'the city report holds the participant\'s weigh-ins');
    const eventCo2 = credited;

    const dashboard = await browser.context.newPage();  // its own sessionStorage: signed out
    await dashboard.goto(`${stack.baseUrl}/dashboard.html`);
    await dashboard.locator('#total-co2', { hasText: co2Ja(eventCo2) }).waitFor();
    await dashboard.locator('#ward-table tr', { hasText: '中原区' }).filter({ hasText: co2Ja(eventCo2) }).waitFor();
    await dashboard.locator('#category-table tr', { hasText: '衣類' }).waitFor();
    assert.ok(await dashboard.locator('#equivalents [data-equivalent]').count() > 0, 'everyday equivalents are shown');
    assert.ok(await dashboard.locator('#equivalents .sources li').count() > 0, 'each with its sources');
    await dashboard.screenshot({ path: path.join(stack.artifacts, `${String(++shot).padStart(2, '0')}-dashboard.png`), fullPage: true });

    await dashboard.getByRole('button', { name: 'English' }).click();
    await dashboard.getByRole('heading', { name: 'By ward' }).waitFor();
    assert.equal(await dashboard.getAttribute('html', 'lang'), 'en');
    await dashboard.locator('#total-co2', { hasText: `${new Intl.NumberFormat('en', { maximumFractionDigits: 1 }).format(eventCo2 / 1000)} kg` }).waitFor();
    await dashboard.screenshot({ path: path.join(stack.artifacts, `${String(++shot).padStart(2, '0')}-dashboard-en.png`), fullPage: true });
    await dashboard.getByRole('button', { name: '日本語' }).click();

    await dashboard.goto(`${stack.baseUrl}/live.html?event=${eventId}`);
    await dashboard.locator('#live-co2', { hasText: co2Ja(eventCo2) }).waitFor();
    assert.equal(await dashboard.locator('#board-card').isHidden(), true, 'no names on the public screen');
    await dashboard.screenshot({ path: path.join(stack.artifacts, `${String(++shot).padStart(2, '0')}-venue-screen-public.png`), fullPage: true });
    await dashboard.close();
  });

  it('switches to English and keeps the choice', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.getByRole('heading', { name: 'Live totals' }).waitFor();
    await page.getByText(/Participant: みか/).waitFor();
    await page.reload();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.getByRole('heading', { name: 'Log a weigh-in' }).waitFor();
    await page.locator('#entries li', { hasText: 'logged (CO2' }).first().waitFor();
    await screenshot('english');
    await page.getByRole('button', { name: '日本語' }).click();
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  });

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('#weight').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await screenshot('phone');
  });

  it('raised no script errors', () => {
    assert.deepEqual(browser.errors, []);
  });
});

function int(value) {
  return Number(value || 0);
}
