/** First characters that make spreadsheets read a cell as a formula (OWASP "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field per RFC 4180 — quoted when it holds a comma, quote, CR or LF (quotes doubled) — with
 * OWASP's guard against formula injection: text starting with `=`, `+`, `-`, `@`, tab or CR gets a
 * leading `'`, so a consumer named `=HYPERLINK(…)` is shown, not run, when the file is opened in a
 * spreadsheet. Numbers are written as they are (a negative count stays a number); `null` is empty;
 * objects are written as JSON.
 * @example
 * csvField('=1+1'); // "'=1+1"
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const raw = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const text = typeof value === 'string' && FORMULA_START.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
