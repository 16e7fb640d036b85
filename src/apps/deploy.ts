import { BerthError, ConflictError, describe, timeLimit } from '../errors.js';
import type { DeployOutput } from '../log/output.js';
import { checkImageReference, parseDeploySetting, type AppDeploySettings } from '../model/app.js';
import type { DeployReport } from '../model/api.js';
import { ImageFiles } from '../deploy/release-files.js';
import type { AppRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/** deploy:set and deploy:report (the order of a deploy's stages), and deploy:image. */
export class DeployService {
  constructor(private readonly operator: AppOperator) {}

  async report(name: string): Promise<DeployReport> {
    return this.reportOf(await this.operator.get(name));
  }

  /** Stored for the next deploy; nothing restarts. */
  async set(name: string, change: Partial<AppDeploySettings>): Promise<DeployReport> {
    const checked = parseDeploySetting('order', change.order ?? '');
    return this.operator.withApp(name, 'deploy:set', undefined, async (app) => {
      if (checked.order === 'stop-first' && app.scheduler === 'swarm') throw new ConflictError(`${name} runs on the swarm, which deploys start-first only`, `berth scheduler:set ${name} local first to deploy it stop-first`);
      return this.reportOf(await this.operator.deps.store.updateApp(name, (record) => Object.assign(record.deploy, checked)));
    });
  }

  /**
   * A release of an image in the engine, through the same stages as a push. An image the engine
   * does not have is pulled first; when that fails too, nothing is created or changed.
   */
  async image(name: string, reference: string, output: DeployOutput, cancelled: AbortSignal): Promise<{ release: number; image: string }> {
    checkImageReference(reference);
    return this.operator.withApp(name, `deploy:image ${reference}`, output, async (app) => {
      await this.ensureImage(app, reference, output);
      const description = `image ${reference}`;
      const outcome = await this.operator.deps.pipeline.deploy({ app: app.name, source: { kind: 'imported', reference, tree: new ImageFiles(this.operator.deps.runtime, reference) }, description, output, cancelled });
      if (!outcome.ok) throw new BerthError(`deploy:image ${reference} of ${app.name} failed at the ${outcome.stage} stage: ${outcome.message}`, app.live ? 'see the lines above for what serves now' : `${app.name} has no live release`);
      return { release: outcome.release, image: reference };
    });
  }

  private async ensureImage(app: AppRecord, reference: string, output: DeployOutput): Promise<void> {
    const { runtime, options } = this.operator.deps;
    if (await runtime.imageExists(reference)) return;
    output.section(`The image ${reference} is not in the Docker engine: pulling it`);
    try {
      await runtime.pullImage(reference, timeLimit(options.buildTimeoutSeconds, 'pulling the image', '--build-timeout'));
    } catch (error) {
      throw new BerthError(`the image ${reference} is not in the Docker engine and pulling it failed: ${describe(error)}`, `nothing changed for ${app.name}; check the name (docker images), or load the image into the engine (docker load, docker build -t ${reference}) and deploy it again`);
    }
  }

  private reportOf(app: AppRecord): DeployReport {
    return { ...app.deploy, holdTimeoutSeconds: this.operator.deps.options.holdTimeoutSeconds };
  }
}
