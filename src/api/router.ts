import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppService } from '../apps/service.js';
import { InputError, NotFoundError } from '../errors.js';
import { DEFAULT_LOG_LINES, parseReleaseNumber, type ChecksState } from '../model/app.js';
import type { AppInfo, AppSummary, ReleaseInfo } from '../model/api.js';
import type { AppRecord, ReleaseRecord } from '../store/store.js';
import { errorBody, readJsonBody, sendJson, statusOf, streamOperation } from './respond.js';

type Handler = (context: { req: IncomingMessage; res: ServerResponse; params: string[]; query: URLSearchParams }) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const APP = '([^/]+)';

function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new InputError(`${what} must be an object of strings`);
  }
  return value as Record<string, string>;
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new InputError(`${what} must be a list of strings`);
  return value as string[];
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InputError(`"${part}" in the path is not valid percent-encoding`);
  }
}

function releaseInfo(release: ReleaseRecord): ReleaseInfo {
  return { ...release, image: release.image ?? null, liveAt: release.liveAt ?? null, finishedAt: release.finishedAt ?? null, failure: release.failure ?? null };
}

/** The admin API on the git port: JSON in and out, errors as {error, hint}; long operations stream. */
export function createApiHandler(service: AppService, startedAt: number): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  async function appInfo(app: AppRecord): Promise<AppInfo> {
    return {
      name: app.name,
      createdAt: app.createdAt,
      release: app.live?.release ?? null,
      commit: app.live?.commit ?? null,
      image: app.live?.image ?? null,
      formation: app.formation,
      checks: app.checks,
      stopped: app.stopped,
      domains: service.apps.hostNames(app),
      configKeys: Object.keys(app.config).sort(),
      containers: await service.apps.containers(app),
    };
  }

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/api\/status$/, handler: async ({ res }) => sendJson(res, 200, await service.status.status(startedAt)) },
    {
      method: 'GET',
      pattern: /^\/api\/apps$/,
      handler: async ({ res }) => {
        const apps = (await service.apps.list()).map((app): AppSummary => ({ name: app.name, release: app.live?.release ?? null, commit: app.live?.commit ?? null, createdAt: app.createdAt, formation: app.formation, domains: service.apps.hostNames(app) }));
        sendJson(res, 200, { apps });
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/apps$/,
      handler: async ({ req, res }) => {
        const body = await readJsonBody(req);
        if (typeof body.name !== 'string') throw new InputError('give the app name as {"name": "..."}');
        sendJson(res, 201, { app: await appInfo(await service.apps.create(body.name)) });
      },
    },
    { method: 'GET', pattern: new RegExp(`^/api/apps/${APP}$`), handler: async ({ res, params }) => sendJson(res, 200, { app: await appInfo(await service.apps.get(params[0])) }) },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/api/apps/${APP}$`),
      handler: async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        const result = await service.apps.destroy(params[0], typeof body.confirm === 'string' ? body.confirm : '');
        sendJson(res, 200, { destroyed: params[0], ...result });
      },
    },
    { method: 'GET', pattern: new RegExp(`^/api/apps/${APP}/config$`), handler: async ({ res, params }) => sendJson(res, 200, { config: await service.config.show(params[0]) }) },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/config$`),
      handler: async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        const set = stringMap(body.set, 'set');
        const unset = stringList(body.unset, 'unset');
        await streamOperation(res, (output) => service.config.change(params[0], { set, unset, restart: body.restart !== false }, output));
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/scale$`),
      handler: async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        const formation = body.formation;
        if (typeof formation !== 'object' || formation === null || Array.isArray(formation) || Object.values(formation).some((n) => typeof n !== 'number')) {
          throw new InputError('give the formation as {"formation": {"web": 2, "worker": 1}}');
        }
        await streamOperation(res, (output) => service.processes.scale(params[0], formation as Record<string, number>, output));
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/ps/(restart|stop|start)$`),
      handler: async ({ res, params }) => {
        const action = params[1] as 'restart' | 'stop' | 'start';
        await streamOperation(res, (output) => service.processes[action](params[0], output));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/apps/${APP}/releases$`),
      handler: async ({ res, params }) => {
        const releases = (await service.releases.list(params[0])).map(releaseInfo);
        sendJson(res, 200, { releases });
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/rollback$`),
      handler: async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        if (body.release !== undefined && typeof body.release !== 'number') throw new InputError('release must be a number');
        await streamOperation(res, (output) => service.releases.rollback(params[0], body.release as number | undefined, output));
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/checks/(disable|enable|skip)$`),
      handler: async ({ res, params }) => {
        const state: ChecksState = params[1] === 'disable' ? 'disabled' : params[1] === 'enable' ? 'enabled' : 'skip-next';
        sendJson(res, 200, { checks: await service.checks.set(params[0], state) });
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/checks/run$`),
      handler: async ({ res, params }) => {
        await streamOperation(res, (output) => service.checks.run(params[0], output));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/apps/${APP}/domains$`),
      handler: async ({ res, params }) => {
        sendJson(res, 200, await service.domains.list(params[0]));
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/apps/${APP}/domains$`),
      handler: async ({ req, res, params }) => {
        const body = await readJsonBody(req);
        if (typeof body.domain !== 'string') throw new InputError('give the domain as {"domain": "www.example.com"}');
        sendJson(res, 200, await service.domains.add(params[0], body.domain));
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/api/apps/${APP}/domains/([^/]+)$`),
      handler: async ({ res, params }) => {
        sendJson(res, 200, await service.domains.remove(params[0], params[1]));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/apps/${APP}/logs$`),
      handler: async ({ res, params, query }) => {
        const lines = Number(query.get('lines') ?? DEFAULT_LOG_LINES);
        await streamOperation(res, async (output, cancelled) => {
          await service.logs.logs(params[0], lines, query.get('follow') === '1', (line) => output.raw(line), cancelled);
          return {};
        }, false);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/apps/${APP}/deploys/(latest|[^/]+)/log$`),
      handler: async ({ res, params }) => sendJson(res, 200, await service.releases.deployLog(params[0], params[1] === 'latest' ? 'latest' : parseReleaseNumber(params[1]))),
    },
  ];

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://berth');
    const matching = routes.filter((r) => r.pattern.test(url.pathname));
    const route = matching.find((r) => r.method === req.method);
    try {
      if (!route) {
        if (matching.length) throw new InputError(`${req.method} is not allowed on ${url.pathname} (allowed: ${matching.map((r) => r.method).join(', ')})`);
        throw new NotFoundError(`no API endpoint ${url.pathname}`, 'see docs/cli.md for the API');
      }
      const params = route.pattern.exec(url.pathname)!.slice(1).map(decodePathPart);
      await route.handler({ req, res, params, query: url.searchParams });
    } catch (error) {
      if (!res.headersSent) sendJson(res, statusOf(error), errorBody(error));
      else res.end();
    }
  };
}
