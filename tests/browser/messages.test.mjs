// The pages' message catalogues: Japanese and English have the same keys and
// the same {placeholders}, and every key the pages use exists. Runs without
// a browser (ctest label unit).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

const web = process.env.ECOACT_WEB_ROOT;
const ja = (await import(pathToFileURL(path.join(web, 'js/messages/ja.js')))).default;
const en = (await import(pathToFileURL(path.join(web, 'js/messages/en.js')))).default;

function files(dir, ext) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : files(p, ext);
    return p.endsWith(ext) ? [p] : [];
  });
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  it('have the same keys in Japanese and English', () => {
    assert.deepEqual(Object.keys(en).sort(), Object.keys(ja).sort());
  });

  it('have the same placeholders in both languages', () => {
    for (const key of Object.keys(ja)) assert.deepEqual(placeholders(en[key] || ''), placeholders(ja[key]), key);
  });

  it('hold every key the pages use', () => {
    const used = new Set();
    for (const file of files(web, '.html')) {
      const html = fs.readFileSync(file, 'utf8');
      for (const m of html.matchAll(/data-i18n(?:-placeholder|-label|-title)?="([^"]+)"/g)) used.add(m[1]);
    }
    for (const file of files(path.join(web, 'js'), '.js')) {
      const js = fs.readFileSync(file, 'utf8');
      // Literal keys only: t('staff.heading'); built keys (`status.${...}`) are
      // listed in full in the catalogues.
      for (const m of js.matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
    }
    assert.ok(used.size > 50, `found only ${used.size} keys: is the scan broken?`);
    const missing = [...used].filter((key) => !(key in ja) || !(key in en));
    assert.deepEqual(missing, []);
  });
});
