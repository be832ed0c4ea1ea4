// Japanese first, English on request. The choice is kept in localStorage and
// sets <html lang>; numbers and dates go through Intl in the reader's locale
// (the chosen language, with the browser's region when it has one for it).

import ja from './messages/ja.js';
import en from './messages/en.js';

const CATALOGUES = { ja, en };
const LANG_KEY = 'ecoact.lang';
let current = 'ja';

function initialLanguage() {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl && CATALOGUES[fromUrl]) return fromUrl;
  try {
    const stored = localStorage.getItem(LANG_KEY);
    if (stored && CATALOGUES[stored]) return stored;
  } catch {
    // Storage may be off; Japanese then.
  }
  return 'ja';
}

export function lang() {
  return current;
}

// The BCP 47 locale for Intl: the browser's own tag if it is in the chosen
// language (en-US, en-GB, ja-JP), else the bare language.
export function locale() {
  const preferred = (navigator.languages || [navigator.language || '']).find(
    (tag) => tag && tag.toLowerCase().split('-')[0] === current);
  return preferred || current;
}

// The message `key` with {name} placeholders filled from `params`. A missing
// key shows itself, so a gap is visible rather than blank.
export function t(key, params = {}) {
  const text = CATALOGUES[current][key] ?? CATALOGUES.ja[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// Fills every element marked data-i18n (text), data-i18n-placeholder,
// data-i18n-label (aria-label) and data-i18n-title under `root`.
export function translate(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = t(title.dataset.i18n);
}

export function setLang(next) {
  if (!CATALOGUES[next] || next === current) return;
  current = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // Not kept; this page still switches.
  }
  translate();
  document.dispatchEvent(new CustomEvent('ecoact:lang', { detail: next }));
}

// Wires the language buttons (elements with data-lang) and translates the page.
export function initI18n() {
  current = initialLanguage();
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.addEventListener('click', () => setLang(button.dataset.lang));
  }
  document.addEventListener('ecoact:lang', markLangButtons);
  translate();
  markLangButtons();
}

function markLangButtons() {
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === current));
  }
}

// On langchange, call `render` again (pages redraw what they built in JS).
export function onLangChange(render) {
  document.addEventListener('ecoact:lang', () => render());
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(locale(), options).format(value);
}

// Grams of CO2e in the unit that reads best: g below 1 kg, kg below 10 t, t above.
export function formatCo2(grams) {
  const g = Number(grams) || 0;
  if (Math.abs(g) < 1000) return t('unit.g', { n: formatNumber(g) });
  if (Math.abs(g) < 10_000_000) {
    return t('unit.kg', { n: formatNumber(g / 1000, { maximumFractionDigits: 1 }) });
  }
  return t('unit.t', { n: formatNumber(g / 1_000_000, { maximumFractionDigits: 1 }) });
}

export function formatKg(grams) {
  return t('unit.kg', { n: formatNumber((Number(grams) || 0) / 1000, { maximumFractionDigits: 1 }) });
}

export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function formatTime(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(locale(), { timeStyle: 'medium' }).format(d);
}

// A catalogue category's display name ("clothing" -> 衣類); the id itself
// for a category the catalogues do not name.
export function categoryName(id) {
  const key = `category.${id}`;
  const text = t(key);
  return text === key ? id : text;
}

// An action type's name in the page's language, from the catalogue entry.
export function actionName(type) {
  if (!type) return '';
  return (current === 'ja' ? type.nameJa : type.nameEn) || type.nameJa || type.nameEn || type.id;
}
