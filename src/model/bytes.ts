const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Disk sizes as berth's log and `berth status` write them: 0 B, 512 B, 1.5 MiB, 12 GiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}
