import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppService } from '../apps/service.js';
import { API } from '../model/api.js';
import { findEndpoint, MethodNotAllowedError } from './endpoints.js';
import type { RawRequest } from './requests.js';
import { assertJsonRequest, errorBody, readJsonBody, sendJson, statusOf, streamOperation } from './respond.js';
import { apiRoutes, type Stream } from './routes.js';

/** The admin API on the git port: JSON in and out, errors as {error, hint}; long operations stream. */
export function createApiHandler(service: AppService, startedAt: number): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const routes = apiRoutes(service, startedAt);
  return async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://berth');
      const { name, params } = findEndpoint(req.method ?? 'GET', url.pathname);
      // Each route is typed by its own endpoint; findEndpoint found the params that endpoint's path names.
      const route = routes[name] as unknown as AnyRoute;
      const changes = req.method !== 'GET';
      if (changes) assertJsonRequest(req);
      const request = route.read({ body: changes ? await readJsonBody(req) : {}, query: url.searchParams });
      await answer(res, API[name].streams, route, { params, request });
    } catch (error) {
      sendError(res, error);
    }
  };
}

/** A route as the dispatcher sees it once the path is matched: the endpoint's types left out. */
interface AnyRoute {
  read(raw: RawRequest): unknown;
  handle(call: RouteCall, stream?: Stream): Promise<unknown>;
  status?: number;
  transcript?: false;
}

interface RouteCall {
  params: Record<string, string>;
  request: unknown;
}

async function answer(res: ServerResponse, streams: boolean, route: AnyRoute, call: RouteCall): Promise<void> {
  if (streams) await streamOperation(res, (output, cancelled) => route.handle(call, { output, cancelled }), route.transcript !== false);
  else sendJson(res, route.status ?? 200, await route.handle(call));
}

/** The error's own status and {error, hint}; once a status is out, all that is left is to end the answer. */
function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (error instanceof MethodNotAllowedError) res.setHeader('allow', error.allowed.join(', '));
  sendJson(res, statusOf(error), errorBody(error));
}
