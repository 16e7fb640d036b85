import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { sleep } from '../time.js';
import { DockerFrames } from './logs.js';
import { EXEC_OUTPUT_MAX_BYTES, type ExecResult } from './runtime.js';

/**
 * docker exec of an argv in a running container, its output demultiplexed and cut to its last
 * EXEC_OUTPUT_MAX_BYTES. The engine cannot kill an exec, so past timeoutMs berth stops waiting
 * and says so (exitCode undefined); what the command does after that is the container's.
 */
export async function execInContainer(docker: Docker, id: string, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult> {
  const exec = await docker.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false });
  const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Duplex;
  let output = Buffer.alloc(0);
  const frames = new DockerFrames();
  frames.on('data', (chunk: Buffer) => {
    output = Buffer.concat([output, chunk]);
    if (output.length > EXEC_OUTPUT_MAX_BYTES) output = output.subarray(output.length - EXEC_OUTPUT_MAX_BYTES);
  });
  stream.pipe(frames);
  const ended = await new Promise<boolean>((resolve) => {
    const finish = (done: boolean) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', abort);
      resolve(done);
    };
    const abort = () => finish(false);
    const timer = setTimeout(abort, options.timeoutMs);
    options.signal.addEventListener('abort', abort, { once: true });
    stream.once('end', () => finish(true));
    stream.once('close', () => finish(true));
    stream.once('error', () => finish(true));
  });
  stream.destroy();
  if (!ended) return { exitCode: undefined, output: output.toString('utf8') };
  return { exitCode: await exitCodeOf(exec), output: output.toString('utf8') };
}

/** The engine may close the output a moment before it records the exit: asks again for up to a second. */
async function exitCodeOf(exec: Docker.Exec): Promise<number | undefined> {
  for (let asked = 0; ; asked++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? undefined;
    if (asked === 20) return undefined;
    await sleep(50);
  }
}
