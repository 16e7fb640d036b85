import http from 'node:http';
import { BerthError } from '../errors.js';

const ADMIN_TIMEOUT_MS = 10_000;

/**
 * Hands the whole route table to the edge through its admin socket; resolves once nginx has it
 * in the memory every worker reads. A connection of its own each time (no agent): a kept one
 * could be one that an nginx reload is closing.
 */
export function putRoutes(socketPath: string, table: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { socketPath, method: 'PUT', path: '/routes', agent: false, timeout: ADMIN_TIMEOUT_MS, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(table) } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          if (response.statusCode === 200) resolve();
          else reject(new BerthError(`the edge nginx refused the route table (HTTP ${response.statusCode}): ${body.trim()}`, 'this is a bug in berth; the previous routes stay live'));
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${ADMIN_TIMEOUT_MS / 1000} s`)));
    request.on('error', (error) => reject(new BerthError(`the edge nginx did not take the new routes through ${socketPath}: ${error.message}`, 'see the edge\'s error log under DATA_DIR/nginx/edge/logs')));
    request.end(table);
  });
}
