/**
 * How berth names what it makes on the Docker engine. Every name starts with the instance, so
 * several berths can share one engine, and every object carries the labels, so berth (and the
 * tests) can find their own by label instead of by name.
 */
// An image path component: no leading, trailing or double hyphen (`berth-/x:1` is no image name).
const INSTANCE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_INSTANCE_NAME = 32;
export const INSTANCE_NAME_RULE = `lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen, at most ${MAX_INSTANCE_NAME} characters`;

export function isValidInstanceName(name: string): boolean {
  return name.length <= MAX_INSTANCE_NAME && INSTANCE_NAME.test(name);
}

/**
 * Joins the parts of a container name. Instance names, app names and process types hold no
 * underscore, so `shop` + `mail-worker` and `shop-mail` + `worker` cannot meet in one name, nor
 * instance `berth` + app `x-y` and instance `berth-x` + app `y`.
 */
const NAME_SEPARATOR = '_';
export const LABEL = {
  instance: 'berth.instance',
  app: 'berth.app',
  release: 'berth.release',
  process: 'berth.process',
  /** Only on one-off containers: run, release or cron. The app's long-running containers have none. */
  role: 'berth.role',
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

/** INSTANCE_APP_TYPE_RELEASE, and _N from the second container of a process type on. */
export function containerName(instance: string, app: string, processType: string, release: number, index: number): string {
  const parts = [instance, app, processType, String(release), ...(index > 1 ? [String(index)] : [])];
  return parts.join(NAME_SEPARATOR);
}

/**
 * INSTANCE_APP_ROLE_STAMP for a one-off container. The stamp starts with a letter, and a release
 * number never does, so no app container (INSTANCE_APP_TYPE_RELEASE) can have this name.
 */
export function oneOffName(instance: string, app: string, role: string, stamp: string): string {
  return [instance, app, role, stamp].join(NAME_SEPARATOR);
}

/** Whether a container's labels say it is this very container of this berth: only then may berth replace it. */
export function labelsMatch(labels: Record<string, string> | undefined, expected: Record<string, string>): boolean {
  return Object.entries(expected).every(([key, value]) => labels?.[key] === value);
}

/** Whose a container is, by its labels, for an error that says why berth leaves it alone. */
export function describeOwner(labels: Record<string, string> | undefined): string {
  const instance = labels?.[LABEL.instance];
  if (!instance) return 'it was not made by berth';
  return `it belongs to ${labels?.[LABEL.app] ? `app ${labels[LABEL.app]}` : 'no app'} of berth instance ${instance}`;
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
