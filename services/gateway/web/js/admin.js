// Admin pages: the catalogue with every factor's sources, campaigns (list,
// progress, create), surveys with their results as charts, CSV downloads.

import { ApiError, call, int, loadSession, newRequestId, signIn, signOut } from './api.js';
import { bars } from './charts.js';
import {
  actionName, categoryName, formatCo2, formatDateTime, formatNumber, initI18n, onLangChange, t,
} from './i18n.js';
import { renderExports } from './exports.js';

const $ = (id) => document.getElementById(id);
const TABS = ['catalog', 'campaigns', 'surveys', 'exports'];
const TAB_KEY = 'ecoact.admin.tab';
const state = { actionTypes: [], typesById: new Map(), campaigns: [], surveys: [], survey: null, results: null };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function describe(e) {
  if (e instanceof ApiError && e.offline) return t('error.offline');
  return e.message || t('error.unknown');
}

function fail(e) {
  if (e instanceof ApiError && e.status === 401) {
    showSignIn(t('error.sessionExpired'));
    return;
  }
  $('console-error').textContent = describe(e);
}

function showSignIn(message = '') {
  $('console').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('login').focus();
}

async function onSignIn(event) {
  event.preventDefault();
  $('signin-error').textContent = '';
  try {
    const session = await signIn($('login').value.trim(), $('password').value);
    $('password').value = '';
    if (session.profile.role !== 'ROLE_ADMIN') {
      await signOut();
      $('signin-error').textContent = t('admin.notAdmin');
      return;
    }
    showConsole();
  } catch (e) {
    $('signin-error').textContent = describe(e);
  }
}

async function showConsole() {
  $('signin').hidden = true;
  $('console').hidden = false;
  try {
    const r = await call('CatalogService', 'ListActionTypes', {});
    state.actionTypes = r.actionTypes || [];
    state.catalogVersion = r.catalogVersion || '';
    state.typesById = new Map(state.actionTypes.map((a) => [a.id, a]));
  } catch (e) {
    fail(e);
    return;
  }
  selectTab(sessionStorage.getItem(TAB_KEY) || 'catalog');
}

// ---- tabs (arrow keys move between them, as in the WAI-ARIA tabs pattern) ----

function selectTab(name, focus = false) {
  if (!TABS.includes(name)) name = 'catalog';
  sessionStorage.setItem(TAB_KEY, name);
  $('console-error').textContent = '';
  for (const tab of TABS) {
    const button = $(`tab-${tab}`);
    button.setAttribute('aria-selected', String(tab === name));
    button.tabIndex = tab === name ? 0 : -1;
    $(`panel-${tab}`).hidden = tab !== name;
  }
  if (focus) $(`tab-${name}`).focus();
  ({ catalog: renderCatalog, campaigns: loadCampaigns, surveys: loadSurveys, exports: showExports })[name]();
}

function onTabKey(event) {
  const index = TABS.indexOf(event.target.id.replace('tab-', ''));
  if (event.key === 'ArrowRight') selectTab(TABS[(index + 1) % TABS.length], true);
  else if (event.key === 'ArrowLeft') selectTab(TABS[(index + TABS.length - 1) % TABS.length], true);
  else return;
  event.preventDefault();
}

// ---- catalogue ----------------------------------------------------------------

const UNIT_KEYS = { UNIT_KILOGRAM: 'unit.perKg', UNIT_ITEM: 'unit.perItem', UNIT_KILOMETRE: 'unit.perKm' };

function factorLine(type, factor) {
  const perUnit = t(UNIT_KEYS[type.unit] || 'unit.perItem');
  const grams = int(factor.co2eMilligramsPerUnit) / 1000;
  return `${formatNumber(grams, { maximumFractionDigits: 3 })} g CO2e ${perUnit}`;
}

function sourceList(sources) {
  return el('ul', { class: 'sources' }, ...(sources || []).map((s) => el('li', {},
    s.url ? el('a', { href: s.url, rel: 'noopener noreferrer', target: '_blank' }, s.title) : s.title,
    ` — ${[s.publisher, s.year].filter(Boolean).join(', ')}`)));
}

