/** The stages of a deploy in the order the pipeline runs them. */
export enum Stage {
  Build = 'build',
  /** The release task (app.json's predeploy or the Procfile's release: line), from the new image. */
  Release = 'release',
  /** stop-first only: the old release stops before the new one starts. */
  Stop = 'stop',
  Start = 'start',
  Check = 'check',
  Switch = 'switch',
  Retire = 'retire',
}

export type DeployOutcome =
  | { ok: true; release: number; stageMs: Record<string, number> }
  | { ok: false; release: number | undefined; stage: Stage | 'prepare'; message: string };
