import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEndpoint, MethodNotAllowedError } from '../../src/api/endpoints.js';
import { InputError, NotFoundError } from '../../src/errors.js';
import { API, endpointPath, type Endpoint, type EndpointName } from '../../src/model/api.js';

const PARAMS = { app: 'my app', domain: 'www.example.com', release: '3/../4', id: 'job 1', node: 'node 2' };

test('every endpoint of API is found at its own method and path, its parameters percent-decoded', () => {
  for (const name of Object.keys(API) as EndpointName[]) {
    const endpoint = API[name] as Endpoint<string, unknown, unknown>;
    const path = `/api${endpointPath(endpoint, PARAMS as never)}`;
    const found = findEndpoint(endpoint.method, path);
    assert.equal(found.name, name, `${endpoint.method} ${path}`);
    const expected = Object.fromEntries((endpoint.path.match(/:\w+/g) ?? []).map((param) => [param.slice(1), PARAMS[param.slice(1) as keyof typeof PARAMS]]));
    assert.deepEqual(found.params, expected, name);
  }
});

test('a literal segment wins only where it is spelled out: deploys/latest/log is a :release', () => {
  assert.deepEqual(findEndpoint('GET', '/api/apps/shop/deploys/latest/log'), { name: 'deployLog', params: { app: 'shop', release: 'latest' } });
  assert.deepEqual(findEndpoint('POST', '/api/apps/shop/checks/run'), { name: 'runChecks', params: { app: 'shop' } });
});

test('an unknown path is a 404 that names the path', () => {
  for (const path of ['/api/nope', '/api/apps/shop/unknown', '/api/apps/', '/api/apps//config', '/api/apps/shop/config/', '/api']) {
    assert.throws(
      () => findEndpoint('GET', path),
      (error: Error) => error instanceof NotFoundError && error.message === `no API endpoint ${path}`,
      path,
    );
  }
});

test('a known path with another method is refused with the methods it takes', () => {
  assert.throws(
    () => findEndpoint('PUT', '/api/apps'),
    (error: Error) => error instanceof MethodNotAllowedError && error.message === 'PUT is not allowed on /api/apps' && error.allowed.join() === 'GET,POST',
  );
  assert.throws(() => findEndpoint('GET', '/api/apps/shop/scale'), (error: Error) => error instanceof MethodNotAllowedError && error.allowed.join() === 'POST');
  assert.throws(() => findEndpoint('POST', '/api/apps/shop/domains/x.com'), (error: Error) => error instanceof MethodNotAllowedError && error.allowed.join() === 'DELETE');
});

test('a parameter that is not valid percent-encoding is bad input, naming it', () => {
  assert.throws(() => findEndpoint('GET', '/api/apps/%E0%A4%A/config'), (error: Error) => error instanceof InputError && error.message.includes('"%E0%A4%A"'));
});

test('the method is checked before the parameters are decoded, so a wrong method is said first', () => {
  assert.throws(() => findEndpoint('PUT', '/api/apps/%E0%A4%A/config'), MethodNotAllowedError);
});
