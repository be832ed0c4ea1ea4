// Staff console: sign in, pick an assigned event, check participants in,
// log weigh-ins, watch the live totals. Weigh-ins go through a queue kept in
// localStorage: each gets its client_entry_id when it is typed, so sending it
// again after a network failure (or a reload) can never count it twice.

import {
  ApiError, call, int, loadSession, newRequestId, serveAccessToken, signIn, signOut,
} from './api.js';
import {
  actionName, formatCo2, formatDateTime, formatKg, formatNumber, formatTime, initI18n, onLangChange, t,
} from './i18n.js';

const $ = (id) => document.getElementById(id);
const QUEUE_KEY = 'ecoact.staff.entries';
const EVENT_KEY = 'ecoact.staff.event';
const LIVE_INTERVAL_MS = 5000;
const RETRY_INTERVAL_MS = 5000;
const KEEP_DONE_ENTRIES = 50;

const state = {
  session: null,
  actionTypes: new Map(),  // id -> ActionType
  event: null,
  participant: null,       // { participantId, nickname }
  entries: loadEntries(),  // newest first
  flushing: false,
  offline: !navigator.onLine,
  retryTimer: 0,
  liveTimer: 0,
  lastLive: null,
};

function loadEntries() {
  try {
    return JSON.parse(localStorage.getItem(QUEUE_KEY) || '[]');
  } catch {
    return [];
  }
}

function saveEntries() {
  const queued = state.entries.filter((e) => e.state === 'queued');
  const done = state.entries.filter((e) => e.state !== 'queued').slice(0, KEEP_DONE_ENTRIES);
  state.entries = [...queued, ...done].sort((a, b) => b.occurredAt.localeCompare(a.occurredAt));
  localStorage.setItem(QUEUE_KEY, JSON.stringify(state.entries));
}

function show(sectionId) {
  for (const id of ['signin', 'events', 'event']) $(id).hidden = id !== sectionId;
}

// The server's message when it gave one; ours when the network failed.
function describe(error) {
  if (error instanceof ApiError && error.offline) return t('error.offline');
  return error.message || t('error.unknown');
}

function isStaffOrAdmin(profile) {
  return profile && (profile.role === 'ROLE_STAFF' || profile.role === 'ROLE_ADMIN');
}

// ---- sign-in -----------------------------------------------------------------

async function onSignIn(event) {
  event.preventDefault();
  const button = event.submitter || $('signin-form').querySelector('button');
  button.disabled = true;
  $('signin-error').textContent = '';
  try {
    const login = $('login').value.trim();
    const session = await signIn(login, $('password').value);
    if (!isStaffOrAdmin(session.profile)) {
      await signOut();
      $('signin-error').textContent = t('staff.notStaff');
      return;
    }
    $('password').value = '';
    state.session = session;
    await showEvents();
  } catch (e) {
    $('signin-error').textContent = describe(e);
  } finally {
    button.disabled = false;
  }
}

// Back to the sign-in form when the session is gone (refresh token expired).
function handleAuthError(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    state.session = null;
    stopLive();
    show('signin');
    $('signin-error').textContent = t('error.sessionExpired');
    $('login').focus();
    return true;
  }
  if (where) where.textContent = describe(error);
  return false;
}

// ---- events --------------------------------------------------------------------

async function loadCatalogue() {
  if (state.actionTypes.size > 0) return;
  const r = await call('CatalogService', 'ListActionTypes', {});
  for (const type of r.actionTypes || []) state.actionTypes.set(type.id, type);
}

function assignedToMe(event) {
  const profile = state.session.profile;
  if (profile.role === 'ROLE_ADMIN') return true;
  return (event.staff || []).includes(profile.accountId);
}

async function showEvents() {
  stopLive();
  show('events');
  const profile = state.session.profile;
  $('who').textContent = t('staff.signedInAs', { name: profile.nickname || profile.accountId });
  $('events-error').textContent = '';
  const list = $('event-list');
  list.replaceChildren();
  try {
    await loadCatalogue();
    const r = await call('EventsService', 'ListEvents', { pageSize: 100 });
    const events = (r.events || []).filter(assignedToMe);
    $('events-empty').hidden = events.length > 0;
    for (const ev of events) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'choice';
      button.dataset.eventId = ev.eventId;
      const name = document.createElement('strong');
      name.textContent = ev.name;
      const meta = document.createElement('span');
      meta.textContent = `${ev.place || ''} · ${formatDateTime(ev.startsAt)} · ${t(`status.${ev.status}`)}`;
      button.append(name, meta);
      button.addEventListener('click', () => openEventPanel(ev));
      li.append(button);
      list.append(li);
    }
    const remembered = sessionStorage.getItem(EVENT_KEY);
    const again = events.find((ev) => ev.eventId === remembered);
    if (again) openEventPanel(again);
    else list.querySelector('button')?.focus();
  } catch (e) {
    handleAuthError(e, $('events-error'));
  }
}

