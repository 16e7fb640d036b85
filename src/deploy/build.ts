import tar from 'tar-stream';
import type { Readable } from 'node:stream';
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
      run.release.imageDigest = await runtime.imageDigest(image);
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
      run.release.imageDigest = await this.deps.runtime.imageDigest(image);
    });
  }
}

/** A build context of one Dockerfile that only names the image: the engine adds berth's labels to it and builds nothing else. */
function labelOnlyContext(reference: string): Readable {
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, `FROM ${reference}\n`);
  pack.finalize();
  return pack as unknown as Readable;
}

/**
 * The build stage of deploy:image: the given image (already in the engine) becomes the release's
 * INSTANCE/APP:RELEASE with berth's labels, so it is kept, pruned and rolled back to like a built
 * one; the release records the given image and its digest.
 */
export class ImportImageStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun, reference: string): Promise<void> {
    const { runtime, options } = this.deps;
    const image = imageName(options.instance, run.app.name, run.release.id);
    await run.timed(Stage.Build, async () => {
      const digest = await runtime.imageDigest(reference);
      if (!digest) throw new BerthError(`the image ${reference} is not in the Docker engine`, 'load or build it first (docker load, docker build -t), then deploy it again');
      run.output.section(`Deploying image ${reference} (${digest}) as ${run.app.name} release ${run.release.id}`);
      const signal = AbortSignal.any([run.signal, timeLimit(options.buildTimeoutSeconds, 'labelling the image', '--build-timeout')]);
      await runtime.buildImage({ context: labelOnlyContext(reference), tag: image, labels: appLabels(options.instance, run.app.name, run.release.id), signal, onLine: (line) => run.output.info(line) });
      run.release.image = image;
      run.builtImage = image;
      run.release.imageSource = `${reference}@${digest}`;
      run.release.imageDigest = await runtime.imageDigest(image);
      run.output.info(`Labelled as ${image} (${run.release.imageDigest})`);
    });
  }
}
