import http from 'node:http';
import crypto from 'node:crypto';

export interface OpenWebsocket {
  /** The first text frame the app sent: its release. */
  greeting: string;
  /** Resolves when the connection ends: how (a clean FIN, or an error) and when. */
  closed: Promise<{ clean: boolean; at: number; error?: string }>;
}

/** Opens a websocket through nginx with a raw upgrade, enough to hold it open and see how it ends. */
export function openWebsocket(port: number, host: string): Promise<OpenWebsocket> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/ws',
      headers: { host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': crypto.randomBytes(16).toString('base64') },
    });
    req.on('upgrade', (_res, socket, head) => {
      let greeting: ((text: string) => void) | undefined;
      const greeted = new Promise<string>((r) => (greeting = r));
      let buffered = head;
      const onData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length >= 2 && buffered.length >= 2 + (buffered[1] & 0x7f)) greeting?.(buffered.subarray(2, 2 + (buffered[1] & 0x7f)).toString());
      };
      socket.on('data', onData);
      if (head.length) onData(Buffer.alloc(0));
      const closed = new Promise<{ clean: boolean; at: number; error?: string }>((r) => {
        let error: string | undefined;
        socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
        socket.on('close', () => r({ clean: error === undefined, at: Date.now(), error }));
      });
      greeted.then((text) => resolve({ greeting: text, closed }), reject);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}
