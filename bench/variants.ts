/** Every set-up the bench measures, under the same load; the keys are what --variants takes. */
export const VARIANTS = {
  direct: { name: 'straight to the container (the limit here)', tls: false, deploys: false },
  a: { name: '(a) stop-then-start', tls: false, deploys: true },
  b: { name: '(b) one nginx, reload per deploy', tls: false, deploys: true },
  d: { name: '(d) Caddy, upstream swapped through its admin API', tls: false, deploys: true },
  c: { name: '(c) berth', tls: false, deploys: true },
  'c-stop': { name: '(c) berth, deploy order stop-first (requests held in the gap)', tls: false, deploys: true },
  'b-tls': { name: '(b) one nginx, HTTPS', tls: true, deploys: true },
  'c-tls': { name: '(c) berth, HTTPS', tls: true, deploys: true },
} as const;

export type VariantKey = keyof typeof VARIANTS;

export const VARIANT_KEYS = Object.keys(VARIANTS) as VariantKey[];

/** berth against the one nginx it replaces, over the same protocol. */
export const PEERS: { berth: VariantKey; nginx: VariantKey }[] = [
  { berth: 'c', nginx: 'b' },
  { berth: 'c-tls', nginx: 'b-tls' },
];