function renderCatalog() {
  $('catalog-version').textContent = t('catalog.version', { version: state.catalogVersion });
  const list = $('catalog-list');
  list.replaceChildren();
  for (const type of state.actionTypes) {
    const factor = type.currentFactor || {};
    const versions = el('div', { class: 'stack' }, el('p', { class: 'muted' }, t('common.loading')));
    const details = el('details', { class: 'card', 'data-action-type': type.id },
      el('summary', {}, el('strong', {}, actionName(type)), ` — ${factorLine(type, factor)}`),
      el('p', {}, t('catalog.meta', {
        category: categoryName(type.category), points: formatNumber(int(type.pointsPerUnit)),
        cap: int(type.dailyCapMilli) ? formatNumber(int(type.dailyCapMilli) / 1000) : t('catalog.noCap'),
      })),
      versions);
    details.addEventListener('toggle', async () => {
      if (!details.open || details.dataset.loaded) return;
      try {
        const r = await call('CatalogService', 'GetFactor', { actionType: type.id });
        details.dataset.loaded = '1';
        versions.replaceChildren(...(r.versions || []).map((v) => el('div', { class: 'factor' },
          el('h3', {}, t('catalog.factorVersion', {
            version: v.version, from: formatDateTime(v.validFrom),
            until: v.validUntil ? formatDateTime(v.validUntil) : t('catalog.current'),
          })),
          el('p', {}, `${factorLine(type, v)} · ${t(`confidence.${v.confidence}`)}`),
          v.basis ? el('p', { class: 'muted' }, v.basis) : null,
          v.derivation ? el('p', { class: 'muted' }, v.derivation) : null,
          el('p', {}, t('catalog.sources')), sourceList(v.sources))));
      } catch (e) {
        versions.replaceChildren(el('p', { class: 'error' }, describe(e)));
      }
    });
    list.append(details);
  }
}

// ---- campaigns ----------------------------------------------------------------

