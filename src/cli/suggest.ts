/** What berth suggests for a mistyped command name. */

/** Edits (insert, delete, replace, swap two neighbours) that turn a into b: `stauts` is 1 from `status`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const replace = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + replace);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The command a mistyped name most likely meant, if any is near enough. A start of a name matches it,
 * and a name is also compared by its parts, so a topic or subcommand alone finds it
 * (`apps` → apps:list, `restart` → ps:restart); on a tie the earlier name wins.
 */
export function closestCommand(input: string, names: string[]): string | undefined {
  const typed = input.toLowerCase();
  const distanceTo = (name: string) => (name.startsWith(typed) ? 0 : Math.min(...[name, ...name.split(':')].map((part) => editDistance(typed, part))));
  const ranked = names.map((name) => ({ name, distance: distanceTo(name) })).sort((a, b) => a.distance - b.distance);
  const best = ranked[0];
  return best && best.distance <= Math.max(1, Math.floor(typed.length / 3)) ? best.name : undefined;
}
