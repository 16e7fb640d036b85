/** Every container, image and network berth makes carries these, so it can find (and clean) its own. */
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
