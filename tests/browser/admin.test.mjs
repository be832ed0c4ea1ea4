// The admin pages in real headless Chromium against the real gateway, server
// and Redis: the catalogue with a factor's sources, a campaign created from
// the form, a survey's results drawn as charts, and a CSV export downloaded.
// Screenshots go to build/test-artifacts/browser/admin/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch } from './lib/browser.mjs';
import { ADMIN_PASSWORD, Stack } from './lib/stack.mjs';

let stack;
let browser;
let page;
let adminToken;
let surveyTitle;
let citizenLogin;
let shot = 0;

async function screenshot(name) {
  shot += 1;
  await page.screenshot({ path: path.join(stack.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

describe('admin pages', () => {
  before(async () => {
    stack = await Stack.start('admin');
    adminToken = (await stack.call('IdentityService', 'SignIn', { accountId: 'admin', secret: ADMIN_PASSWORD })).token;
    const now = Date.now();
    const event = await stack.call('EventsService', 'CreateEvent', {
      requestId: 'event-festival-0001', kind: 'EVENT_KIND_DRIVE', name: '中原区民祭 古着回収',
      place: '中原区役所', ward: 'nakahara',
      startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 3600_000).toISOString(),
      acceptedActionTypes: ['clothing_reuse'],
    }, adminToken);
    surveyTitle = '衣類の回収についてのアンケート';
    const survey = await stack.call('SurveysService', 'CreateSurvey', {
      requestId: 'survey-festival-0001', title: surveyTitle, eventId: event.eventId,
      questions: [
        { questionId: 'reuse', type: 'QUESTION_TYPE_SINGLE_CHOICE', text: '古着を回収に出したことがありますか', required: true,
          options: [{ optionId: 'yes', label: 'はい' }, { optionId: 'no', label: 'いいえ' }] },
        { questionId: 'care', type: 'QUESTION_TYPE_SCALE', text: '衣類の廃棄を減らしたいと思う', required: true },
      ],
      waves: [{ wave: 'SURVEY_WAVE_BEFORE', opensAt: new Date(now - 60_000).toISOString(), closesAt: new Date(now + 3600_000).toISOString() }],
    }, adminToken);
    await stack.call('SurveysService', 'PublishSurvey', { surveyId: survey.surveyId }, adminToken);
    const answers = [['yes', 4], ['yes', 5], ['no', 2]];
    for (const [i, [choice, scale]] of answers.entries()) {
      const citizen = await stack.call('IdentityService', 'Register', {
        requestId: `register-${i}-000000`, nickname: `住民${i}`, ward: 'nakahara',
      });
      if (i === 0) citizenLogin = { accountId: citizen.accountId, secret: citizen.accountSecret };
      await stack.call('ActionsService', 'RecordAction', {
        requestId: `record-${i}-00000000`, actionType: 'clothing_reuse', quantity: 2 + i,
      }, citizen.token);
      await stack.call('SurveysService', 'SubmitResponse', {
        requestId: `answer-${i}-00000000`, surveyId: survey.surveyId, wave: 'SURVEY_WAVE_BEFORE',
        answers: [{ questionId: 'reuse', optionIds: [choice] }, { questionId: 'care', scale }],
      }, citizen.token);
    }
    browser = await launch();
    page = browser.context.pages()[0] || await browser.context.newPage();
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
  });

  it('refuses a citizen and signs the admin in', async () => {
    await page.goto(`${stack.baseUrl}/admin.html`);
    await page.getByLabel('ログイン名').fill(citizenLogin.accountId);
    await page.getByLabel('パスワード').fill(citizenLogin.secret);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByText('管理ページは管理者アカウント用です。').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ecoact.session')), null, 'the citizen is signed out again');
    await page.getByLabel('ログイン名').fill('admin');
    await page.getByLabel('パスワード').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByRole('tab', { name: 'アクションと係数' }).waitFor();
  });

  it('shows the catalogue with each factor version\'s sources', async () => {
    const item = page.locator('details[data-action-type="clothing_reuse"]');
    await item.locator('summary').click();
    await item.locator('.sources li').first().waitFor();
    assert.ok(await item.locator('.sources a[href^="http"]').count() > 0, 'sources link to where they come from');
    await screenshot('catalogue');
  });

  it('creates a campaign from the form and shows its progress', async () => {
    await page.getByRole('tab', { name: 'キャンペーン' }).click();
    await page.getByLabel(/^ID/).fill('denim-test');
    await page.getByLabel('名称').fill('デニム回収月間');
    // The form starts now and runs 30 days unless changed; set the end
    // explicitly, in the browser's time zone (Asia/Tokyo).
    const local = await page.evaluate(() => {
      const end = new Date(Date.now() + 30 * 86400_000);
      return new Date(end.getTime() - end.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    });
    assert.notEqual(await page.locator('#c-starts').inputValue(), '', 'the start is filled in');
    await page.locator('#c-ends').fill(local);
    await page.locator('#c-multiplier').fill('2');
    await page.getByRole('button', { name: '作成', exact: true }).click();
    await page.getByText('「デニム回収月間」を作成しました。').waitFor();
    const row = page.locator('tr[data-campaign="denim-test"]');
    await row.getByText('実施中').waitFor();
    await row.getByRole('button', { name: '進捗を表示' }).click();
    await row.getByText(/参加者 0 人/).waitFor();
    const listed = await stack.call('RewardsService', 'ListCampaigns', {}, adminToken);
    const created = listed.campaigns.find((c) => c.id === 'denim-test');
    assert.equal(created.multiplierPermille, 2000);
    const days = (Date.parse(created.endsAt) - Date.parse(created.startsAt)) / 86400_000;
    assert.ok(days > 29.9 && days < 30.1, `the campaign runs ${days} days`);
    await screenshot('campaigns');
  });

  it('shows a survey\'s results with charts', async () => {
    await page.getByRole('tab', { name: 'アンケート' }).click();
    await page.getByRole('button', { name: new RegExp(surveyTitle) }).click();
    await page.getByRole('heading', { name: `結果: ${surveyTitle}` }).waitFor();
    const wave = page.locator('[data-wave="SURVEY_WAVE_BEFORE"]');
    await wave.getByText('回答 3 件 ・').waitFor();
    const choice = wave.locator('[data-question="reuse"]');
    assert.match(await choice.locator('canvas').getAttribute('aria-label'), /はい 2, いいえ 1/);
    const scale = wave.locator('[data-question="care"]');
    await scale.getByText('平均 3.67').waitFor();
    // Chart.js drew into the canvases.
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('#survey-results canvas')]
      .every((c) => window.Chart.getChart(c) !== undefined)), true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
    await screenshot('survey-results');
  });

  it('downloads the CSV export', async () => {
    await page.getByRole('tab', { name: 'CSV 出力' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'CSV をダウンロード' }).click(),
    ]);
    const file = path.join(stack.artifacts, download.suggestedFilename());
    await download.saveAs(file);
    const lines = fs.readFileSync(file, 'utf8').split('\r\n').filter(Boolean);
    assert.match(lines[0], /^scope,scope_id,scope_name,month,category,co2e_grams/);
    assert.ok(lines.some((l) => l.startsWith('city,') && l.includes(',clothing,')), lines.join('\n'));
    await page.locator('#export-result.ok').waitFor();
    await screenshot('csv-export');
  });

  it('raised no script errors', () => {
    assert.deepEqual(browser.errors, []);
  });
});