function renderEvent() {
  const ev = state.event;
  $('event-h').textContent = ev.name;
  $('event-meta').textContent = [
    ev.place, formatDateTime(ev.startsAt), '–', formatDateTime(ev.endsAt),
  ].filter(Boolean).join(' ');
  $('event-status').textContent = t(`status.${ev.status}`);
  $('open-event').hidden = ev.status !== 'EVENT_STATUS_SCHEDULED';
  $('live-link').href = `live.html?event=${encodeURIComponent(ev.eventId)}`;

  const select = $('action-type');
  const chosen = select.value;
  select.replaceChildren();
  for (const id of ev.acceptedActionTypes || []) {
    const option = document.createElement('option');
    option.value = id;
    option.textContent = actionName(state.actionTypes.get(id) || { id });
    select.append(option);
  }
  if (chosen) select.value = chosen;
  renderParticipant();
  renderEntries();
  if (state.lastLive) renderLive(state.lastLive);
}

function openEventPanel(ev) {
  state.event = ev;
  state.participant = null;
  state.lastLive = null;
  sessionStorage.setItem(EVENT_KEY, ev.eventId);
  show('event');
  $('event-error').textContent = '';
  $('checkin-result').textContent = '';
  $('weigh-result').textContent = '';
  renderEvent();
  startLive();
  flush();
  $('code').focus();
}

async function onOpenEvent() {
  $('event-error').textContent = '';
  try {
    state.event = await call('EventsService', 'OpenEvent', { eventId: state.event.eventId });
    renderEvent();
    $('code').focus();
  } catch (e) {
    handleAuthError(e, $('event-error'));
  }
}

// ---- check-in --------------------------------------------------------------------

function renderParticipant() {
  const label = $('participant-label');
  const radio = $('who-participant');
  if (state.participant) {
    label.textContent = t('staff.participant', { name: state.participant.nickname || state.participant.participantId });
    radio.disabled = false;
  } else {
    label.textContent = t('staff.noParticipant');
    radio.disabled = true;
    $('who-anonymous').checked = true;
  }
}

async function onCheckIn(event) {
  event.preventDefault();
  const code = $('code').value.trim();
  const result = $('checkin-result');
  result.className = '';
  if (!code) return;
  try {
    const r = await call('EventsService', 'CheckIn', { eventId: state.event.eventId, code });
    state.participant = { participantId: r.participantId, nickname: r.nickname };
    result.textContent = t('staff.checkedIn', { name: r.nickname || r.participantId, time: formatTime(r.checkedInAt) });
    result.className = 'ok';
    $('code').value = '';
    renderParticipant();
    $('who-participant').checked = true;
    $('weight').focus();
  } catch (e) {
    result.className = 'error';
    if (!handleAuthError(e, result)) refreshLive();
  }
}

// Reads a QR code with the camera where the browser has BarcodeDetector
// (Chrome on Android, for one); elsewhere the code is typed.
let scanning = null;

async function onScan() {
  if (scanning) {
    stopScan();
    return;
  }
  const video = $('camera');
  try {
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    $('scan').textContent = t('staff.stopScan');
    scanning = { stream, timer: 0 };
    const tick = async () => {
      if (!scanning) return;
      try {
        const codes = await detector.detect(video);
        if (codes.length > 0) {
          $('code').value = codes[0].rawValue.trim();
          stopScan();
          $('checkin-form').requestSubmit();
          return;
        }
      } catch {
        // A frame that could not be read; try the next one.
      }
      scanning.timer = setTimeout(tick, 250);
    };
    tick();
  } catch (e) {
    stopScan();
    $('checkin-result').className = 'error';
    $('checkin-result').textContent = t('staff.cameraError', { reason: e.message || e.name });
  }
}

function stopScan() {
  if (scanning) {
    clearTimeout(scanning.timer);
    for (const track of scanning.stream.getTracks()) track.stop();
  }
  scanning = null;
  $('camera').hidden = true;
  $('camera').srcObject = null;
  $('scan').textContent = t('staff.scan');
}

// ---- weigh-ins --------------------------------------------------------------------

