// Starts what a browser test talks to: a redis-server on a free loopback
// port (own temporary directory, no persistence), the real ecoact_server
// against it, and the real ecoact_gateway in front of the server serving the
// web pages; stops them all when the test ends. Paths come from ctest's
// environment (tests/browser/CMakeLists.txt):
//   ECOACT_SERVER_BINARY, ECOACT_GATEWAY_BINARY   the built binaries
//   ECOACT_WEB_ROOT                               services/gateway/web
//   ECOACT_ARTIFACTS                              where logs and screenshots go

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ADMIN_PASSWORD = 'browser-admin-password';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the browser tests through ctest (label browser)`);
  return value;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what, probe, child, log, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; log:\n${tail(log)}`);
    }
    if (await probe()) return;
    await sleep(100);
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms; log:\n${tail(log)}`);
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function acceptsConnections(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export class Stack {
  static async start(name) {
    const stack = new Stack(name);
    try {
      await stack.#startAll();
    } catch (e) {
      await stack.stop();
      throw e;
    }
    return stack;
  }

  constructor(name) {
    this.artifacts = path.join(required('ECOACT_ARTIFACTS'), name);
    fs.rmSync(this.artifacts, { recursive: true, force: true });
    fs.mkdirSync(this.artifacts, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ecoact-browser-'));
    this.children = [];
  }

  #spawn(what, binary, args, env = {}) {
    const log = path.join(this.artifacts, `${what}.log`);
    const out = fs.openSync(log, 'w');
    const child = spawn(binary, args, {
      env: { PATH: process.env.PATH, TZ: process.env.TZ || 'UTC', ...env },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    child.on('error', () => {});  // reported by waitFor through exitCode
    this.children.push(child);
    return { child, log };
  }

  async #startAll() {
    const redisPort = await freePort();
    const redis = this.#spawn('redis', 'redis-server', [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    ]);
    await waitFor('redis-server', () => acceptsConnections(redisPort), redis.child, redis.log);

    const serverPort = await freePort();
    const server = this.#spawn('server', required('ECOACT_SERVER_BINARY'), [
      `--listen=127.0.0.1:${serverPort}`, '--password_iterations=1000', '--health_interval=100ms',
      '--rate_limits=0',
    ], {
      ECOACT_REDIS: `127.0.0.1:${redisPort}`,
      ECOACT_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ECOACT_TOKEN_KEYS: 'browser=0123456789abcdef0123456789abcdef0123',
      ECOACT_KEY_PREFIX: 'browser',
    });
    await waitFor('ecoact_server', () => acceptsConnections(serverPort), server.child, server.log);

    const httpPort = await freePort();
    const webRoot = required('ECOACT_WEB_ROOT');
    const gateway = this.#spawn('gateway', required('ECOACT_GATEWAY_BINARY'), [
      `--http_listen=127.0.0.1:${httpPort}`, `--upstream=127.0.0.1:${serverPort}`,
      `--web_root=${webRoot}`, `--vendor_root=${path.join(webRoot, 'node_modules')}`,
    ]);
    this.baseUrl = `http://127.0.0.1:${httpPort}`;
    await waitFor('ecoact_gateway', async () => {
      try {
        return (await fetch(`${this.baseUrl}/healthz`)).ok;
      } catch {
        return false;
      }
    }, gateway.child, gateway.log);
  }

  // Calls an RPC through the gateway, as the pages do; throws with the HTTP
  // status and the server's message on an error.
  async call(service, method, body = {}, token = '') {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(`${this.baseUrl}/api/ecoact.v1.${service}/${method}`, {
      method: 'POST', headers, body: JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : {};
    if (!response.ok) {
      throw new Error(`${service}.${method}: HTTP ${response.status} ${data.code}: ${data.message}`);
    }
    return data;
  }

  async stop() {
    for (const child of this.children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!done) child.kill('SIGKILL');
      }
    }
    this.children = [];
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
