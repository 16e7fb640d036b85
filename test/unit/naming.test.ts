// Container names must never collide: startContainer replaces a container of the same name, so
// two apps (or two berths on one engine) whose names met would take each other's containers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidAppName, isValidProcessType } from '../../src/model/app.js';
import { appLabels, containerName, describeOwner, isValidInstanceName, labelsMatch } from '../../src/model/naming.js';
import { UsageError } from '../../src/errors.js';
import { resolveServeOptions } from '../../src/server/options.js';
import { propertyParameters, stringOf } from '../support/properties.js';

const CASES = 5000;
const DEFAULT_SEED = 0x0a3e;

// Few letters and many hyphens, so that names which differ only in where a hyphen falls are common.
const NAME_CHARACTERS = ['a', 'b', '1', '-', '-'];
const nameOf = (maxLength: number, valid: (name: string) => boolean) => stringOf(NAME_CHARACTERS, 0, maxLength - 1).map((rest) => `a${rest}`).filter(valid);

const containerParts = fc.record({
  instance: nameOf(32, isValidInstanceName),
  app: nameOf(63, isValidAppName),
  type: nameOf(30, isValidProcessType),
  release: fc.integer({ min: 1, max: 999_999_999 }),
  index: fc.integer({ min: 1, max: 20 }),
});

type Parts = typeof containerParts extends fc.Arbitrary<infer T> ? T : never;

const nameFor = (p: Parts) => containerName(p.instance, p.app, p.type, p.release, p.index);

test('the examples of issue 11 get names of their own', () => {
  assert.notEqual(containerName('berth', 'shop', 'mail-worker', 3, 1), containerName('berth', 'shop-mail', 'worker', 3, 1));
  assert.notEqual(containerName('berth', 'x-y', 'web', 1, 1), containerName('berth-x', 'y', 'web', 1, 1));
  assert.notEqual(containerName('berth', 'shop', 'web', 1, 2), containerName('berth', 'shop', 'web', 12, 1));
  assert.equal(containerName('berth', 'shop', 'mail-worker', 3, 1), 'berth_shop_mail-worker_3');
  assert.equal(containerName('berth', 'shop', 'web', 3, 2), 'berth_shop_web_3_2');
});

/** A container, and one whose instance, app and type are the same words cut at other hyphens: what hyphen-joined names confuse. */
const recutPair = containerParts
  .chain((parts) => {
    const words = [parts.instance, parts.app, parts.type].join('-').split('-');
    const cut = fc.integer({ min: 1, max: words.length - 1 });
    return fc.tuple(cut, cut).map(([a, b]): [Parts, Parts] => {
      const [first, second] = a < b ? [a, b] : [b, a];
      return [parts, { ...parts, instance: words.slice(0, first).join('-'), app: words.slice(first, second).join('-'), type: words.slice(second).join('-') }];
    });
  })
  .filter(([, other]) => isValidInstanceName(other.instance) && isValidAppName(other.app) && isValidProcessType(other.type));

test(`${CASES} random pairs of containers: different instance, app, type, release or index never share a name`, () => {
  fc.assert(
    fc.property(fc.oneof(fc.tuple(containerParts, containerParts), recutPair), ([one, other]) => {
      fc.pre(JSON.stringify(one) !== JSON.stringify(other));
      assert.notEqual(nameFor(one), nameFor(other));
    }),
    propertyParameters(CASES, DEFAULT_SEED),
  );
});

test(`${CASES} random containers: the name splits back into its parts and is a valid Docker container name`, () => {
  fc.assert(
    fc.property(containerParts, (parts) => {
      const name = nameFor(parts);
      assert.deepEqual(name.split('_'), [parts.instance, parts.app, parts.type, String(parts.release), ...(parts.index > 1 ? [String(parts.index)] : [])]);
      assert.match(name, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    }),
    propertyParameters(CASES, DEFAULT_SEED),
  );
});

test('no instance, app or process type may hold the separator; an instance name is a valid image path component', () => {
  for (const valid of [isValidInstanceName, isValidAppName, isValidProcessType]) {
    assert.equal(valid('a_b'), false);
  }
  for (const name of ['berth', 'test-123-4', 'b2', 'a'.repeat(32)]) assert.ok(isValidInstanceName(name), name);
  for (const name of ['', 'Berth', 'berth_x', 'berth-', '-berth', 'ber--th', '1berth', 'a'.repeat(33), 'ber.th']) assert.equal(isValidInstanceName(name), false, name);
});

test('an app name never makes an invalid image name or host name: no trailing hyphen', () => {
  for (const name of ['shop', 'shop-mail', 's', 'a1', 'shop--mail', 'a'.repeat(63)]) assert.ok(isValidAppName(name), name);
  for (const name of ['shop-', 'a-', '-shop', '1shop', 'Shop', 'a'.repeat(64), 'sh.op']) assert.equal(isValidAppName(name), false, name);
});

test('--instance that could make names meet, or no valid image name, is refused at start, naming the rule', () => {
  for (const instance of ['berth_x', 'berth-', 'Berth', 'a--b']) {
    assert.throws(
      () => resolveServeOptions(['--instance', instance], {}),
      (error: unknown) => error instanceof UsageError && error.message.includes(`--instance "${instance}" is not a valid instance name`) && /single hyphens/.test(error.message),
    );
  }
  assert.equal(resolveServeOptions([], { BERTH_INSTANCE: 'berth-2' }).instance, 'berth-2');
});

test('only a container carrying every one of its labels counts as berth\'s own; the owner of another is named', () => {
  const ours = appLabels('berth', 'shop', 3, 'web');
  assert.ok(labelsMatch({ ...ours, other: 'x' }, ours));
  assert.equal(labelsMatch({ ...ours, 'berth.app': 'shop-mail' }, ours), false);
  assert.equal(labelsMatch(undefined, ours), false);
  assert.equal(describeOwner(appLabels('berth-x', 'y', 1, 'web')), 'it belongs to app y of berth instance berth-x');
  assert.equal(describeOwner({}), 'it was not made by berth');
});
