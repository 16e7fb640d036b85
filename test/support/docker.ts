import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const TEST_BASE_IMAGE = 'berth-test/node:20';
export const TEST_INSTANCE_PREFIX = 'test-';

const INSTANCE_LABEL = 'berth.instance';
const BASE_IMAGE_LABEL = 'berth.test=base';
const BASE_IMAGE_BUILD_TIMEOUT_MS = 5 * 60_000;

const execFileAsync = promisify(execFile);

type LabelledItem = { Id: string; Labels?: Record<string, string> | null };

export async function ensureTestBaseImage(): Promise<void> {
  const script = path.join(PACKAGE_ROOT, 'scripts', 'make-base-image.sh');
  try {
    await execFileAsync('bash', [script, TEST_BASE_IMAGE], { timeout: BASE_IMAGE_BUILD_TIMEOUT_MS });
  } catch (error) {
    // execFile's message already ends with the script's stderr.
    const { message, stdout = '' } = error as Error & { stdout?: string };
    throw new Error(`${TEST_BASE_IMAGE} could not be built: ${message}\n${stdout}`);
  }
}

function isTestInstance(item: LabelledItem): boolean {
  return item.Labels?.[INSTANCE_LABEL]?.startsWith(TEST_INSTANCE_PREFIX) ?? false;
}

function isAlreadyGoneOrInUse(error: unknown): boolean {
  const statusCode = (error as { statusCode?: number }).statusCode;
  return statusCode === 404 || statusCode === 409;
}

async function removeEach(items: LabelledItem[], remove: (id: string) => Promise<unknown>): Promise<number> {
  let removed = 0;
  for (const item of items) {
    try {
      await remove(item.Id);
      removed++;
    } catch (error) {
      if (!isAlreadyGoneOrInUse(error)) throw error;
    }
  }
  return removed;
}

async function removeTestContainers(docker: Docker): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [INSTANCE_LABEL] } });
  return removeEach(containers.filter(isTestInstance), (id) => docker.getContainer(id).remove({ force: true, v: true }));
}

async function removeTestNetworks(docker: Docker): Promise<number> {
  const networks = await docker.listNetworks({ filters: { label: [INSTANCE_LABEL] } });
  return removeEach(networks.filter(isTestInstance), (id) => docker.getNetwork(id).remove());
}

async function removeTestImages(docker: Docker): Promise<number> {
  const images = await docker.listImages({ filters: { label: [INSTANCE_LABEL] } });
  return removeEach(images.filter(isTestInstance), (id) => docker.getImage(id).remove({ force: true }));
}

async function removeBaseImage(docker: Docker): Promise<number> {
  const images = await docker.listImages({ filters: { label: [BASE_IMAGE_LABEL] } });
  return removeEach(images, (id) => docker.getImage(id).remove({ force: true }));
}

export async function removeTestResources(
  opts: { includeBaseImage?: boolean } = {},
): Promise<{ containers: number; networks: number; images: number }> {
  const docker = new Docker();
  const containers = await removeTestContainers(docker);
  const networks = await removeTestNetworks(docker);
  let images = await removeTestImages(docker);
  if (opts.includeBaseImage) images += await removeBaseImage(docker);
  return { containers, networks, images };
}
