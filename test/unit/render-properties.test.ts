// Property: whatever berth hands the edge's renderers, they either refuse it with ProxyConfigError
// or produce what the real nginx takes: a main config that `nginx -t` accepts with exactly the
// directives of a known-good render, and a route table that reads back as it was written and
// that nginx's init_by_lua (berth_edge.lua, run by `nginx -t`) loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ProxyConfigError, renderEdgeMain, type EdgeMainSpec, type Upstream } from '../../src/proxy/render.js';
import { certificateId, emptyAppRoute, emptyRouteTable, parseRouteTable, renderRouteTable, type RouteTable } from '../../src/proxy/route-table.js';
import { expectedEdgeEntries, loadInEdgeLua } from '../support/edge-lua.js';
import { assertNginxAccepts, createNginxPrefix, edgeMainSpec, nginxOutline } from '../support/nginx.js';
import { arrayOf, joined, percentOf, propertyParameters, stringOf } from '../support/properties.js';
import { selfSignedCertificate } from '../support/tls.js';

const CASES = 300;
const OUTLINE_CASES = 3000;
const DEFAULT_SEED = 0xbe47;

/** Everything the renderers are given: one app's route (with a certificate for its host names) and an ACME answer, and the edge's main config. */
interface Case {
  app: string;
  release: number;
  serverNames: string[];
  upstreams: Upstream[];
  token: string;
  keyAuthorization: string;
  /** DATA_DIR/nginx: holds the edge/ prefix. */
  nginxDir: string;
  httpPort: number;
  httpsPort: number;
  domain: string;
  drainTimeoutSeconds: number;
}

/** A case and the folder it may create its nginx prefix in. */
interface CaseInput extends Case {
  caseDir: string;
}

const KNOWN_GOOD: Case = {
  app: 'myapp',
  release: 1,
  serverNames: ['myapp.localhost'],
  upstreams: [{ host: '10.0.0.1', port: 5000 }],
  token: 'token',
  keyAuthorization: 'token.thumbprint',
  nginxDir: '/var/lib/berth/nginx',
  httpPort: 8080,
  httpsPort: 8443,
  domain: 'localhost',
  drainTimeoutSeconds: 30,
};

const CERT = selfSignedCertificate(['myapp.localhost']);
const LOAD_MODULES = (await edgeMainSpec('/')).loadModules;

// ---- values

const ADVERSARIAL_CHARACTERS = [...';{}$"\'\\#\n\r\t \0', 'é', 'É', '👋', '\u00a0', '\u2028', '\ufeff', '\ud800', 'İ', '\u212a'];
const LETTERS = [...'abcxyz'];
const NAME_CHARACTERS = [...'abcxyz0189-'];
const LABEL_EDGE_CHARACTERS = [...'abcxyz0189'];
const PATH_CHARACTERS = [...'abcXYZ019._-*/'];
const SEGMENT_CHARACTERS = [...'abcXYZ019._-'];
const BASE64URL_CHARACTERS = [...'azAZ09_-'];
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

const validToken = stringAtBoundsOrBetween(BASE64URL_CHARACTERS, 1, 64);

const validKeyAuthorization = joined(validToken, '.', stringAtBoundsOrBetween(BASE64URL_CHARACTERS, 1, 43));

