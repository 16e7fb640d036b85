/** The stages of a deploy in the order the pipeline runs them. */
export enum Stage {
  Build = 'build',
  Start = 'start',
  Check = 'check',
  Switch = 'switch',
  Retire = 'retire',
}

export type DeployOutcome =
  | { ok: true; release: number; stageMs: Record<string, number> }
  | { ok: false; release: number | undefined; stage: Stage | 'prepare'; message: string };
