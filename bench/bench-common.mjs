// Shared by every benchmark (no package imports, so it loads on its own): the machine, the load, medians, orders.
import os from 'node:os';

/** The machine, for the results table. */
export function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model?.trim() ?? 'cpu'} × ${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** The load average line every benchmark prints (its numbers depend on what else the machine does). */
export function loadAverageLine() {
  return `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.cpus().length} CPUs`;
}

/** Median of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A random visiting order of `n` keys, `length` long. */
export function randomOrder(n, length) {
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = Math.floor(Math.random() * n);
  return order;
}
