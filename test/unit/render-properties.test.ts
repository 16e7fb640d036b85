// Property: whatever berth hands the nginx renderers, they either refuse it with ProxyConfigError
// or produce a file that the real `nginx -t` accepts, assembled as src/proxy/proxy.ts and
// src/proxy/nginx.ts assemble it, with exactly the directives of a known-good render.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { streamModuleDirective } from '../../src/proxy/modules.js';
import { ProxyConfigError, renderEdgeApp, renderEdgeMain, renderSwitchApp, renderSwitchMain, type Upstream } from '../../src/proxy/render.js';
import { assertNginxAccepts, createNginxPrefix, nginxOutline } from '../support/nginx.js';
import { arrayOf, joined, percentOf, propertyParameters, stringOf } from '../support/properties.js';

const CASES = 300;
const OUTLINE_CASES = 3000;
const DEFAULT_SEED = 0xbe47;

/** Everything the renderers are given, as one deploy of one app: both tiers share the app, socket, port and data dir. */
interface Case {
  app: string;
  httpPort: number;
  serverNames: string[];
  socket: string;
  connectionLifetimeMs: number;
  release: number;
  upstreams: Upstream[];
  /** DATA_DIR/nginx: holds the edge/ and switch/ prefixes. */
  nginxDir: string;
  domain: string;
  drainTimeoutSeconds: number;
}

/** A case and the folder it may create its nginx prefixes in. */
interface CaseInput extends Case {
  caseDir: string;
}

const KNOWN_GOOD: Case = {
  app: 'myapp',
  httpPort: 8080,
  serverNames: ['myapp.localhost'],
  socket: '/var/lib/berth/nginx/sockets/myapp.sock',
  connectionLifetimeMs: 200,
  release: 1,
  upstreams: [{ host: '10.0.0.1', port: 5000 }],
  nginxDir: '/var/lib/berth/nginx',
  domain: 'localhost',
  drainTimeoutSeconds: 30,
};

// ---- values

const ADVERSARIAL_CHARACTERS = [...';{}$"\'\\#\n\r\t \0', 'é', 'É', '👋', '\u00a0', '\u2028', '\ufeff', '\ud800', 'İ', '\u212a'];
const LETTERS = [...'abcxyz'];
const NAME_CHARACTERS = [...'abcxyz0189-'];
const LABEL_EDGE_CHARACTERS = [...'abcxyz0189'];
const PATH_CHARACTERS = [...'abcXYZ019._-*/'];
const SEGMENT_CHARACTERS = [...'abcXYZ019._-*'];
const NGINX_SYNTAX_CHARACTERS = [...';{}$"\'\\# \t\n\r'];
const INJECTIONS = ['; return 200 injected', '\nserver { listen 1; }', ' } server {', '$host', '${host}', ' # ', '\r\n', 'é', '\0', ' default_server', ';include /etc/passwd'];

/** The items with one of them, any one, replaced. */
function replaceOne<T, R>(items: fc.Arbitrary<T[]>, replacement: fc.Arbitrary<R>, replace: (item: T, replacement: R) => T): fc.Arbitrary<T[]> {
  return fc.tuple(items, replacement, fc.nat()).map(([drawn, value, chosen]) => drawn.map((item, index) => (index === chosen % drawn.length ? replace(item, value) : item)));
}

/** Strings of `min` and of `max` characters as often as strings of any length between. A failure shrinks towards `min`. */
function stringAtBoundsOrBetween(alphabet: readonly string[], min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof({ withCrossShrink: true }, stringOf(alphabet, min, min), stringOf(alphabet, max, max), stringOf(alphabet, min, max));
}

const ADVERSARIAL_STRING_CHARACTERS = [...ADVERSARIAL_CHARACTERS, ...PATH_CHARACTERS, ':'];
const adversarialString = fc.oneof(fc.constant(''), stringOf(ADVERSARIAL_STRING_CHARACTERS, 1, 16), stringOf(ADVERSARIAL_STRING_CHARACTERS, 200, 5000));

/** A valid value with something nginx would read as syntax put somewhere in it. */
function spoiled(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const syntax = fc.oneof(fc.constantFrom(...NGINX_SYNTAX_CHARACTERS), fc.constantFrom(...INJECTIONS));
  return fc.tuple(valid, syntax, fc.nat()).map(([text, inserted, position]) => {
    const at = position % (text.length + 1);
    return text.slice(0, at) + inserted + text.slice(at);
  });
}

function adversarialText(valid: fc.Arbitrary<string>, nearMisses: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(adversarialString, { arbitrary: spoiled(valid), weight: 2 }, fc.constantFrom(...nearMisses));
}

const validAppName = joined(fc.constantFrom(...LETTERS), stringAtBoundsOrBetween(NAME_CHARACTERS, 0, 62));

