// A venue screen for one event (live.html?event=ID): totals that refresh by
// themselves every few seconds. Opened from the staff console it uses the
// staff's access token (sessionStorage is copied into a tab opened with
// rel="opener") and shows EventsService.GetEventLive: totals per action type
// and the event's board. It never renews the session itself: it drops the
// copied refresh token at once (the console keeps rotating it; two tabs
// rotating one refresh token get the whole session revoked) and asks the
// console for its current access token when its own is about to expire
// (api.js renewFromOpener). Without a session, or when the console has none
// to give, it shows the public
// ReportsService.GetImpactReport of the event: totals per category, no names,
// and only the participants' weigh-ins (reports leave anonymous drop-offs out).

import {
  ApiError, call, expiresSoon, int, keepAccessTokenOnly, loadSession, renewFromOpener,
} from './api.js';
import { bars } from './charts.js';
import {
  actionName, categoryName, formatCo2, formatKg, formatNumber, formatTime, initI18n, onLangChange, t,
} from './i18n.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
const eventId = new URLSearchParams(location.search).get('event') || '';
const types = new Map();
let last = null;

// The public report in the shape render() reads.
function fromReport(report) {
  const figures = report.total || {};
  return {
    event: { name: report.scopeName || eventId },
    co2eGrams: figures.co2eGrams,
    participants: figures.activeParticipants,
    weightGrams: int(figures.weightGrams),
    rows: (report.categories || []).map((c) => ({ label: categoryName(c.category), co2: int(c.figures?.co2eGrams) })),
    board: null,
  };
}

function fromLive(live) {
  const weightOf = (r) => int(r.attributedGrams) + int(r.anonymousGrams) + int(r.unloggedGrams);
  const rows = live.byActionType || [];
  return {
    event: live.event,
    co2eGrams: live.co2eGrams,
    participants: live.participants,
    weightGrams: rows.reduce((sum, r) => sum + weightOf(r), 0),
    rows: rows.map((r) => ({ label: actionName(types.get(r.actionType) || { id: r.actionType }), co2: int(r.co2eGrams) })),
    board: live.board || [],
  };
}

function render(live) {
  $('live').hidden = false;
  $('live-name').textContent = live.event ? live.event.name : eventId;
  $('live-co2').textContent = formatCo2(int(live.co2eGrams));
  $('live-weight').textContent = formatKg(live.weightGrams);
  $('live-participants').textContent = formatNumber(int(live.participants));
  bars($('live-chart'), live.rows.map((r) => r.label), live.rows.map((r) => r.co2), { format: formatCo2, horizontal: true });
  $('board-card').hidden = live.board === null;
  const body = $('live-board');
  body.replaceChildren();
  for (const entry of live.board || []) {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[formatNumber(int(entry.rank)), ''], [entry.nickname, ''], [formatNumber(int(entry.score)), 'num']]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
  $('live-updated').textContent = t('live.updated', { time: formatTime(new Date()) });
}

// True when this tab holds an access token good for a while, asking the
// staff console for its current one when it is about to expire.
async function haveToken() {
  const session = loadSession();
  if (!session) return false;
  return expiresSoon(session) ? renewFromOpener() : true;
}

async function fetchLive() {
  if (await haveToken()) {
    try {
      return fromLive(await call('EventsService', 'GetEventLive', { eventId, boardSize: 10 }));
    } catch (e) {
      // A refused token (revoked, the console signed out and in again): ask
      // once more; without a token the public figures are still worth showing.
      if (e.status !== 401) throw e;
      if (await renewFromOpener()) return fromLive(await call('EventsService', 'GetEventLive', { eventId, boardSize: 10 }));
    }
  }
  return fromReport(await call('ReportsService', 'GetImpactReport', { scope: 'SCOPE_EVENT', scopeId: eventId },
    { auth: false }));
}

let fetching = false;

async function refresh() {
  // One fetch at a time: asking the console can take a few seconds.
  if (document.hidden || fetching) return;
  fetching = true;
  try {
    last = await fetchLive();
    $('live-error').textContent = '';
    render(last);
  } catch (e) {
    // Keep the last figures on screen; say why they are not fresh.
    $('live-error').textContent = e instanceof ApiError && e.offline ? t('error.offline') : e.message;
  } finally {
    fetching = false;
  }
}

async function main() {
  keepAccessTokenOnly();
  initI18n();
  // Labels are built in the language of the moment: fetch again.
  onLangChange(() => refresh());
  if (!eventId) {
    $('live-error').textContent = t('live.noEvent');
    return;
  }
  if (await haveToken()) {
    try {
      const r = await call('CatalogService', 'ListActionTypes', {});
      for (const type of r.actionTypes || []) types.set(type.id, type);
    } catch {
      // Ids instead of names; the totals matter more.
    }
  }
  await refresh();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener('visibilitychange', refresh);
}

main();
