import { BerthError, throwIfStopped } from '../errors.js';
import { readAppJson } from '../build/app-json.js';
import { readProcfile } from '../build/procfile.js';
import { RELEASE_PROCESS } from '../model/app.js';
import type { OneOffResult } from '../runtime/runtime.js';
import { oneOffDeps, runOneOffTask } from './one-off.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** Which command a deploy runs before the switch, and where it comes from, for the pusher. */
interface ReleaseCommand {
  command: string;
  source: string;
}

/**
 * The release task (a database migration, typically): app.json's scripts.dokku.predeploy, else
 * the Procfile's release: line, run once in a one-off container from the NEW image with the
 * app's config, after the build and before any new container starts, so no new code serves
 * before it is done. A non-zero exit fails the deploy before anything live is touched; the
 * deploy's time limit (--deploy-timeout) bounds it.
 */
export class ReleaseTaskStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    // Reading app.json is this stage's first act: a broken one fails the push here, before anything starts.
    run.stage = Stage.Release;
    const task = await this.command(run);
    if (!task) return;
    await run.setStatus('releasing');
    await run.timed(Stage.Release, async () => {
      run.output.section(`Running the release task of ${run.app.name} (release ${run.release.id}) from ${task.source}: ${task.command}`);
      const result = await runDeployTask(this.deps, run, task.command);
      if (result.stopped) throw new BerthError(`the release task was stopped: ${result.stopped.message}`, `${result.stopped.hint ?? 'make it faster'}; nothing changed, the previous release is still serving`);
      if (result.exitCode !== 0) throw new BerthError(`the release task (${task.command}) exited with code ${result.exitCode}`, 'nothing changed: the previous release is still serving; fix the task and push again');
      run.output.info(`Release task done in ${(result.durationMs / 1000).toFixed(1)} s`);
    });
  }

  /** app.json wins over the Procfile, as in Dokku; the pusher reads that the release: line was not run. */
  private async command(run: DeployRun): Promise<ReleaseCommand | undefined> {
    const [appJson, procfile] = await Promise.all([readAppJson(run.tree), readProcfile(run.tree)]);
    const line = procfile[RELEASE_PROCESS];
    if (appJson.predeploy !== undefined) {
      if (line !== undefined) run.output.warn(`app.json's scripts.dokku.predeploy runs as the release task; the Procfile's release: line (${line}) is ignored`);
      return { command: appJson.predeploy, source: 'app.json scripts.dokku.predeploy' };
    }
    return line === undefined ? undefined : { command: line, source: 'the Procfile\'s release: line' };
  }
}

/**
 * app.json's scripts.dokku.postdeploy, once the new release serves. It cannot undo the switch:
 * a failure is reported and the release stays live.
 */
export class PostDeployTaskStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    const { postdeploy } = await readAppJson(run.tree).catch(() => ({ postdeploy: undefined }));
    if (postdeploy === undefined) return;
    run.output.section(`Running the postdeploy task of ${run.app.name} (release ${run.release.id}): ${postdeploy}`);
    const live = `release ${run.release.id} is live and stays live`;
    try {
      throwIfStopped(run.signal);
      const result = await runDeployTask(this.deps, run, postdeploy);
      if (result.stopped) run.output.warn(`The postdeploy task was stopped: ${result.stopped.message}; ${live}`);
      else if (result.exitCode !== 0) run.output.warn(`The postdeploy task (${postdeploy}) exited with code ${result.exitCode}; ${live}`);
      else run.output.info(`Postdeploy task done in ${(result.durationMs / 1000).toFixed(1)} s`);
    } catch (error) {
      run.output.warn(`The postdeploy task did not run: ${(error as Error).message}; ${live}`);
    }
  }
}

/** From the deploy's new image, its output to the pusher as it comes, bounded by the deploy's time limit. */
function runDeployTask(deps: PipelineDeps, run: DeployRun, command: string): Promise<OneOffResult> {
  return runOneOffTask(oneOffDeps(deps), {
    app: run.app,
    release: run.release.id,
    image: run.release.image!,
    role: 'release',
    command,
    logGroup: 'release',
    timeoutSeconds: deps.options.deployTimeoutSeconds,
    limitName: '--deploy-timeout',
    signal: run.signal,
    onLine: (line) => {
      run.output.info(line);
      return run.output.ready();
    },
  });
}
