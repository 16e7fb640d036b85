import { BerthError, timeLimit } from '../errors.js';
import { buildImage, checkContextSize } from '../build/builder.js';
import { appLabels, imageName } from '../model/naming.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** The build stage of a push: the commit's Dockerfile built into INSTANCE/APP:RELEASE. */
export class BuildStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    const { runtime, options } = this.deps;
    const image = imageName(options.instance, run.app.name, run.release.id);
    await run.timed(Stage.Build, async () => {
      run.output.section(`Building ${run.app.name} (release ${run.release.id}) from commit ${run.tree.commit.slice(0, 7)}`);
      await checkContextSize(run.tree, options.maxPushBytes);
      await run.fire('pre-build');
      const buildSignal = AbortSignal.any([run.signal, timeLimit(options.buildTimeoutSeconds, 'the build', '--build-timeout')]);
      await buildImage({ runtime, tree: run.tree, image, labels: appLabels(options.instance, run.app.name, run.release.id), logger: run.output, signal: buildSignal });
      run.release.image = image;
      run.builtImage = image;
      await run.fire('post-build');
    });
  }
}

/** The build stage of a restart, config change or rollback: an image built before, if it is still here. */
export class ReuseImageStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun, image: string): Promise<void> {
    await run.timed(Stage.Build, async () => {
      run.output.section(`Releasing ${run.app.name} (release ${run.release.id}): ${run.release.description}, image ${image}`);
      if (!(await this.deps.runtime.imageExists(image))) {
        throw new BerthError(`the image ${image} is no longer on this server`, `push the app again (berth keeps the images of the last ${this.deps.options.keepReleases} releases)`);
      }
      run.release.image = image;
    });
  }
}
