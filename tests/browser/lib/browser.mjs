// Debian's Chromium, headless, driven by playwright-core (npm, from
// services/gateway/web/package.json), with a fresh profile per test.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const CHROMIUM = process.env.ECOACT_CHROMIUM || '/usr/bin/chromium';

function playwright() {
  const webRoot = process.env.ECOACT_WEB_ROOT;
  const require = createRequire(path.join(webRoot, 'package.json'));
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed in ${webRoot}/node_modules: run scripts/setup.sh `
      + `(it runs npm ci there) (${e.message})`);
  }
}

// A browser context on a fresh --user-data-dir; `close()` removes it.
export async function launch({ locale = 'ja-JP', viewport = { width: 1280, height: 900 } } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: scripts/setup.sh installs Debian's chromium`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ecoact-chromium-'));
  const context = await playwright().chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale,
    viewport,
    timezoneId: 'Asia/Tokyo',
    // Charts draw at once (no animation), so screenshots show the figures.
    reducedMotion: 'reduce',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  context.setDefaultTimeout(15000);
  const errors = [];
  context.on('page', (page) => watch(page, errors));
  for (const page of context.pages()) watch(page, errors);
  return {
    context,
    errors,  // uncaught page errors and console errors, for the test to assert on
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A failed fetch while the test has the browser offline is expected.
    if (m.type() === 'error' && !/net::ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(m.text())) {
      errors.push(`console: ${m.text()}`);
    }
  });
}
