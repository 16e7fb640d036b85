import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { stopReason, timeLimit, type BerthError } from '../errors.js';
import { appLabels, LABEL } from '../model/naming.js';
import { containerHostConfig, createAppContainer, removeContainer, type Placement } from './containers.js';
import { forEachOutputLine } from './logs.js';
import type { OneOffResult, OneOffSpec } from './runtime.js';

/**
 * A one-off container from create to remove. Its output is attached before it starts, so the
 * first line is not lost; the engine never restarts it; it is killed when its time limit passes
 * or the caller's signal fires, and removed whatever happened, so nothing of it is left running.
 */
export async function runOneOff(docker: Docker, placement: Placement, spec: OneOffSpec): Promise<OneOffResult> {
  const interactive = spec.stdin !== undefined;
  const container = await createAppContainer(
    docker,
    {
    name: spec.name,
    Image: spec.image,
    Cmd: ['/bin/sh', '-c', spec.command],
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...appLabels(placement.instance, spec.app, spec.release), [LABEL.role]: spec.role },
    HostConfig: containerHostConfig({ app: spec.app, processType: spec.role, limits: spec.limits }, placement.network, 'one-off'),
    AttachStdout: true,
    AttachStderr: true,
    ...(interactive ? { AttachStdin: true, OpenStdin: true, StdinOnce: true } : {}),
    },
    spec.mounts,
  );
  const started = Date.now();
  const limit = AbortSignal.any([timeLimit(spec.timeoutSeconds, `${spec.name}`, spec.limitName), ...(spec.signal ? [spec.signal] : [])]);
  let stopped: BerthError | undefined;
  const kill = () => {
    stopped = stopReason(limit);
    container.kill().catch(() => undefined);
  };
  try {
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true, stdin: interactive, hijack: interactive })) as unknown as Duplex;
    // Input typed after the command ended meets a closed stream: that is no failure of berth's.
    stream.on('error', () => undefined);
    const output = forEachOutputLine(stream, spec.onLine);
    await container.start();
    spec.onStart?.();
    if (spec.stdin) spec.stdin.pipe(stream);
    limit.addEventListener('abort', kill, { once: true });
    if (limit.aborted) kill();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await output;
    return { name: spec.name, exitCode: StatusCode, durationMs: Date.now() - started, stopped };
  } finally {
    limit.removeEventListener('abort', kill);
    spec.stdin?.unpipe();
    await removeContainer(docker, container.id).catch(() => undefined);
  }
}
