// The public dashboard: no sign-in. Everything comes from
// ReportsService.GetImpactReport (POLICY_PUBLIC: sums over groups only),
// for the city or one ward, over the last twelve months; it refreshes by
// itself every minute.

import { ApiError, call, int } from './api.js';
import { bars, doughnut, line } from './charts.js';
import {
  categoryName, formatCo2, formatDateTime, formatKg, formatNumber, initI18n, lang, onLangChange, t,
} from './i18n.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 60 * 1000;
const state = { report: null, wards: [] };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function monthLabel(month) {
  const [y, m] = month.split('-').map(Number);
  return new Intl.DateTimeFormat(lang() === 'ja' ? 'ja-JP' : undefined, { year: 'numeric', month: 'short', timeZone: 'UTC' })
    .format(new Date(Date.UTC(y, m - 1, 1)));
}

function fillTable(tbody, rows) {
  if (rows.length === 0) {
    const columns = tbody.parentElement.tHead.rows[0].cells.length;
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: String(columns), class: 'muted' }, t('dash.none'))));
    return;
  }
  tbody.replaceChildren(...rows.map((cells) => el('tr', {},
    ...cells.map(([text, cls]) => el('td', cls ? { class: cls } : {}, text)))));
}

function scopeRequest() {
  const value = $('scope').value || 'city';
  return value === 'city' ? { scope: 'SCOPE_CITY' } : { scope: 'SCOPE_WARD', scopeId: value };
}

function renderScopes() {
  const select = $('scope');
  const chosen = select.value || new URLSearchParams(location.search).get('ward') || 'city';
  select.replaceChildren(el('option', { value: 'city' }, t('dash.city')),
    ...state.wards.map((w) => el('option', { value: w.id }, w.name)));
  select.value = chosen;
}

function render() {
  const r = state.report;
  if (!r) return;
  const total = r.total || {};
  $('dash-h').textContent = r.scope === 'SCOPE_CITY' ? t('dash.city') : (r.scopeName || r.scopeId);
  // A small ward (fewer participants than the server's minimum) comes with
  // totals only: say so instead of showing empty charts without a reason.
  $('dash-range').textContent = t('dash.range', { from: monthLabel(r.fromMonth), to: monthLabel(r.toMonth) })
    + (r.totalsOnly ? ` ${t('dash.totalsOnly')}` : '');
  $('total-co2').textContent = formatCo2(int(total.co2eGrams));
  $('total-weight').textContent = formatKg(int(total.weightGrams));
  $('total-actions').textContent = formatNumber(int(total.actions));
  $('total-participants').textContent = formatNumber(int(total.activeParticipants));

  const eq = $('equivalents');
  eq.replaceChildren(...(r.equivalents || []).map((e) => el('div', { class: 'equivalent', 'data-equivalent': e.equivalentId },
    el('p', { class: 'figure' }, el('strong', {}, formatNumber(int(e.quantityMilli) / 1000, { maximumFractionDigits: 1 })),
      ` ${lang() === 'ja' ? e.unitJa : e.unitEn}`),
    el('p', {}, lang() === 'ja' ? e.labelJa : e.labelEn),
    el('details', {}, el('summary', {}, t('dash.source')),
      e.note ? el('p', { class: 'muted' }, e.note) : null,
      el('ul', { class: 'sources' }, ...(e.sources || []).map(sourceItem))))));

  const months = r.months || [];
  line($('months-chart'), months.map((m) => monthLabel(m.month)), months.map((m) => int((m.figures || {}).co2eGrams)),
    { label: t('dash.co2'), format: formatCo2 });

  const categories = r.categories || [];
  doughnut($('category-chart'), categories.map((c) => categoryName(c.category)),
    categories.map((c) => int((c.figures || {}).co2eGrams)), { format: formatCo2 });
  fillTable($('category-table').tBodies[0], categories.map((c) => [
    [categoryName(c.category)], [formatCo2(int(c.figures?.co2eGrams)), 'num'], [formatNumber(int(c.figures?.actions)), 'num']]));

  const city = r.scope === 'SCOPE_CITY';
  $('ward-section').hidden = !city;
  $('teams-section').hidden = !city;
  if (city) {
    const wards = r.wards || [];
    bars($('ward-chart'), wards.map((w) => w.name || w.groupId), wards.map((w) => int(w.figures?.co2eGrams)),
      { format: formatCo2, horizontal: true });
    fillTable($('ward-table').tBodies[0], wards.map((w) => [
      [w.name || w.groupId], [formatCo2(int(w.figures?.co2eGrams)), 'num'], [formatNumber(int(w.figures?.activeParticipants)), 'num']]));
    const ranked = (groups) => groups.map((g, i) => [
      [formatNumber(i + 1)], [g.name || g.groupId], [formatCo2(int(g.figures?.co2eGrams)), 'num']]);
    fillTable($('team-table').tBodies[0], ranked(r.topTeams || []));
    fillTable($('org-table').tBodies[0], ranked(r.topOrganisations || []));
  }

  $('factors').replaceChildren(...(r.factors || []).map((f) => el('details', { 'data-factor': f.factorVersion },
    el('summary', {}, `${lang() === 'ja' ? f.nameJa : f.nameEn} (v${f.version}) — ${formatCo2(int(f.co2eGrams))}, `
      + t('dash.actionsN', { n: formatNumber(int(f.actions)) })),
    f.factor ? el('p', { class: 'muted' }, f.factor.display || '') : el('p', { class: 'muted' }, t('dash.unknownFactor')),
    el('ul', { class: 'sources' }, ...((f.factor && f.factor.sources) || []).map(sourceItem)))));
  $('dash-updated').textContent = t('dash.updated', { time: formatDateTime(r.generatedAt) });
}

function sourceItem(s) {
  return el('li', {}, s.url ? el('a', { href: s.url, rel: 'noopener noreferrer', target: '_blank' }, s.title) : s.title,
    ` — ${[s.publisher, s.year].filter(Boolean).join(', ')}`);
}

async function refresh() {
  if (document.hidden) return;
  try {
    state.report = await call('ReportsService', 'GetImpactReport', { ...scopeRequest(), topN: 10 }, { auth: false });
    $('dash-error').textContent = '';
    render();
  } catch (e) {
    // The last figures stay on screen.
    $('dash-error').textContent = e instanceof ApiError && e.offline ? t('error.offline') : e.message;
  }
}

async function main() {
  initI18n();
  onLangChange(() => { renderScopes(); render(); });
  try {
    state.wards = (await call('IdentityService', 'ListWards', {}, { auth: false })).wards || [];
  } catch {
    // The city report still shows.
  }
  renderScopes();
  $('scope').addEventListener('change', () => {
    const url = new URL(location.href);
    if ($('scope').value === 'city') url.searchParams.delete('ward');
    else url.searchParams.set('ward', $('scope').value);
    history.replaceState(null, '', url);
    refresh();
  });
  await refresh();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener('visibilitychange', refresh);
}

main();
