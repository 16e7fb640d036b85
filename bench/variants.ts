/** Every set-up the bench measures, under the same load; the keys are what --variants takes. */
export const VARIANTS = {
  direct: { name: 'straight to the container (the limit here)', tls: false, deploys: false, swarm: false },
  a: { name: '(a) stop-then-start', tls: false, deploys: true, swarm: false },
  b: { name: '(b) one nginx, reload per deploy', tls: false, deploys: true, swarm: false },
  d: { name: '(d) Caddy, upstream swapped through its admin API', tls: false, deploys: true, swarm: false },
  c: { name: '(c) berth', tls: false, deploys: true, swarm: false },
  'c-stop': { name: '(c) berth, deploy order stop-first (requests held in the gap)', tls: false, deploys: true, swarm: false },
  'b-tls': { name: '(b) one nginx, HTTPS', tls: true, deploys: true, swarm: false },
  'c-tls': { name: '(c) berth, HTTPS', tls: true, deploys: true, swarm: false },
  'c-swarm': { name: '(c) berth, swarm scheduler (3 lab nodes, web=3)', tls: false, deploys: true, swarm: true },
} as const;

export type VariantKey = keyof typeof VARIANTS;

export const VARIANT_KEYS = Object.keys(VARIANTS) as VariantKey[];

/** What the bench measures without --variants: the swarm variant needs a lab, so only --scheduler swarm adds it. */
export const DEFAULT_VARIANT_KEYS = VARIANT_KEYS.filter((key) => !VARIANTS[key].swarm);

/** The swarm lab the swarm variant brings up and down: web=3 over this many nodes. */
export const SWARM_NODES = 3;

/** berth against the one nginx it replaces, over the same protocol; the swarm variant is held to zero failed requests only. */
export const PEERS: { berth: VariantKey; nginx?: VariantKey }[] = [
  { berth: 'c', nginx: 'b' },
  { berth: 'c-tls', nginx: 'b-tls' },
  { berth: 'c-swarm' },
];
