import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { streamOperation } from '../../src/api/respond.js';
import { InputError, NotFoundError } from '../../src/errors.js';
import type { DeployOutput } from '../../src/log/output.js';

type Work = (output: DeployOutput, res: http.ServerResponse) => Promise<unknown>;

/** Answers one request with streamOperation running `work`; resolves with what a client read. */
async function streamed(work: Work): Promise<{ status: number; type: string | null; text: string }> {
  const server = http.createServer((_req, res) => void streamOperation(res, (output) => work(output, res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST' });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  } finally {
    server.close();
  }
}

function events(text: string): unknown[] {
  return text.trim().split('\n').map((line) => JSON.parse(line) as unknown);
}

test('the 200 goes out with the first line, not before the work starts', async () => {
  const answer = await streamed(async (output, res) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(res.headersSent, false, 'no status before the first line');
    output.section('Starting');
    assert.equal(res.headersSent, true, 'the first line sends the status');
    return { release: 2 };
  });
  assert.equal(answer.status, 200);
  assert.equal(answer.type, 'application/x-ndjson');
  assert.deepEqual(events(answer.text), [{ line: '-----> Starting' }, { ok: true, result: { release: 2 } }]);
});

test('an operation that prints nothing sends the 200 with its result', async () => {
  const answer = await streamed(async () => undefined);
  assert.equal(answer.status, 200);
  assert.deepEqual(events(answer.text), [{ ok: true, result: {} }]);
});

test('an error before the first line answers with its real status and the JSON error body', async () => {
  const notFound = await streamed(async () => {
    throw new NotFoundError('no app named nope', 'see berth apps:list');
  });
  assert.equal(notFound.status, 404);
  assert.equal(notFound.type, 'application/json');
  assert.deepEqual(JSON.parse(notFound.text), { error: 'no app named nope', hint: 'see berth apps:list' });
  const badInput = await streamed(async () => {
    throw new InputError('"1BAD" is not a valid config key');
  });
  assert.equal(badInput.status, 400);
  assert.deepEqual(JSON.parse(badInput.text), { error: '"1BAD" is not a valid config key' });
  assert.equal((await streamed(() => Promise.reject(new Error('disk full')))).status, 500);
});

test('an error after the first line ends the stream with an {ok: false} event', async () => {
  const answer = await streamed(async (output) => {
    output.info('Checking');
    throw new InputError('the checks failed', 'see the lines above');
  });
  assert.equal(answer.status, 200);
  assert.deepEqual(events(answer.text), [{ line: '       Checking' }, { ok: false, error: 'the checks failed', hint: 'see the lines above' }]);
});
