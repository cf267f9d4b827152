// @ts-check
// `npm run demo`: the rotation-under-load scenario of the end-to-end proof, with a live summary.
// PostgreSQL when KEYROLL_DEMO_DATABASE_URL (or KEYROLL_TEST_PG_URL) names a server — a fresh
// database is made next to it and dropped afterwards — else both nodes share one SQLite file.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runRotationScenario } from './scenario.mjs';

const serverUrl = process.env.KEYROLL_DEMO_DATABASE_URL || process.env.KEYROLL_TEST_PG_URL;
const out = process.stdout;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
let liveLine = false;

/** @param {string} message */
function step(message) {
  if (liveLine && out.isTTY) out.write('\r\x1b[2K');
  liveLine = false;
  out.write(`${elapsed()}  ${message}\n`);
}

let lastPrinted = 0;
/** @param {{ label: string, sent: number, failed: number, rotations: number }[]} progress */
function live(progress) {
  const sent = progress.reduce((s, p) => s + p.sent, 0);
  const failed = progress.filter((p) => p.label !== 'emergency').reduce((s, p) => s + p.failed, 0);
  const emergency = progress.find((p) => p.label === 'emergency')?.failed ?? 0;
  const moved = progress.filter((p) => p.rotations > 0).map((p) => p.label);
  const line = `${elapsed()}  sent ${sent} · failed ${failed} · refused during the emergency rollover ${emergency} · switched keys: ${moved.join(' ') || '-'}`;
  if (out.isTTY) {
    out.write(`\r\x1b[2K${line.slice(0, (out.columns || 200) - 1)}`);
    liveLine = true;
  } else if (Date.now() - lastPrinted > 2000) {
    lastPrinted = Date.now();
    out.write(`${line}\n`);
  }
}

/** Creates a fresh database on the server of `url`; returns its URL and how to drop it. */
async function freshPostgres(/** @type {string} */ url) {
  const name = `keyroll_demo_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return {
    url: parsed.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

const db = serverUrl ? await freshPostgres(serverUrl) : undefined;
step(
  db
    ? `PostgreSQL: database ${new URL(db.url).pathname.slice(1)}`
    : 'SQLite: both nodes on one file (set KEYROLL_DEMO_DATABASE_URL for PostgreSQL)',
);
let exitCode = 1;
try {
  const result = await runRotationScenario({ databaseUrl: db?.url, onStep: step, onProgress: live });
  step('done');
  console.table(
    result.workers.map((w) => ({
      consumer: w.label,
      sent: w.sent,
      failed: w.failed,
      'avg ms': Math.round((w.totalMs / Math.max(1, w.ok)) * 10) / 10,
      'switched keys by': w.rotations.map((r) => r.how).join(' ') || '-',
    })),
  );
  const failed = result.workers.filter((w) => w.label !== 'emergency').reduce((s, w) => s + w.failed, 0);
  const total = result.workers.reduce((s, w) => s + w.sent, 0);
  const oldKeys = Object.entries(result.keysByConsumer).flatMap(([name, keys]) =>
    keys.filter((k) => k.status !== 'active').map((k) => ({ name, status: k.status })),
  );
  const allRetired = oldKeys.every((k) => k.status === (k.name === 'emergency' ? 'revoked' : 'retired'));
  out.write(
    `\nrequests sent ${total}, failed ${failed} outside the emergency rollover; rotations ${result.rotations.length}; ` +
      `old keys ${oldKeys.length}, all retired (emergency: revoked): ${allRetired ? 'yes' : 'NO'}\n`,
  );
  exitCode = failed === 0 && allRetired ? 0 : 1;
  out.write(exitCode === 0 ? 'zero downtime: no request failed while every key was rotated\n' : 'FAILED\n');
} finally {
  await db?.drop();
}
process.exit(exitCode);
