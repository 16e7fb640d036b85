import { request } from 'undici';

/** A request through berth's nginx, addressed by Host header as a browser would. */
export async function getThroughNginx(httpPort: number, host: string, urlPath = '/'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const response = await request(`http://127.0.0.1:${httpPort}${urlPath}`, { headers: { host, 'x-forwarded-for': '203.0.113.9' }, reset: true });
  return { status: response.statusCode, body: await response.body.text(), headers: response.headers };
}
