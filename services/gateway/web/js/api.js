// The gateway's JSON API (POST /api/<package.Service>/<Method>, proto3 JSON
// bodies) and the signed-in session. Tokens live in sessionStorage: they end
// with the tab, and another site's scripts cannot read them.

const SESSION_KEY = 'ecoact.session';
// Renew the access token this long before it expires, so that a call never
// goes out with a token that dies on the way.
const REFRESH_MARGIN_MS = 60 * 1000;

// A failed call. `offline` is true when the request never got an answer (no
// network, gateway down): the caller may retry with the same request id.
export class ApiError extends Error {
  constructor({ status = 0, code = '', message = '', offline = false }) {
    super(message || code || 'request failed');
    this.status = status;
    this.code = code;
    this.offline = offline;
  }
  // The server could not tell whether the call took effect: send it again.
  get retryable() {
    return this.offline || this.status === 503 || this.status === 504 ||
      this.code === 'UNAVAILABLE' || this.code === 'DEADLINE_EXCEEDED';
  }
}

export function loadSession() {
  try {
    const text = sessionStorage.getItem(SESSION_KEY);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function saveSession(session) {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

async function post(service, method, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/ecoact.v1.${service}/${method}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body || {}),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError({ offline: true, message: String(e && e.message || e) });
  }
  const text = await response.text();
  let data = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not the gateway's JSON (a proxy's error page, say): no page markup
      // in front of the user, just the status.
      data = { message: `HTTP ${response.status} ${response.statusText}` };
    }
  }
  if (!response.ok) {
    throw new ApiError({
      status: response.status,
      code: String(data.code ?? ''),
      message: data.message || response.statusText,
    });
  }
  return data;
}

let refreshing = null;

// Trades the refresh token for new tokens (single use: the answer replaces
// both). Concurrent callers share one exchange.
async function refresh(session) {
  if (!refreshing) {
    refreshing = post('IdentityService', 'RefreshToken', { refreshToken: session.refreshToken })
      .then((r) => {
        const renewed = {
          ...session,
          token: r.token,
          tokenExpiresAt: r.tokenExpiresAt,
          refreshToken: r.refreshToken,
          refreshTokenExpiresAt: r.refreshTokenExpiresAt,
        };
        saveSession(renewed);
        return renewed;
      })
      .catch((e) => {
        // A refused refresh token (expired, revoked, reused) ends the session.
        if (!e.offline && e.status >= 400 && e.status < 500) saveSession(null);
        throw e;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

// True when the session's access token is expired or about to be. (With no
// known expiry the token is tried, and an UNAUTHENTICATED answer tells.)
export function expiresSoon(session) {
  const expires = Date.parse(session && session.tokenExpiresAt || '');
  return Number.isFinite(expires) && expires - Date.now() < REFRESH_MARGIN_MS;
}

// The session with an access token good for a while: renewed first (in this
// tab) when it holds a refresh token and the access token is about to expire.
async function freshSession() {
  const session = loadSession();
  if (!session) throw new ApiError({ status: 401, code: 'UNAUTHENTICATED', message: '' });
  return session.refreshToken && expiresSoon(session) ? refresh(session) : session;
}

// Calls an RPC. With `auth` (the default) the session's access token is sent,
// renewed first when about to expire, and renewed once more after an
// UNAUTHENTICATED answer (renewals only in a tab that holds the refresh token).
export async function call(service, method, body = {}, { auth = true } = {}) {
  if (!auth) return post(service, method, body, '');
  let session = await freshSession();
  try {
    return await post(service, method, body, session.token);
  } catch (e) {
    if (e.status === 401 && session.refreshToken) {
      session = await refresh(session);
      return post(service, method, body, session.token);
    }
    throw e;
  }
}

// One tab rotates a refresh token, never two. A refresh token is single use:
// if two tabs held a copy (a tab opened with rel="opener" gets a copy of
// sessionStorage) and both renewed with it, the second use more than 30 s
// after the first is taken for a stolen token and the server revokes the
// whole family, signing both tabs out. So a window opened from the staff
// console (the venue screen) keeps only the access token and, when that is
// about to expire, asks its opener for the opener's current one
// (postMessage, same origin only); the opener renews it if need be.
const TOKEN_REQUEST = 'ecoact.token-request';
const TOKEN_REPLY = 'ecoact.token-reply';

// In the tab that owns the session (the staff console): answers the windows
// it opened with its current access token, or an empty one when signed out.
export function serveAccessToken() {
  window.addEventListener('message', async (e) => {
    if (e.origin !== location.origin || !e.source || !e.data || e.data.type !== TOKEN_REQUEST) return;
    const reply = { type: TOKEN_REPLY, id: String(e.data.id || ''), token: '', tokenExpiresAt: '' };
    try {
      const session = await freshSession();
      reply.token = session.token;
      reply.tokenExpiresAt = session.tokenExpiresAt;
    } catch {
      // Signed out, or the renewal failed: the asking window goes public.
    }
    e.source.postMessage(reply, location.origin);
  });
}

// In a window opened from the owning tab: forgets the copied refresh token,
// so that this window can never rotate it.
export function keepAccessTokenOnly() {
  const session = loadSession();
  if (session && (session.refreshToken || session.refreshTokenExpiresAt)) {
    delete session.refreshToken;
    delete session.refreshTokenExpiresAt;
    saveSession(session);
  }
}

// Asks the opener for a fresh access token and keeps it in this tab's
// session. Resolves to true when there is one; false when the opener has
// none, does not answer within `timeoutMs` (closed, gone to another page),
// or there is no opener (then the session is dropped for good).
export function renewFromOpener(timeoutMs = 3000) {
  const opener = window.opener;
  if (!opener || opener.closed) {
    saveSession(null);
    return Promise.resolve(false);
  }
  const id = newRequestId('token');
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    function done(ok) {
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(ok);
    }
    function onMessage(e) {
      if (e.origin !== location.origin || e.source !== opener || !e.data || e.data.type !== TOKEN_REPLY ||
          e.data.id !== id) return;
      const session = loadSession();
      if (!e.data.token || !session) {
        done(false);
        return;
      }
      saveSession({ ...session, token: String(e.data.token), tokenExpiresAt: String(e.data.tokenExpiresAt || '') });
      done(true);
    }
    window.addEventListener('message', onMessage);
    try {
      opener.postMessage({ type: TOKEN_REQUEST, id }, location.origin);
    } catch {
      done(false);
    }
  });
}

export async function signIn(accountId, secret) {
  const r = await post('IdentityService', 'SignIn', { accountId, secret }, '');
  const session = {
    token: r.token,
    tokenExpiresAt: r.tokenExpiresAt,
    refreshToken: r.refreshToken,
    refreshTokenExpiresAt: r.refreshTokenExpiresAt,
    profile: r.profile || {},
  };
  saveSession(session);
  return session;
}

export async function signOut() {
  const session = loadSession();
  saveSession(null);
  if (session && session.refreshToken) {
    try {
      await post('IdentityService', 'SignOut', { refreshToken: session.refreshToken }, '');
    } catch {
      // Signed out locally either way; the refresh token expires by itself.
    }
  }
}

// A client-generated request id: 8 to 64 characters of [A-Za-z0-9_-], unique
// enough that two devices never pick the same one.
export function newRequestId(prefix = 'web') {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${hex}`;
}

// proto3 JSON writes int64 as strings and leaves out zero values.
export function int(value) {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}