/** How to draw each field of the case in `caseDir`: a value the renderer should take, and one it may have to refuse. */
function fieldValues(caseDir: string): { [K in keyof Case]: { valid: fc.Arbitrary<Case[K]>; adversarial: fc.Arbitrary<Case[K]> } } {
  return {
    app: {
      valid: validAppName,
      adversarial: adversarialText(validAppName, ['', '1app', '-app', 'MyApp', 'a'.repeat(64), 'app_1', 'app.1']),
    },
    release: { valid: validWholeNumber, adversarial: adversarialWholeNumber },
    serverNames: {
      valid: validServerNames,
      adversarial: percentOf(20, fc.constant([]), replaceOne(validServerNames, adversarialDomain, (_, domain) => domain)),
    },
    upstreams: { valid: validUpstreams, adversarial: adversarialUpstreams },
    token: { valid: validToken, adversarial: adversarialText(validToken, ['', 'a.b', 'a/b', 'a=', 'a'.repeat(257)]) },
    keyAuthorization: { valid: validKeyAuthorization, adversarial: adversarialText(validKeyAuthorization, ['', 'token', 'a..b', '.b', 'a.', 'a.b.c', 'a.b=']) },
    nginxDir: {
      valid: validNginxDir(caseDir),
      adversarial: fc.oneof(adversarialString.map((name) => path.join(caseDir, name)), spoiled(validNginxDir(caseDir)), adversarialString),
    },
    httpPort: { valid: validPort, adversarial: adversarialPort },
    httpsPort: { valid: validPort, adversarial: adversarialPort },
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

// ---- the property

function routeTableOf(input: Case): RouteTable {
  const routes = emptyRouteTable();
  const certificate = { id: certificateId(CERT.certPem, CERT.keyPem), hosts: input.serverNames, ...CERT };
  routes.apps.set(input.app, { ...emptyAppRoute(), release: input.release, upstreams: input.upstreams.map(({ host, port }) => ({ host, port })), hosts: input.serverNames, certificate });
  routes.challenges.set(input.token, input.keyAuthorization);
  return routes;
}

function mainSpecOf(input: Case, prefix: string): EdgeMainSpec {
  const priv = (name: string) => path.join(prefix, 'private', name);
  return {
    prefix,
    httpPort: input.httpPort,
    httpsPort: input.httpsPort,
    domain: input.domain,
    drainTimeoutSeconds: input.drainTimeoutSeconds,
    loadModules: LOAD_MODULES,
    luaDir: KNOWN_GOOD_MAIN.luaDir,
    luaDigest: KNOWN_GOOD_MAIN.luaDigest,
    routesFile: priv('routes'),
    adminSocket: priv('admin.sock'),
    placeholderCert: priv('placeholder.crt'),
    placeholderKey: priv('placeholder.key'),
  };
}

const KNOWN_GOOD_MAIN = await edgeMainSpec(path.join(KNOWN_GOOD.nginxDir, 'edge'));

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

/** The case's files, undefined where the renderer refused; each accepted one is what a known-good one is. */
interface Rendered {
  routes: string | undefined;
  main: string | undefined;
  prefix: string;
}

function render(input: Case): Rendered {
  const routes = renderedOrRefused(() => renderRouteTable(routeTableOf(input)));
  if (routes !== undefined) assert.deepEqual(parseRouteTable(routes), routeTableOf(input), `the route table does not read back as written:\n${routes}`);
  const prefix = path.join(input.nginxDir, 'edge');
  const main = renderedOrRefused(() => renderEdgeMain(mainSpecOf(input, prefix)));
  if (main !== undefined) assert.deepEqual(nginxOutline(main), nginxOutline(renderEdgeMain(KNOWN_GOOD_MAIN)), `the main config has other directives than a known-good one:\n${main}`);
  return { routes, main, prefix };
}

/**
 * Runs `nginx -t` on an accepted main config when its prefix lies in the case's folder (this test
 * creates folders nowhere else), and has berth_edge.lua load an accepted route table. Returns what
 * could not be tested.
 */
function assertNginxAcceptsCase(input: CaseInput, files: Rendered): Record<string, boolean> {
  const mainTestable = files.main !== undefined && isInside(input.caseDir, files.prefix);
  if (mainTestable) {
    createNginxPrefix(files.prefix);
    const mainFile = path.join(files.prefix, 'nginx.conf');
    fs.writeFileSync(mainFile, files.main!);
    assertNginxAccepts(files.prefix, mainFile);
  }
  if (files.routes !== undefined) assert.deepEqual(loadInEdgeLua([files.routes]), { entries: expectedEdgeEntries(routeTableOf(input)), refused: [] }, `berth_edge.lua read another table than:\n${files.routes}`);
  return { mainOutsideCase: files.main !== undefined && !mainTestable };
}

/** Counts outcomes, so the test can tell when its generator stopped producing one of them. */
class Tally {
  private readonly counts = new Map<string, number>();

  add(outcomes: Record<string, boolean>): void {
    for (const [name, happened] of Object.entries(outcomes)) if (happened) this.counts.set(name, this.count(name) + 1);
  }

  addAccepted(files: Rendered): void {
    this.add({ routesAccepted: files.routes !== undefined, mainAccepted: files.main !== undefined });
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  summary(): string {
    return [...this.counts].sort().map(([name, count]) => `${name}: ${count}`).join(', ');
  }

  /** A generator that drifts to producing only refusals (or only valid input) would test nothing. */
  assertBalanced(cases: number, seed: number): void {
    for (const outcome of ['routesAccepted', 'mainAccepted']) {
      const accepted = this.count(outcome);
      assert.ok(accepted >= cases * 0.1 && accepted <= cases * 0.9, `${outcome} in ${accepted} of ${cases} cases (seed ${seed}): the generator needs rebalancing`);
    }
  }
}

test(`${CASES} random inputs: each is refused with ProxyConfigError, or renders a config nginx -t accepts and a route table berth_edge.lua reads as written, with no directive and no record the input added`, async (t) => {
  const parameters = propertyParameters(CASES, DEFAULT_SEED);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-props-'));
  const caseDir = path.join(root, 'case');
  const tally = new Tally();
  try {
    fc.assert(
      fc.property(caseInput(caseDir), (input) => {
        // Each case, and each smaller one tried while shrinking a failure, starts with nothing on disk.
        fs.rmSync(caseDir, { recursive: true, force: true });
        const files = render(input);
        tally.addAccepted(files);
        tally.add(assertNginxAcceptsCase(input, files));
      }),
      parameters,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  t.diagnostic(`seed ${parameters.seed}; ${tally.summary()}`);
  tally.assertBalanced(CASES, parameters.seed);
});

// Rendering takes microseconds and nginx -t milliseconds, so the check for injected directives
// and records alone gets many more cases. Nothing is written: the case folder is never created.
test(`${OUTLINE_CASES} more random inputs: each is refused with ProxyConfigError, or renders files with no directive and no record the input added`, async (t) => {
  const parameters = propertyParameters(OUTLINE_CASES, DEFAULT_SEED);
  const tally = new Tally();
  fc.assert(
    fc.property(caseInput('/var/lib/berth-property-test/case'), (input) => tally.addAccepted(render(input))),
    parameters,
  );
  t.diagnostic(`seed ${parameters.seed}; ${tally.summary()}`);
  tally.assertBalanced(OUTLINE_CASES, parameters.seed);
});
