import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { formatSize } from '../size.js';

/** git's progress band: what git prints to the pusher as `remote: ...`. */
const PROGRESS_BAND = 2;

/**
 * The body of one `git-receive-pack` request as git must read it: inflated here when the client
 * sent it gzip-encoded (inflating it without a cap would hand git as much as a small body holds),
 * counted as it streams and cut at `limit` bytes. Past the limit the rest of the request is read
 * and dropped without being inflated, and git's input ends with the request: git's client reads
 * the answer only once it has sent everything, and git-receive-pack, whose pack ends early,
 * refuses it and updates nothing (no hook runs, so nothing is built). `onOverLimit` fires once, at the cut.
 */
export function limitPushBody(req: IncomingMessage, limit: number, onOverLimit: () => void): Readable {
  const body = new PassThrough();
  const inflater = req.headers['content-encoding'] === 'gzip' ? zlib.createGunzip() : undefined;
  const source: Readable = inflater ? req.pipe(inflater) : req;
  let received = 0;
  let cut = false;
  const stopReading = () => {
    cut = true;
    if (inflater) {
      req.unpipe(inflater);
      inflater.destroy();
    }
    if (req.complete) body.end();
    else req.on('end', () => body.end()).resume();
  };
  source.on('data', (chunk: Buffer) => {
    if (cut || body.writableEnded) return;
    const room = limit - received;
    received += chunk.length;
    if (chunk.length > room) {
      // What fits still goes to git, so that it reads the push's commands and answers them.
      body.write(chunk.subarray(0, room));
      onOverLimit();
      return stopReading();
    }
    if (!body.write(chunk)) {
      source.pause();
      body.once('drain', () => source.resume());
    }
  });
  source.on('end', () => body.end());
  inflater?.on('error', stopReading);
  // A client that goes away mid-push must not leave git waiting for the rest.
  req.on('close', () => {
    if (!req.complete) body.end();
  });
  return body;
}

/**
 * What the pusher reads when a push is cut at the limit, as git's progress packets: berth writes
 * it before git answers (git answers only once its input has ended), so it comes first.
 */
export function pushRefusal(app: string, limit: number): Buffer {
  return progressLines([
    `berth: the push to ${app} is larger than the limit of ${formatSize(limit)}; it is refused and nothing changed.`,
    'berth: keep large files out of the repository, or ask the operator to raise --max-push-size (BERTH_MAX_PUSH_SIZE).',
  ]);
}

/** pkt-lines on the progress band: four hex digits of length (themselves included), the band, the text. */
function progressLines(lines: string[]): Buffer {
  return Buffer.concat(lines.map((line) => {
    const payload = Buffer.concat([Buffer.from([PROGRESS_BAND]), Buffer.from(`${line}\n`)]);
    return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);
  }));
}
