const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of `values` in Unicode blocks, at most `width` characters: neighbouring values are
 * summed into one column when there are more. A column with no requests is a space.
 */
export function sparkline(values: number[], width = 60): string {
  const per = Math.max(1, Math.ceil(values.length / width));
  const columns: number[] = [];
  for (let i = 0; i < values.length; i += per) columns.push(values.slice(i, i + per).reduce((a, b) => a + b, 0));
  const max = Math.max(0, ...columns);
  return columns
    .map((v) => (v === 0 ? ' ' : BLOCKS[Math.min(BLOCKS.length - 1, Math.floor((v / max) * (BLOCKS.length - 1)))]))
    .join('');
}
