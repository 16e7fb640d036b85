import { BerthError, InputError, NotFoundError } from '../errors.js';
import { API, type EndpointName } from '../model/api.js';

/** Where the admin API starts on the git port; every endpoint's path is below it. */
export const API_PREFIX = '/api';

/** The endpoint a request is for, with its path's parameters percent-decoded. */
export interface EndpointMatch {
  name: EndpointName;
  params: Record<string, string>;
}

/** The path is an endpoint's, but not with this method; `allowed` lists the methods it takes. */
export class MethodNotAllowedError extends BerthError {
  constructor(
    method: string,
    path: string,
    readonly allowed: string[],
  ) {
    super(`${method} is not allowed on ${path}`, `use ${allowed.join(' or ')}; the endpoints are listed in docs/cli.md`);
  }
}

/**
 * Finds the endpoint of API (src/model/api.ts) that answers `method` on `pathname`. An unknown
 * path is a NotFoundError, a known one with another method a MethodNotAllowedError, and a
 * parameter that is not valid percent-encoding an InputError.
 */
export function findEndpoint(method: string, pathname: string): EndpointMatch {
  const parts = pathname.split('/');
  const atPath = TEMPLATES.filter((template) => matches(template.segments, parts));
  if (!atPath.length) throw new NotFoundError(`no API endpoint ${pathname}`, 'the endpoints are listed in docs/cli.md');
  const endpoint = atPath.find((template) => template.method === method);
  if (!endpoint) throw new MethodNotAllowedError(method, pathname, atPath.map((template) => template.method));
  return { name: endpoint.name, params: pathParams(endpoint.segments, parts) };
}

interface PathTemplate {
  name: EndpointName;
  method: string;
  /** The full path split at `/`; a `:name` segment takes any one non-empty segment. */
  segments: string[];
}

const TEMPLATES: PathTemplate[] = (Object.keys(API) as EndpointName[]).map((name) => ({
  name,
  method: API[name].method,
  segments: `${API_PREFIX}${API[name].path}`.split('/'),
}));

function isParameter(segment: string): boolean {
  return segment.startsWith(':');
}

function matches(segments: string[], parts: string[]): boolean {
  return segments.length === parts.length && segments.every((segment, i) => (isParameter(segment) ? parts[i] !== '' : segment === parts[i]));
}

function pathParams(segments: string[], parts: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  segments.forEach((segment, i) => {
    if (isParameter(segment)) params[segment.slice(1)] = decodePathPart(parts[i]);
  });
  return params;
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InputError(`"${part}" in the path is not valid percent-encoding`, 'encode each path part with encodeURIComponent');
  }
}
