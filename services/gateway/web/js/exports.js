// CSV downloads for officials: ReportsService.ExportImpactCsv, a server
// stream of CSV chunks, read through the gateway (as text/csv when the
// gateway sends the chunks raw, else as NDJSON lines of {"text","month"})
// and saved as one file.

import { ApiError, call, loadSession } from './api.js';
import { t } from './i18n.js';

const SCOPES = ['SCOPE_UNSPECIFIED', 'SCOPE_CITY', 'SCOPE_WARD', 'SCOPE_TEAM', 'SCOPE_ORGANISATION', 'SCOPE_EVENT', 'SCOPE_CAMPAIGN'];

function monthOf(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}`;
}

function field(id, labelKey, input) {
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = t(labelKey);
  input.id = id;
  const box = document.createElement('div');
  box.className = 'stack';
  box.append(label, input);
  return box;
}

// The CSV text of one export. Renews the access token first (through an
// ordinary call), since a stream cannot be retried halfway.
export async function fetchCsv(request) {
  await call('IdentityService', 'GetMyProfile', {});
  const session = loadSession();
  let response;
  try {
    response = await fetch('/api/ecoact.v1.ReportsService/ExportImpactCsv', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/csv, application/x-ndjson;q=0.9',
        Authorization: `Bearer ${session.token}`,
      },
      body: JSON.stringify(request),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError({ offline: true, message: String(e.message || e) });
  }
  const body = await response.text();
  if (!response.ok) {
    let error = {};
    try { error = JSON.parse(body); } catch { error = { message: body }; }
    throw new ApiError({ status: response.status, code: error.code || '', message: error.message || response.statusText });
  }
  if ((response.headers.get('Content-Type') || '').startsWith('text/csv')) return body;
  let csv = '';
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    const message = JSON.parse(line);
    // A stream that failed after it started ends with an error line.
    if (message.error) throw new ApiError({ status: 500, code: message.error.code, message: message.error.message });
    csv += message.text || '';
  }
  return csv;
}

export function renderExports(root, { describe, fail }) {
  root.replaceChildren();
  const form = document.createElement('form');
  form.className = 'stack';
  form.id = 'export-form';
  const scope = document.createElement('select');
  for (const s of SCOPES) {
    const option = document.createElement('option');
    option.value = s;
    option.textContent = t(`scope.${s}`);
    scope.append(option);
  }
  const scopeId = document.createElement('input');
  scopeId.autocapitalize = 'off';
  scopeId.spellcheck = false;
  const now = new Date();
  const from = document.createElement('input');
  from.type = 'month';
  from.required = true;
  from.value = monthOf(new Date(now.getFullYear(), now.getMonth() - 11, 1));
  const to = document.createElement('input');
  to.type = 'month';
  to.required = true;
  to.value = monthOf(now);
  const button = document.createElement('button');
  button.type = 'submit';
  button.className = 'primary';
  button.textContent = t('export.download');
  const result = document.createElement('p');
  result.setAttribute('role', 'status');
  result.id = 'export-result';
  const grid = document.createElement('div');
  grid.className = 'grid';
  grid.append(field('export-from', 'export.from', from), field('export-to', 'export.to', to));
  const hint = document.createElement('p');
  hint.className = 'muted';
  hint.textContent = t('export.hint');
  form.append(hint, field('export-scope', 'export.scope', scope), field('export-scope-id', 'export.scopeId', scopeId), grid,
    button, result);
  const syncScopeId = () => {
    const needsId = !['SCOPE_UNSPECIFIED', 'SCOPE_CITY'].includes(scope.value);
    scopeId.disabled = !needsId;
    scopeId.required = needsId;
  };
  scope.addEventListener('change', syncScopeId);
  syncScopeId();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    result.className = '';
    result.textContent = t('common.loading');
    try {
      const request = { scope: scope.value, fromMonth: from.value, toMonth: to.value };
      if (!scopeId.disabled) request.scopeId = scopeId.value.trim();
      const csv = await fetchCsv(request);
      const rows = Math.max(0, csv.split('\r\n').filter(Boolean).length - 1);
      const name = `ecoact-impact-${from.value}-${to.value}.csv`;
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      result.className = 'ok';
      result.textContent = t('export.done', { name, rows });
    } catch (e) {
      result.className = 'error';
      if (e instanceof ApiError && e.status === 401) fail(e);
      else result.textContent = describe(e);
    } finally {
      button.disabled = false;
    }
  });
  root.append(form);
}