// A datetime-local value in the reader's time zone.
function localInput(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

async function loadCampaigns() {
  if (!$('c-starts').value) $('c-starts').value = localInput(new Date());
  if (!$('c-ends').value) $('c-ends').value = localInput(new Date(Date.now() + 30 * 86400_000));
  const select = $('c-types');
  if (select.options.length === 0) {
    for (const type of state.actionTypes) select.append(el('option', { value: type.id }, actionName(type)));
  }
  try {
    state.campaigns = (await call('RewardsService', 'ListCampaigns', {})).campaigns || [];
  } catch (e) {
    fail(e);
    return;
  }
  renderCampaigns();
}

function renderCampaigns() {
  const body = $('campaign-rows');
  body.replaceChildren();
  $('campaigns-empty').hidden = state.campaigns.length > 0;
  for (const c of state.campaigns) {
    const progressCell = el('td', {});
    const button = el('button', { type: 'button', class: 'secondary' }, t('campaign.showProgress'));
    button.addEventListener('click', async () => {
      try {
        const p = await call('RewardsService', 'GetCampaignProgress', { campaignId: c.id });
        const permille = int(p.collectivePermille);
        const amount = c.metric === 'METRIC_POINTS' ? formatNumber(int(p.collectivePoints))
          : formatCo2(int(p.collectiveCo2eGrams));
        progressCell.replaceChildren(
          int(c.collectiveTarget) > 0
            ? el('progress', { max: 1000, value: Math.min(permille, 1000), 'aria-label': t('campaign.progress') })
            : '',
          el('div', {}, t('campaign.progressText', {
            amount, participants: formatNumber(int(p.participants)),
            percent: int(c.collectiveTarget) > 0 ? formatNumber(permille / 1000, { style: 'percent' }) : '—',
          })));
      } catch (e) {
        progressCell.replaceChildren(el('span', { class: 'error' }, describe(e)));
      }
    });
    progressCell.append(button);
    const types = (c.actionTypes || []).map((id) => actionName(state.typesById.get(id) || { id })).join('、') || t('campaign.allTypes');
    body.append(el('tr', { 'data-campaign': c.id },
      el('td', {}, el('strong', {}, c.title), el('div', { class: 'muted' }, types)),
      el('td', {}, t(`campaignState.${c.state}`)),
      el('td', {}, `${formatDateTime(c.startsAt)} – ${formatDateTime(c.endsAt)}`),
      el('td', { class: 'num' }, `×${formatNumber((int(c.multiplierPermille) || 1000) / 1000)}`),
      progressCell));
  }
}

async function onCreateCampaign(event) {
  event.preventDefault();
  const result = $('campaign-result');
  result.className = '';
  const starts = new Date($('c-starts').value);
  const ends = new Date($('c-ends').value);
  const multiplier = Number($('c-multiplier').value.replace(',', '.'));
  const targetKg = Number($('c-target').value.replace(',', '.'));
  if (Number.isNaN(starts.getTime()) || Number.isNaN(ends.getTime()) || !(multiplier >= 1) || !(targetKg >= 0)) {
    result.className = 'error';
    result.textContent = t('campaign.badInput');
    return;
  }
  try {
    const c = await call('RewardsService', 'CreateCampaign', {
      requestId: newRequestId('campaign'),
      id: $('c-id').value.trim(),
      title: $('c-title').value.trim(),
      actionTypes: Array.from($('c-types').selectedOptions, (o) => o.value),
      // "Starts now" is sent as now: the server refuses a start in the past.
      startsAt: (starts < new Date() ? new Date() : starts).toISOString(),
      endsAt: ends.toISOString(),
      multiplierPermille: Math.round(multiplier * 1000),
      metric: targetKg > 0 ? 'METRIC_CO2E_GRAMS' : undefined,
      collectiveTarget: targetKg > 0 ? String(Math.round(targetKg * 1000)) : undefined,
    });
    result.className = 'ok';
    result.textContent = t('campaign.created', { title: c.title });
    $('campaign-form').reset();
    await loadCampaigns();
  } catch (e) {
    result.className = 'error';
    if (e instanceof ApiError && e.status === 401) fail(e);
    else result.textContent = describe(e);
  }
}

// ---- surveys --------------------------------------------------------------------

async function loadSurveys() {
  try {
    state.surveys = (await call('SurveysService', 'ListSurveys', { includeAll: true })).surveys || [];
  } catch (e) {
    fail(e);
    return;
  }
  const list = $('survey-list');
  list.replaceChildren();
  $('surveys-empty').hidden = state.surveys.length > 0;
  for (const s of state.surveys) {
    const button = el('button', { type: 'button', class: 'choice', 'data-survey': s.surveyId },
      el('strong', {}, s.title),
      el('span', {}, `${t(`surveyStatus.${s.status}`)} · v${s.version || 1} · ${t('survey.questions', { n: (s.questions || []).length })}`));
    button.addEventListener('click', () => showResults(s));
    list.append(el('li', {}, button));
  }
  if (state.survey) renderResults();
}

async function showResults(survey) {
  state.survey = survey;
  state.results = null;
  $('survey-results').replaceChildren(el('p', { class: 'muted' }, t('common.loading')));
  try {
    state.results = await call('SurveysService', 'GetSurveyResults', { surveyId: survey.surveyId });
  } catch (e) {
    $('survey-results').replaceChildren(el('p', { class: 'error' }, describe(e)));
    return;
  }
  renderResults();
  $('survey-results').querySelector('h2')?.focus();
}

function renderResults() {
  const survey = state.survey;
  const results = state.results;
  if (!survey || !results) return;
  const questions = new Map((survey.questions || []).map((q) => [q.questionId, q]));
  const root = $('survey-results');
  const heading = el('h2', { tabIndex: -1 }, t('survey.resultsOf', { title: survey.title }));
  const summary = el('p', {}, t('survey.summary', {
    participants: formatNumber(int(results.checkedInParticipants)),
    paired: formatNumber(int(results.pairedRespondents)),
  }));
  const cards = [el('div', { class: 'card' }, heading, summary, pairedTable(results, questions))];
  for (const wave of results.waves || []) {
    const waveCard = el('div', { class: 'card', 'data-wave': wave.wave },
      el('h3', {}, t(`wave.${wave.wave}`)),
      el('p', {}, t('survey.waveSummary', {
        responses: formatNumber(int(wave.responses)),
        rate: formatNumber(Number(wave.responseRate || 0), { style: 'percent', maximumFractionDigits: 1 }),
      })));
    const grid = el('div', { class: 'grid' });
    for (const qr of wave.questions || []) grid.append(questionCard(questions.get(qr.questionId) || {}, qr));
    waveCard.append(grid);
    cards.push(waveCard);
  }
  root.replaceChildren(...cards);
  for (const canvas of root.querySelectorAll('canvas[data-values]')) {
    bars(canvas, JSON.parse(canvas.dataset.labels), JSON.parse(canvas.dataset.values),
      { format: (v) => formatNumber(v), integer: true });
  }
}

function pairedTable(results, questions) {
  if (!(results.paired || []).length) return el('p', { class: 'muted' }, t('survey.noPairs'));
  return el('table', { class: 'table' },
    el('caption', {}, t('survey.pairedCaption')),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('survey.question')),
      el('th', { scope: 'col', class: 'num' }, t('survey.pairs')), el('th', { scope: 'col', class: 'num' }, t('survey.meanChange')))),
    el('tbody', {}, ...results.paired.map((p) => el('tr', {},
      el('td', {}, (questions.get(p.questionId) || {}).text || p.questionId),
      el('td', { class: 'num' }, formatNumber(int(p.pairs))),
      el('td', { class: 'num' }, formatNumber(Number(p.meanChange || 0), { signDisplay: 'exceptZero', maximumFractionDigits: 2 }))))));
}

