import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { formatSize } from '../size.js';

/** What a push request looks like to node-git-server: the body, already inflated and cut, with the request's line and headers. */
type PushRequest = IncomingMessage;

/**
 * The body of one `git-receive-pack` request as git will read it: inflated here when the client
 * sent it gzip-encoded (node-git-server would inflate it without a cap), counted as it streams and
 * cut at the limit. Past the limit the rest of the request is read and dropped without inflating
 * it: git's client reads the answer only once it has sent everything, and git-receive-pack, whose
 * pack then ends early, refuses it and updates nothing (no hook runs, so nothing is built).
 */
export class LimitedPush {
  readonly request: PushRequest;
  private readonly body = new PassThrough();
  private readonly inflater: zlib.Gunzip | zlib.Inflate | undefined;
  private received = 0;
  private cut = false;
  private say: ((line: string) => void) | undefined;
  private readonly pending: string[] = [];

  constructor(
    private readonly req: IncomingMessage,
    private readonly app: string,
    private readonly limit: number,
  ) {
    this.request = this.standIn();
    this.inflater = inflaterFor(req.headers['content-encoding']);
    const source: Readable = this.inflater ? req.pipe(this.inflater) : req;
    source.on('data', (chunk: Buffer) => this.take(source, chunk));
    source.on('end', () => this.body.end());
    this.inflater?.on('error', () => this.stopReading());
    // A client that goes away mid-push must not leave git-receive-pack waiting for the rest.
    req.on('close', () => {
      if (!req.complete) this.body.end();
    });
  }

  /** node-git-server has the push: lines for the pusher go out before git's own answer. */
  tellVia(say: (line: string) => void): void {
    this.say = say;
    for (const line of this.pending.splice(0)) say(line);
  }

  private take(source: Readable, chunk: Buffer): void {
    if (this.cut || this.body.writableEnded) return;
    const room = this.limit - this.received;
    this.received += chunk.length;
    if (chunk.length > room) {
      // What fits still goes to git, so that it sees the push's commands and answers.
      this.body.write(chunk.subarray(0, room));
      this.refuse();
      return;
    }
    if (!this.body.write(chunk)) {
      source.pause();
      this.body.once('drain', () => source.resume());
    }
  }

  private refuse(): void {
    this.tell(`berth: the push to ${this.app} is larger than the limit of ${formatSize(this.limit)}; it is refused and nothing changed.`);
    this.tell('berth: keep large files out of the repository, or ask the operator to raise --max-push-size (BERTH_MAX_PUSH_SIZE).');
    this.stopReading();
  }

  /** The rest of the request is drained as it comes, never inflated; git's input ends with the request. */
  private stopReading(): void {
    this.cut = true;
    if (this.inflater) {
      this.req.unpipe(this.inflater);
      this.inflater.destroy();
    }
    if (this.req.complete) {
      this.body.end();
      return;
    }
    this.req.on('end', () => this.body.end());
    this.req.resume();
  }

  private tell(line: string): void {
    if (this.say) this.say(line);
    else this.pending.push(line);
  }

  /** The body with what node-git-server reads of a request; the encoding is gone, since the body is inflated. */
  private standIn(): PushRequest {
    const { req, body } = this;
    const headers = { ...req.headers };
    delete headers['content-encoding'];
    delete headers['content-length'];
    const fields = { method: req.method, url: req.url, headers, httpVersion: req.httpVersion, httpVersionMajor: req.httpVersionMajor, httpVersionMinor: req.httpVersionMinor, socket: req.socket, connection: req.socket };
    Object.defineProperty(body, 'complete', { get: () => body.writableEnded });
    return Object.assign(body, fields) as unknown as PushRequest;
  }
}

/** As node-git-server reads content-encoding; anything else passes as it came. */
function inflaterFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  return undefined;
}