// "3.2", "3,2" (a comma keypad) and full-width digits all read as 3.2.
function parseWeight(text) {
  const normalised = text.trim()
    .replace(/[０-９．，]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(',', '.');
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(normalised)) return NaN;
  return Number(normalised);
}

function onWeigh(event) {
  event.preventDefault();
  const result = $('weigh-result');
  const weight = parseWeight($('weight').value);
  if (!(weight > 0 && weight <= 100)) {
    result.className = 'error';
    result.textContent = t('staff.badWeight');
    $('weight').focus();
    return;
  }
  const anonymous = $('who-anonymous').checked || !state.participant;
  const entry = {
    eventId: state.event.eventId,
    clientEntryId: newRequestId('w'),
    actionType: $('action-type').value,
    weightKg: weight,
    occurredAt: new Date().toISOString(),
    participantId: anonymous ? '' : state.participant.participantId,
    who: anonymous ? '' : (state.participant.nickname || state.participant.participantId),
    state: 'queued',
  };
  state.entries.unshift(entry);
  saveEntries();
  result.className = '';
  result.textContent = t('staff.queued');
  $('weight').value = '';
  $('weight').focus();
  renderEntries();
  flush();
}

function renderEntries() {
  const list = $('entries');
  list.replaceChildren();
  const mine = state.entries.filter((e) => state.event && e.eventId === state.event.eventId);
  for (const e of mine.slice(0, 20)) {
    const li = document.createElement('li');
    li.className = `entry ${e.state}`;
    li.dataset.entryId = e.clientEntryId;
    li.dataset.state = e.state;
    const what = `${formatTime(e.occurredAt)} ${actionName(state.actionTypes.get(e.actionType) || { id: e.actionType })} `
      + `${formatNumber(e.weightKg, { maximumFractionDigits: 3 })} kg · ${e.who || t('staff.anonymous')}`;
    let outcome = '';
    if (e.state === 'queued') outcome = t('entry.queued');
    else if (e.state === 'recorded') outcome = t('entry.recorded', { co2: formatCo2(e.co2eGrams), points: formatNumber(e.points) });
    else if (e.state === 'duplicate') outcome = t('entry.duplicate');
    else outcome = t('entry.rejected', { message: e.message });
    li.textContent = `${what} — ${outcome}`;
    list.append(li);
  }
  renderConnection();
}

function renderConnection() {
  const banner = $('connection');
  const waiting = state.entries.filter((e) => e.state === 'queued').length;
  if (state.offline) {
    banner.hidden = false;
    banner.className = 'banner warn';
    banner.textContent = t('staff.offline', { n: waiting });
  } else if (waiting > 0 && state.flushing) {
    banner.hidden = false;
    banner.className = 'banner';
    banner.textContent = t('staff.sending', { n: waiting });
  } else {
    banner.hidden = true;
  }
}

function applyOutcome(entry, outcome) {
  if (outcome.status === 'ENTRY_STATUS_ACCEPTED') {
    Object.assign(entry, { state: 'recorded', co2eGrams: int(outcome.co2eGrams), points: int(outcome.points) });
  } else if (outcome.status === 'ENTRY_STATUS_DUPLICATE') {
    entry.state = 'duplicate';
  } else if (outcome.code === 'UNAVAILABLE' || outcome.code === 'DEADLINE_EXCEEDED') {
    return false;  // the server could not tell: send it again
  } else {
    Object.assign(entry, { state: 'rejected', message: outcome.message || outcome.code });
  }
  return true;
}