function questionCard(question, result) {
  const card = el('div', { class: 'card', 'data-question': result.questionId },
    el('h4', {}, question.text || result.questionId),
    el('p', { class: 'muted' }, t('survey.answered', { n: formatNumber(int(result.answered)) })));
  let labels = [];
  let values = [];
  if (result.type === 'QUESTION_TYPE_SINGLE_CHOICE' || result.type === 'QUESTION_TYPE_MULTIPLE_CHOICE') {
    const counts = new Map((result.options || []).map((o) => [o.optionId, int(o.count)]));
    labels = (question.options || []).map((o) => o.label || o.optionId);
    values = (question.options || []).map((o) => counts.get(o.optionId) || 0);
  } else if (result.type === 'QUESTION_TYPE_SCALE') {
    labels = ['1', '2', '3', '4', '5'];
    values = labels.map((_, i) => int((result.scaleDistribution || [])[i]));
    card.append(el('p', {}, t('survey.mean', { mean: formatNumber(Number(result.mean || 0), { maximumFractionDigits: 2 }) })));
  } else if (result.type === 'QUESTION_TYPE_NUMBER') {
    card.append(el('p', {}, t('survey.meanMedian', {
      mean: formatNumber(Number(result.mean || 0), { maximumFractionDigits: 2 }),
      median: formatNumber(Number(result.median || 0), { maximumFractionDigits: 2 }),
    })));
  }
  if (labels.length) {
    card.append(
      el('div', { class: 'chart' }, el('canvas', {
        role: 'img', 'aria-label': `${question.text || ''}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}`,
        'data-labels': JSON.stringify(labels), 'data-values': JSON.stringify(values),
      })),
      el('table', { class: 'table sr-only' }, el('tbody', {},
        ...labels.map((l, i) => el('tr', {}, el('td', {}, l), el('td', { class: 'num' }, formatNumber(values[i])))))));
  }
  return card;
}

// ---- CSV downloads ----------------------------------------------------------------

function showExports() {
  renderExports($('export-body'), { describe, fail });
}

// ---- wiring ----------------------------------------------------------------

function main() {
  initI18n();
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', async () => { await signOut(); showSignIn(); });
  $('campaign-form').addEventListener('submit', onCreateCampaign);
  for (const tab of TABS) {
    $(`tab-${tab}`).addEventListener('click', () => selectTab(tab));
    $(`tab-${tab}`).addEventListener('keydown', onTabKey);
  }
  onLangChange(() => {
    if ($('console').hidden) return;
    const tab = sessionStorage.getItem(TAB_KEY) || 'catalog';
    if (tab === 'catalog') renderCatalog();
    else if (tab === 'campaigns') renderCampaigns();
    else if (tab === 'surveys') { loadSurveys(); }
    else showExports();
  });
  const session = loadSession();
  if (session && session.profile && session.profile.role === 'ROLE_ADMIN') showConsole();
  else showSignIn();
}

main();
