/** A row of an API answer, as the CLI prints it. */
export type Row = Record<string, unknown>;

/** Prints `value` as JSON with `--json`, else the lines a person reads. */
export function print(json: boolean, value: unknown, lines: () => string[]): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines().join('\n')}\n`);
}

/** Rows as an aligned text table of these columns; `(none)` for no rows. */
export function table(rows: Row[], columns: string[]): string[] {
  if (rows.length === 0) return ['(none)'];
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? '-'
      : Array.isArray(v)
        ? v.join(',')
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
}

/** `key: value` lines of an object's fields (nested objects as JSON). */
export function fields(value: Row): string[] {
  const width = Math.max(0, ...Object.keys(value).map((k) => k.length));
  return Object.entries(value).map(([k, v]) => {
    const text = v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `${k.padEnd(width)}  ${text}`;
  });
}

/** A query string of the given parameters, leaving out those not set; `''` when none is. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}
