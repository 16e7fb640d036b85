import type { WebSocket } from 'undici';
import type { FinalEvent, RunResult } from '../model/api.js';
import { API } from '../model/api.js';
import { CliError, EXIT, type Client } from './client.js';
import { print } from './output.js';

/**
 * berth run -i: the command's output comes down and this terminal's stdin goes up, over a
 * websocket (see src/api/run-socket.ts for what each side sends). Ends with the run's result.
 */
export async function runInteractive(client: Client, app: string, command: string[]): Promise<RunResult> {
  // A websocket refused at its handshake says only that it was: an ordinary request first gets
  // berth's own error for a wrong token, an unknown app or an unreachable server.
  await client.call(API.appInfo, { app });
  return exchange(client.openWebSocket(API.run, { app }), command);
}

function exchange(socket: WebSocket, command: string[]): Promise<RunResult> {
  socket.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    let final: FinalEvent | undefined;
    const forward = (chunk: Buffer) => socket.send(chunk);
    const endInput = () => socket.readyState === socket.OPEN && socket.send(JSON.stringify({ eof: true }));
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ command }));
      process.stdin.on('data', forward).once('end', endInput);
    });
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { line?: string } & Partial<FinalEvent>;
      if (typeof message.line === 'string') print(message.line);
      else final = message as FinalEvent;
    });
    socket.addEventListener('close', () => {
      process.stdin.off('data', forward).off('end', endInput).pause();
      if (final?.ok) resolve(final.result as RunResult);
      else if (final) reject(new CliError(final.error, EXIT.failed, final.hint));
      else reject(new CliError(`the connection to berth closed before berth run -i ended`, EXIT.failed, 'is berth serve running there? Check with berth status'));
    });
  });
}
