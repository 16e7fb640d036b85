import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProxyConfigError, renderAppConfig, renderMainConfig, type AppProxySpec } from '../../src/proxy/render.js';

const spec: AppProxySpec = {
  app: 'myapp',
  release: 7,
  httpPort: 8080,
  serverNames: ['myapp.localhost', 'www.example.com'],
  upstreams: [{ host: '172.18.0.5', port: 5000 }],
};

test('the app config sends its host names to the release container with the forwarding headers', () => {
  const text = renderAppConfig(spec);
  assert.match(text, /upstream berth-myapp \{\s+server 172\.18\.0\.5:5000 max_fails=0;/);
  assert.match(text, /server_name myapp\.localhost www\.example\.com;/);
  assert.match(text, /listen 8080;/);
  assert.match(text, /proxy_pass http:\/\/berth-myapp;/);
  for (const header of ['Host $host', 'X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme', 'Upgrade $http_upgrade', 'Connection $berth_connection_upgrade']) {
    assert.ok(text.includes(`proxy_set_header ${header};`), `missing ${header}`);
  }
  assert.match(text, /release 7/);
});

test('every upstream container is listed', () => {
  const text = renderAppConfig({ ...spec, upstreams: [{ host: '10.0.0.1', port: 5000 }, { host: '10.0.0.2', port: 5001 }] });
  assert.match(text, /server 10\.0\.0\.1:5000 max_fails=0;\s+server 10\.0\.0\.2:5001 max_fails=0;/);
});

const refused: [string, Partial<AppProxySpec>][] = [
  ['an app name with a semicolon', { app: 'my;app' }],
  ['an upper-case app name', { app: 'MyApp' }],
  ['a host name that injects a directive', { serverNames: ['a.com; return 200 x'] }],
  ['a host name with a brace', { serverNames: ['a.com}'] }],
  ['no host names', { serverNames: [] }],
  ['a host address that is not IPv4', { upstreams: [{ host: 'evil;', port: 5000 }] }],
  ['a port out of range', { upstreams: [{ host: '10.0.0.1', port: 70000 }] }],
  ['no upstreams', { upstreams: [] }],
  ['a release that is not a number', { release: 0 }],
];

for (const [what, change] of refused) {
  test(`rendering refuses ${what}`, () => {
    assert.throws(() => renderAppConfig({ ...spec, ...change }), ProxyConfigError);
  });
}

test('the main config refuses a prefix that would break out of its quotes', () => {
  const main = { prefix: '/var/lib/berth/nginx', httpPort: 80, domain: 'localhost', drainTimeoutSeconds: 30, appIncludes: [] };
  assert.doesNotThrow(() => renderMainConfig(main));
  assert.throws(() => renderMainConfig({ ...main, prefix: '/tmp/x"; error_log /etc/passwd' }), ProxyConfigError);
  assert.throws(() => renderMainConfig({ ...main, appIncludes: ['relative/path.conf'] }), ProxyConfigError);
});

test('nginx -t accepts the rendered main and app configs together', () => {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-render-'));
  try {
    for (const dir of ['run', 'logs', 'tmp']) fs.mkdirSync(path.join(prefix, dir));
    const appFile = path.join(prefix, 'myapp.conf');
    fs.writeFileSync(appFile, renderAppConfig(spec));
    const mainFile = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(mainFile, renderMainConfig({ prefix, httpPort: 8080, domain: 'localhost', drainTimeoutSeconds: 30, appIncludes: [appFile] }));
    execFileSync('nginx', ['-t', '-q', '-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', mainFile], { stdio: 'pipe' });
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});