/** A host name label of `length` characters. */
function validLabel(length: number): fc.Arbitrary<string> {
  const edge = fc.constantFrom(...LABEL_EDGE_CHARACTERS);
  return length === 1 ? edge : joined(edge, stringOf(NAME_CHARACTERS, length - 2, length - 2), edge);
}

const validDomain = fc.oneof(
  { withCrossShrink: true },
  arrayOf(fc.integer({ min: 1, max: 20 }).chain(validLabel), 1, 4).map((labels) => labels.join('.')),
  validLabel(63),
  // 253 characters, the longest a host name may be.
  joined(validLabel(63), '.', validLabel(63), '.', validLabel(63), '.', validLabel(61)),
);

const NEAR_MISS_DOMAINS = ['', 'a..b', '-a.com', 'a-.com', 'A.com', 'a_b.com', 'a.com.', '.a.com', '*.a.com', '~^a$', 'a'.repeat(64), `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(62), 'xn--bcher-kva.example', 'bücher.example'];

const adversarialDomain = adversarialText(validDomain, NEAR_MISS_DOMAINS);

/**
 * In the case's folder, since `nginx -t` binds the switch tier's socket (and removes it again),
 * and apart from the prefixes, since bind() fails on a path that is a folder.
 */
function validSocket(caseDir: string): fc.Arbitrary<string> {
  const folder = path.join(caseDir, 'sockets');
  // sockaddr_un holds 107 characters and a terminator.
  const room = 107 - folder.length - 1;
  return joined(`${folder}/`, stringAtBoundsOrBetween(PATH_CHARACTERS, 1, room));
}

const validIpv4 = arrayOf(fc.oneof(fc.constantFrom(0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255), fc.integer({ min: 0, max: 255 })), 4, 4).map((octets) => octets.join('.'));

const NEAR_MISS_HOSTS = ['::1', '[::1]', '2001:db8::1', '::ffff:10.0.0.1', 'fe80::1%eth0', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4:80', 'localhost', 'unix:/tmp/x.sock', '١.٢.٣.٤'];

const validPort = fc.oneof(fc.constantFrom(1, 80, 65535), fc.integer({ min: 1, max: 65535 }));

const adversarialPort = fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constantFrom(0, 65536, 70000, -1, -0, NaN, Infinity, -Infinity, 80.5, 1e21));

const validWholeNumber = fc.oneof(fc.constantFrom(1, 30, 200, 2 ** 31, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: 1_000_000 }));

const adversarialWholeNumber = fc.constantFrom(0, -1, -0, NaN, Infinity, -Infinity, 0.5, 2 ** 53, 1e19, 2 ** 64, 1e21, Number.MAX_VALUE);

const validUpstreams = arrayOf(fc.record({ host: validIpv4, port: validPort }), 1, 6);

const adversarialUpstreams = fc.oneof(
  fc.constant<Upstream[]>([]),
  replaceOne(validUpstreams, adversarialText(validIpv4, NEAR_MISS_HOSTS), (upstream, host) => ({ ...upstream, host })),
  replaceOne(validUpstreams, adversarialPort, (upstream, port) => ({ ...upstream, port })),
);

function validNginxDir(caseDir: string): fc.Arbitrary<string> {
  return arrayOf(stringOf(SEGMENT_CHARACTERS, 1, 30), 1, 2).map((segments) => path.join(caseDir, 'nginx', ...segments));
}

const validServerNames = arrayOf(validDomain, 1, 8);

/** How to draw each field of the case in `caseDir`: a value the renderer should take, and one it may have to refuse. */
function fieldValues(caseDir: string): { [K in keyof Case]: { valid: fc.Arbitrary<Case[K]>; adversarial: fc.Arbitrary<Case[K]> } } {
  return {
    app: {
      valid: validAppName,
      adversarial: adversarialText(validAppName, ['', '1app', '-app', 'MyApp', 'a'.repeat(64), 'app_1', 'app.1']),
    },
    httpPort: { valid: validPort, adversarial: adversarialPort },
    serverNames: {
      valid: validServerNames,
      adversarial: percentOf(20, fc.constant([]), replaceOne(validServerNames, adversarialDomain, (_, domain) => domain)),
    },
    socket: {
      valid: validSocket(caseDir),
      adversarial: adversarialText(validSocket(caseDir), ['', 'relative/app.sock', `/${'a'.repeat(107)}`, '/a b.sock', '/a\n.sock']),
    },
    connectionLifetimeMs: { valid: validWholeNumber, adversarial: adversarialWholeNumber },
    release: { valid: validWholeNumber, adversarial: adversarialWholeNumber },
    upstreams: { valid: validUpstreams, adversarial: adversarialUpstreams },
    nginxDir: {
      valid: validNginxDir(caseDir),
      adversarial: fc.oneof(adversarialString.map((name) => path.join(caseDir, name)), spoiled(validNginxDir(caseDir)), adversarialString),
    },
    domain: { valid: validDomain, adversarial: adversarialDomain },
    drainTimeoutSeconds: { valid: validWholeNumber, adversarial: adversarialWholeNumber },
  };
}

/**
 * Mostly valid cases with a few fields spoilt, so that both outcomes are common: each field is
 * spoilt one time in eight, so about a quarter of the cases are all valid and most others spoil
 * one or two fields. A failing case shrinks towards valid fields, leaving spoilt only those the
 * failure needs.
 */
function caseInput(caseDir: string): fc.Arbitrary<CaseInput> {
  const values = fieldValues(caseDir);
  const field = <K extends keyof Case>(name: K): fc.Arbitrary<Case[K]> =>
    fc.oneof({ withCrossShrink: true }, { arbitrary: values[name].valid, weight: 7 }, { arbitrary: values[name].adversarial, weight: 1 });
  const fields = Object.fromEntries(Object.keys(values).map((name) => [name, field(name as keyof Case)])) as { [K in keyof Case]: fc.Arbitrary<Case[K]> };
  return fc.record(fields).map((drawn) => ({ ...drawn, caseDir }));
}

/** The known-good case with as many host names and containers as `input`, whose files have the outline `input`'s must have. */
function knownGoodLike(input: Case): Case {
  return {
    ...KNOWN_GOOD,
    serverNames: input.serverNames.map((_, index) => `name${index}.example.com`),
    upstreams: input.upstreams.map(() => KNOWN_GOOD.upstreams[0]),
  };
}

// ---- the property

interface Tier {
  name: 'edge' | 'switch';
  renderApp(input: Case): string;
  renderMain(input: Case, prefix: string, includes: string[]): string;
  /** Creates what `nginx -t` needs for the app file besides the prefix; false when that lies outside the case's folder. */
  prepareApp(input: CaseInput): boolean;
}

const edgeTier: Tier = {
  name: 'edge',
  renderApp: (input) => renderEdgeApp({ app: input.app, httpPort: input.httpPort, serverNames: input.serverNames, socket: input.socket, connectionLifetimeMs: input.connectionLifetimeMs }),
  renderMain: (input, prefix, includes) => renderEdgeMain({ prefix, httpPort: input.httpPort, domain: input.domain, drainTimeoutSeconds: input.drainTimeoutSeconds, includes }),
  // The edge only connects to the socket, which `nginx -t` does not do.
  prepareApp: () => true,
};

function switchTier(loadStreamModule: string): Tier {
  return {
    name: 'switch',
    renderApp: (input) => renderSwitchApp({ app: input.app, release: input.release, socket: input.socket, upstreams: input.upstreams }),
    renderMain: (input, prefix, includes) => renderSwitchMain({ prefix, drainTimeoutSeconds: input.drainTimeoutSeconds, loadStreamModule, includes }),
    // `nginx -t` binds the listening socket, so its folder must exist.
    prepareApp: (input) => {
      if (!isInside(input.caseDir, input.socket)) return false;
      fs.mkdirSync(path.dirname(input.socket), { recursive: true });
      return true;
    },
  };
}

/** The rendered text, or undefined when the renderer refused the input the one allowed way. */
function renderedOrRefused(render: () => string): string | undefined {
  try {
    return render();
  } catch (error) {
    if (!(error instanceof ProxyConfigError)) throw error;
    assert.ok(error.message.length > 0, 'ProxyConfigError without a message');
    return undefined;
  }
}

function isInside(dir: string, target: string): boolean {
  const relative = path.relative(dir, target);
  return relative !== '' && !path.isAbsolute(relative) && relative.split(path.sep)[0] !== '..';
}

function assertSameOutline(text: string, knownGood: string, what: string): void {
  assert.deepEqual(nginxOutline(text), nginxOutline(knownGood), `${what} has other directives than a known-good one:\n${text}`);
}

function appFileIn(prefix: string, app: string): string {
  return path.join(prefix, 'apps', `${app}.conf`);
}

/** A tier's files for a case, undefined where the renderer refused. */
interface TierFiles {
  app: string | undefined;
  main: string | undefined;
  prefix: string;
}

/** Renders a tier's files; each accepted one must have the outline of a known-good one. */
function renderTier(tier: Tier, input: Case): TierFiles {
  const app = renderedOrRefused(() => tier.renderApp(input));
  if (app !== undefined) assertSameOutline(app, tier.renderApp(knownGoodLike(input)), `the ${tier.name} app file`);
  const includesIn = (prefix: string) => (app === undefined ? [] : [appFileIn(prefix, input.app)]);
  const prefix = path.join(input.nginxDir, tier.name);
  const main = renderedOrRefused(() => tier.renderMain(input, prefix, includesIn(prefix)));
  if (main !== undefined) {
    const knownGoodPrefix = path.join(KNOWN_GOOD.nginxDir, tier.name);
    assertSameOutline(main, tier.renderMain(KNOWN_GOOD, knownGoodPrefix, includesIn(knownGoodPrefix)), `the ${tier.name} main config`);
  }
  return { app, main, prefix };
}

/**
 * Runs `nginx -t` on the accepted files, the app file included in the case's own main config as
 * src/proxy/nginx.ts tests a staged file. When that main config is refused, or its prefix lies
 * outside the case's folder (this test creates folders nowhere else), the app file is tested in
 * a known-good main config instead. Returns what could not be tested.
 */
function assertNginxAcceptsTier(tier: Tier, input: CaseInput, files: TierFiles): Record<string, boolean> {
  const app = files.app;
  const appTestable = app !== undefined && tier.prepareApp(input);
  const mainTestable = files.main !== undefined && isInside(input.caseDir, files.prefix);
  if (appTestable || mainTestable) {
    const prefix = mainTestable ? files.prefix : path.join(input.caseDir, 'known-good', tier.name);
    const includes = appTestable ? [appFileIn(prefix, input.app)] : [];
    createNginxPrefix(prefix);
    if (appTestable) fs.writeFileSync(includes[0], app);
    const mainFile = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(mainFile, tier.renderMain(mainTestable ? input : KNOWN_GOOD, prefix, includes));
    assertNginxAccepts(prefix, mainFile);
  }
  return { appOutsideCase: app !== undefined && !appTestable, mainOutsideCase: files.main !== undefined && !mainTestable };
}

/** Counts outcomes per tier, so the test can tell when its generator stopped producing one of them. */
class Tally {
  private readonly counts = new Map<string, number>();

  add(tier: string, outcomes: Record<string, boolean>): void {
    for (const [name, happened] of Object.entries(outcomes)) if (happened) this.counts.set(`${tier} ${name}`, this.count(tier, name) + 1);
  }

  addAccepted(tier: string, files: TierFiles): void {
    this.add(tier, { appAccepted: files.app !== undefined, mainAccepted: files.main !== undefined });
  }

  count(tier: string, name: string): number {
    return this.counts.get(`${tier} ${name}`) ?? 0;
  }

  summary(): string {
    return [...this.counts].sort().map(([name, count]) => `${name}: ${count}`).join(', ');
  }

  /** A generator that drifts to producing only refusals (or only valid input) would test nothing. */
  assertBalanced(tiers: Tier[], cases: number, seed: number): void {
    for (const tier of tiers) {
      for (const outcome of ['appAccepted', 'mainAccepted']) {
        const accepted = this.count(tier.name, outcome);
        assert.ok(accepted >= cases * 0.1 && accepted <= cases * 0.9, `${tier.name} ${outcome} in ${accepted} of ${cases} cases (seed ${seed}): the generator needs rebalancing`);
      }
    }
  }
}

async function allTiers(): Promise<Tier[]> {
  return [edgeTier, switchTier(await streamModuleDirective('nginx'))];
}

test(`${CASES} random inputs: each is refused with ProxyConfigError, or renders files nginx -t accepts with no directive the input added`, async (t) => {
  const parameters = propertyParameters(CASES, DEFAULT_SEED);
  const tiers = await allTiers();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-props-'));
  const caseDir = path.join(root, 'case');
  const tally = new Tally();
  try {
    fc.assert(
      fc.property(caseInput(caseDir), (input) => {
        // Each case, and each smaller one tried while shrinking a failure, starts with nothing on disk.
        fs.rmSync(caseDir, { recursive: true, force: true });
        for (const tier of tiers) {
          const files = renderTier(tier, input);
          tally.addAccepted(tier.name, files);
          tally.add(tier.name, assertNginxAcceptsTier(tier, input, files));
        }
      }),
      parameters,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  t.diagnostic(`seed ${parameters.seed}; ${tally.summary()}`);
  tally.assertBalanced(tiers, CASES, parameters.seed);
});

// Rendering takes microseconds and nginx -t milliseconds, so the check for injected directives
// alone gets many more cases. Nothing is written: the case folder is never created.
test(`${OUTLINE_CASES} more random inputs: each is refused with ProxyConfigError, or renders files with no directive the input added`, async (t) => {
  const parameters = propertyParameters(OUTLINE_CASES, DEFAULT_SEED);
  const tiers = await allTiers();
  const tally = new Tally();
  fc.assert(
    fc.property(caseInput('/var/lib/berth-property-test/case'), (input) => {
      for (const tier of tiers) tally.addAccepted(tier.name, renderTier(tier, input));
    }),
    parameters,
  );
  t.diagnostic(`seed ${parameters.seed}; ${tally.summary()}`);
  tally.assertBalanced(tiers, OUTLINE_CASES, parameters.seed);
});
