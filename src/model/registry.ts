import net from 'node:net';
import { UsageError } from '../errors.js';

/**
 * How berth names images in the registry it runs for its swarm nodes: nodes pull
 * `HOST:PORT/INSTANCE/APP@sha256:...`, by digest, so what a node runs is exactly what was pushed
 * whatever a tag says later.
 */
export interface RegistryEndpoint {
  host: string;
  port: number | undefined;
}

const PORT = /^\d{1,5}$/;

/** HOST or HOST:PORT (an IPv6 address in brackets when a port follows), as --registry-address takes it; undefined when it is neither. */
export function parseRegistryAddress(address: string): RegistryEndpoint | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed) return net.isIPv6(bracketed[1]) ? endpoint(bracketed[1], bracketed[2]) : undefined;
  if (net.isIPv6(address)) return { host: address, port: undefined };
  const [host, port, ...rest] = address.split(':');
  if (rest.length > 0 || !isHostName(host)) return undefined;
  return endpoint(host, port);
}

/** parseRegistryAddress, or the error that says what --registry-address takes. */
export function checkRegistryAddress(address: string): RegistryEndpoint {
  const parsed = parseRegistryAddress(address);
  if (parsed) return parsed;
  throw new UsageError(`--registry-address "${address}" is not HOST or HOST:PORT`, 'give the address the swarm nodes reach this host by, e.g. 10.0.0.5 or registry.internal:5000 ([IPV6]:PORT for an IPv6 address with a port)');
}

function endpoint(host: string, port: string | undefined): RegistryEndpoint | undefined {
  if (port === undefined) return { host, port: undefined };
  if (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  return { host, port: Number(port) };
}

function isHostName(host: string): boolean {
  return net.isIPv4(host) || /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(host);
}

/** HOST:PORT as an image reference starts, with the registry's own port when the address gives none. */
export function registryHostPort(endpoint: RegistryEndpoint, defaultPort: number): string {
  const host = net.isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port ?? defaultPort}`;
}

/** `INSTANCE/APP:N` as repository and tag; the tag is what follows the last colon after the last slash. */
export function splitImageTag(image: string): { repository: string; tag: string } {
  const colon = image.lastIndexOf(':');
  if (colon <= image.lastIndexOf('/')) return { repository: image, tag: 'latest' };
  return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
}
