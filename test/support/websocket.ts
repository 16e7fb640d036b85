import WebSocket from 'ws';

export interface OpenWebsocket {
  /** The first text message the app sent: its release. */
  greeting: string;
  /** Resolves when the connection ends: how (cleanly, or with an error such as a reset) and when. */
  closed: Promise<{ clean: boolean; at: number; error?: string }>;
}

/** Opens a websocket through nginx, enough to hold it open and see how it ends. */
export function openWebsocket(port: number, host: string): Promise<OpenWebsocket> {
  const websocket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host } });
  let error: string | undefined;
  websocket.on('error', (e) => (error ??= e.message));
  // ws reports a reset only as close code 1006, which a clean end without a close frame gets
  // too, so the connection's own errors are watched.
  websocket.on('upgrade', (response) => response.socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message)));
  const closed = new Promise<{ clean: boolean; at: number; error?: string }>((resolve) => {
    websocket.on('close', () => resolve({ clean: error === undefined, at: Date.now(), error }));
  });
  return new Promise((resolve, reject) => {
    websocket.on('message', (data, isBinary) => {
      if (!isBinary) resolve({ greeting: data.toString(), closed });
    });
    void closed.then(() => reject(new Error(`the websocket closed before the app sent a text message: ${error ?? 'no error'}`)));
  });
}
