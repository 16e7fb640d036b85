/** Plain-text output of the berth client: pure functions, no colors, so output pipes cleanly. */

const COLUMN_GAP = '  ';

/** Columns as wide as their widest cell; the last one is not padded, so no line ends in spaces. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const formatRow = (cells: string[]) =>
    headers
      .map((_, column) => (column === headers.length - 1 ? (cells[column] ?? '') : (cells[column] ?? '').padEnd(widths[column])))
      .join(COLUMN_GAP)
      .trimEnd();
  return [headers, ...rows].map(formatRow).join('\n');
}

/** `label:` lines with the values aligned, as in `berth apps:info`. */
export function formatKeyValues(pairs: Array<[string, string]>): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length + 1));
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)}${COLUMN_GAP}${value}`.trimEnd()).join('\n');
}

/** Milliseconds as seconds with one decimal ("1.9s"), or "-" when the stage did not run. */
export function formatSeconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A long duration in its two largest units: "3d 4h", "2h 5m", "5m 3s", "42s". */
export function formatUptime(totalSeconds: number): string {
  const units: Array<[string, number]> = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.max(0, Math.floor(totalSeconds));
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  return parts.length === 0 ? '0s' : parts.slice(0, 2).join(' ');
}

/** An ISO timestamp to the minute, in UTC: "2024-05-01T12:34Z"; "-" when absent. */
export function formatMinute(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16)}Z`;
}

export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 7) : '-';
}

/** `{web: 2, worker: 1}` as "web=2 worker=1", the same TYPE=N form `berth ps:scale` takes. */
export function formatFormation(formation: Record<string, number>): string {
  const entries = Object.entries(formation);
  return entries.length === 0 ? '-' : entries.map(([type, count]) => `${type}=${count}`).join(' ');
}

export function formatList(items: string[]): string {
  return items.length === 0 ? '-' : items.join(', ');
}
