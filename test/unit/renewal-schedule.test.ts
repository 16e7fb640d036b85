// The schedule runs a round at start, at the moment the next renewal or retry is due, and at once
// when something changes; never two at a time.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RenewalSchedule } from '../../src/certs/schedule.js';
import { sleep } from '../../src/time.js';

class Rounds {
  started: number[] = [];
  running = 0;
  overlapped = false;
  dueIn: number | undefined;
  roundMs = 0;
  private wake: () => void = () => undefined;

  async round(): Promise<void> {
    this.started.push(Date.now());
    this.running += 1;
    if (this.running > 1) this.overlapped = true;
    await sleep(this.roundMs);
    this.running -= 1;
  }

  async nextDueAt(): Promise<number | undefined> {
    return this.dueIn === undefined ? undefined : Date.now() + this.dueIn;
  }

  onChange(wake: () => void): void {
    this.wake = wake;
  }

  change(): void {
    this.wake();
  }
}

function schedule(t: TestContext, rounds: Rounds): RenewalSchedule {
  const logged: string[] = [];
  const renewals = new RenewalSchedule(rounds, (line) => logged.push(line));
  t.after(() => renewals.stop());
  return renewals;
}

test('a round at start, then one when the next renewal is due', async (t) => {
  const rounds = new Rounds();
  rounds.dueIn = 60;
  schedule(t, rounds).start();
  await sleep(20);
  assert.equal(rounds.started.length, 1, 'at start');
  await sleep(80);
  assert.equal(rounds.started.length, 2, 'when due');
  assert.ok(rounds.started[1] - rounds.started[0] >= 55, `${rounds.started[1] - rounds.started[0]} ms later`);
});

test('with nothing due, no round runs within the hour', async (t) => {
  const rounds = new Rounds();
  schedule(t, rounds).start();
  await sleep(100);
  assert.equal(rounds.started.length, 1);
});

test('a change during a round runs one more right after it, never two at once', async (t) => {
  const rounds = new Rounds();
  rounds.roundMs = 40;
  schedule(t, rounds).start();
  await sleep(10);
  rounds.change();
  rounds.change();
  await sleep(150);
  assert.equal(rounds.started.length, 2);
  assert.equal(rounds.overlapped, false);
});

test('after stop no round starts, and stop waits for the one running', async (t) => {
  const rounds = new Rounds();
  rounds.roundMs = 40;
  rounds.dueIn = 10;
  const renewals = schedule(t, rounds);
  renewals.start();
  await sleep(10);
  await renewals.stop();
  assert.equal(rounds.running, 0);
  await sleep(60);
  assert.equal(rounds.started.length, 1);
});
