/**
 * How berth names what it makes on the Docker engine. Every name starts with the instance, so
 * several berths can share one engine, and every object carries the labels, so berth (and the
 * tests) can find their own by label instead of by name.
 */
export const LABEL = {
  instance: 'berth.instance',
  app: 'berth.app',
  release: 'berth.release',
  process: 'berth.process',
} as const;

export function appLabels(instance: string, app: string, release: number, processType?: string): Record<string, string> {
  const labels: Record<string, string> = { [LABEL.instance]: instance, [LABEL.app]: app, [LABEL.release]: String(release) };
  if (processType) labels[LABEL.process] = processType;
  return labels;
}

/** INSTANCE/APP:RELEASE; a rollback or restart runs an older release's image under its own tag. */
export function imageName(instance: string, app: string, release: number): string {
  return `${instance}/${app}:${release}`;
}

/** The repository part of every image of the app: `imageName` without the release. */
export function imageRepository(instance: string, app: string): string {
  return `${instance}/${app}`;
}

/** INSTANCE-APP-TYPE-RELEASE, and -N from the second container of a process type on. */
export function containerName(instance: string, app: string, processType: string, release: number, index: number): string {
  const base = `${instance}-${app}-${processType}-${release}`;
  return index > 1 ? `${base}-${index}` : base;
}

/**
 * The app's own bridge network: its containers reach each other, and other apps' containers
 * cannot reach them (the engine drops traffic between bridge networks). `_` is in no instance or
 * app name, so two apps, or two instances, never share one.
 */
export function appNetworkName(instance: string, app: string): string {
  return `${instance}_${app}`;
}

/**
 * The one bridge every app shared before each app had its own. Containers of a berth upgraded in
 * place stay on it, and serve, until their app's next release; it is removed once nothing uses it.
 */
export function sharedNetworkName(instance: string): string {
  return `${instance}-apps`;
}
