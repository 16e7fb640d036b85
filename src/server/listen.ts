import type http from 'node:http';

/** Resolves once the server listens, rejects when it cannot (the port is taken). */
export function listen(server: http.Server, target: { port: number; host: string } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