// Sends every queued entry, one batch per event, in the order typed. Network
// failures leave the entries queued and try again later; a rejection is final
// and shown with the server's message.
async function flush() {
  if (state.flushing || !state.session) return;
  clearTimeout(state.retryTimer);
  state.flushing = true;
  let again = false;
  try {
    const queued = state.entries.filter((e) => e.state === 'queued').reverse();
    const byEvent = new Map();
    for (const e of queued) {
      if (!byEvent.has(e.eventId)) byEvent.set(e.eventId, []);
      byEvent.get(e.eventId).push(e);
    }
    renderConnection();
    for (const [eventId, entries] of byEvent) {
      for (let i = 0; i < entries.length; i += 500) {
        const batch = entries.slice(i, i + 500);
        try {
          const r = await call('EventsService', 'UploadBatch', {
            eventId,
            entries: batch.map((e) => ({
              eventId, clientEntryId: e.clientEntryId, participantId: e.participantId || undefined,
              actionType: e.actionType, weightKg: e.weightKg, occurredAt: e.occurredAt,
            })),
          });
          state.offline = false;
          const outcomes = new Map((r.outcomes || []).map((o) => [o.clientEntryId, o]));
          for (const e of batch) {
            const o = outcomes.get(e.clientEntryId);
            if (!o || !applyOutcome(e, o)) again = true;
          }
          const last = batch[batch.length - 1];
          const result = $('weigh-result');
          result.className = last.state === 'rejected' ? 'error' : 'ok';
          result.textContent = last.state === 'rejected' ? t('entry.rejected', { message: last.message })
            : t('staff.saved');
        } catch (e) {
          if (e instanceof ApiError && e.retryable) {
            state.offline = e.offline;
            again = true;
            if (!e.offline) $('weigh-result').textContent = describe(e);
          } else if (handleAuthError(e, null)) {
            again = false;
            return;
          } else {
            for (const entry of batch) Object.assign(entry, { state: 'rejected', message: describe(e) });
            $('weigh-result').className = 'error';
            $('weigh-result').textContent = describe(e);
          }
        }
        saveEntries();
      }
    }
  } finally {
    state.flushing = false;
    renderEntries();
    if (again) state.retryTimer = setTimeout(flush, RETRY_INTERVAL_MS);
    else refreshLive();
  }
}

// ---- live totals --------------------------------------------------------------------

function renderLive(live) {
  $('live-co2').textContent = formatCo2(int(live.co2eGrams));
  $('live-participants').textContent = formatNumber(int(live.participants));
  $('live-anonymous').textContent = formatNumber(int(live.anonymousSharePermille) / 1000, { style: 'percent', maximumFractionDigits: 1 });
  const body = $('live-types');
  body.replaceChildren();
  for (const row of live.byActionType || []) {
    const tr = document.createElement('tr');
    const weight = int(row.attributedGrams) + int(row.anonymousGrams) + int(row.unloggedGrams);
    for (const text of [
      actionName(state.actionTypes.get(row.actionType) || { id: row.actionType }),
      formatKg(weight), formatNumber(int(row.entries)), formatCo2(int(row.co2eGrams)),
    ]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  $('live-updated').textContent = t('live.updated', { time: formatTime(new Date()) });
}

async function refreshLive() {
  if (!state.event || document.hidden) return;
  try {
    const live = await call('EventsService', 'GetEventLive', { eventId: state.event.eventId, boardSize: 5 });
    state.lastLive = live;
    if (live.event) {
      const statusChanged = live.event.status !== state.event.status;
      state.event = { ...state.event, ...live.event };
      if (statusChanged) renderEvent();
    }
    renderLive(live);
    $('live-error').textContent = '';
  } catch (e) {
    if (e instanceof ApiError && e.offline) {
      state.offline = true;
      renderConnection();
    } else {
      handleAuthError(e, $('live-error'));
    }
  }
}

function startLive() {
  stopLive();
  refreshLive();
  state.liveTimer = setInterval(refreshLive, LIVE_INTERVAL_MS);
}

function stopLive() {
  clearInterval(state.liveTimer);
  state.liveTimer = 0;
}

// ---- wiring --------------------------------------------------------------------

function main() {
  initI18n();
  // The venue screen opened from here asks this tab for its access token
  // instead of renewing the session itself (api.js).
  serveAccessToken();
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', async () => {
    stopLive();
    await signOut();
    state.session = null;
    sessionStorage.removeItem(EVENT_KEY);
    // The device keeps only what still has to be sent: no participant's
    // nickname stays behind for the next person at this tablet.
    state.entries = state.entries.filter((e) => e.state === 'queued');
    saveEntries();
    show('signin');
    $('login').focus();
  });
  $('change-event').addEventListener('click', () => {
    sessionStorage.removeItem(EVENT_KEY);
    showEvents();
  });
  $('open-event').addEventListener('click', onOpenEvent);
  $('checkin-form').addEventListener('submit', onCheckIn);
  $('weigh-form').addEventListener('submit', onWeigh);
  if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) {
    $('scan').hidden = false;
    $('scan').addEventListener('click', onScan);
  }
  window.addEventListener('online', () => { state.offline = false; renderConnection(); flush(); });
  window.addEventListener('offline', () => { state.offline = true; renderConnection(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshLive(); });
  onLangChange(() => {
    if (state.event && !$('event').hidden) renderEvent();
    else if (state.session && !$('events').hidden) showEvents();
  });

  const session = loadSession();
  if (session && isStaffOrAdmin(session.profile)) {
    state.session = session;
    showEvents();
  } else {
    show('signin');
    $('login').focus();
  }
}

main();
