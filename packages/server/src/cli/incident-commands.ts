import { createInterface } from 'node:readline/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseKey } from '@keyroll/core';
import type { Command } from 'commander';
import { type AdminTarget, callAdmin, resolveTarget } from './admin-client.js';

type Row = Record<string, unknown>;

/** An incident as `GET /v1/incidents/:id` answers it. */
interface Incident extends Row {
  id: string;
  status: string;
  action: string;
  keyId: string;
  consumerId: string;
  keyHint: string;
  revokesAt: string | null;
  rotationId: string | null;
  successorClaimedAt: string | null;
  timeline: { type: string; at: string }[];
  recentUse: { address: string; userAgent: string; count: number; lastSeen: string }[];
  checklist: { item: string; done: boolean }[];
}

/** Most key pages read to find a key by its hint (100 keys a page). */
const MAX_HINT_PAGES = 100;

/** The key an operator named: its secret, its id or its hint (`kr_live_…abcd`, `...` for `…` too). */
async function findKey(t: AdminTarget, ref: string): Promise<{ keyId: string; secret?: string }> {
  if (parseKey(ref)) {
    // The secret itself: found by the server by its SHA-256; the CLI never prints it.
    return { keyId: '', secret: ref };
  }
  if (/^key_[0-9A-Za-z]+$/.test(ref)) return { keyId: ref };
  const hint = ref.replace('...', '…');
  const found: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_HINT_PAGES; page++) {
    const q = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
    const res: { data: Row[]; nextCursor: string | null } = await callAdmin(t, 'GET', `/v1/keys?${q}`);
    for (const k of res.data) if (k.hint === hint) found.push(String(k.id));
    cursor = res.nextCursor;
    if (!cursor) break;
  }
  if (found.length === 0) throw new Error(`no key with the id or hint ${ref}`);
  if (found.length > 1)
    throw new Error(`${found.length} keys have the hint ${ref}: name one by id (${found.join(', ')})`);
  return { keyId: found[0] as string };
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new Error('not a terminal: pass --yes to contain the key without a prompt');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function incidentLines(i: Incident): string[] {
  const lines = [
    `incident ${i.id}: ${i.status} (action ${i.action}${i.revokesAt ? `, the leaked key stops at ${i.revokesAt}` : ''})`,
    `key ${i.keyId} (${i.keyHint}) of consumer ${i.consumerId}`,
  ];
  if (i.rotationId) {
    lines.push(
      i.successorClaimedAt
        ? `successor: claimed at ${i.successorClaimedAt}`
        : 'successor: not claimed yet (the SDK claims it via /v1/self/successor)',
    );
  }
  lines.push('timeline:', ...i.timeline.map((e) => `  ${e.at}  ${e.type}`));
  lines.push(
    'recent use (24 h):',
    ...(i.recentUse.length === 0
      ? ['  (none)']
      : i.recentUse.map((u) => `  ${u.address}  ${u.userAgent || '-'}  ${u.count} requests, last ${u.lastSeen}`)),
  );
  lines.push('checklist:', ...i.checklist.map((c) => `  [${c.done ? 'x' : ' '}] ${c.item}`));
  return lines;
}

/** `keyroll incident open|show`: the leak playbook by hand, and following an incident until contained. */
export function addIncidentCommands(program: Command): void {
  const target = (cmd: Command): AdminTarget => resolveTarget(cmd.optsWithGlobals());
  const incident = program.command('incident').description('leak response: contain a leaked key, follow its incident');

  incident
    .command('open <key>')
    .description('report a leaked key (its secret, id or hint), contain it per its leak policy, print the incident')
    .option('--yes', 'contain without asking')
    .option('--source <source>', 'who found the leak', 'cli')
    .option('--leak-url <url>', 'where the key leaked')
    .option('--json', 'print JSON {incidentId, incident}')
    .action(async (ref: string, opts: { yes?: boolean; json?: boolean; source: string; leakUrl?: string }, cmd) => {
      const t = target(cmd);
      const found = await findKey(t, ref);
      const body = found.secret ? { key: found.secret } : { keyId: found.keyId };
      if (!opts.yes) {
        // Show what is about to happen before asking: the key, its owner, its use and the policy.
        const keyId = found.keyId || undefined;
        if (keyId) {
          const key = await callAdmin<Row>(t, 'GET', `/v1/keys/${encodeURIComponent(keyId)}`);
          const consumer = await callAdmin<Row>(
            t,
            'GET',
            `/v1/consumers/${encodeURIComponent(String(key.consumerId))}`,
          );
          const usage = await callAdmin<Row>(t, 'GET', `/v1/keys/${encodeURIComponent(keyId)}/usage?granularity=hour`);
          const policy = await callAdmin<Row>(
            t,
            'GET',
            `/v1/leak-policies/${encodeURIComponent(String(key.consumerId))}`,
          ).catch(() => callAdmin<Row>(t, 'GET', '/v1/leak-policies/default'));
          process.stderr.write(
            [
              `key ${key.id} (${key.hint}, ${key.name}) is ${key.status}; last used ${key.lastUsedAt ?? 'never'}`,
              `consumer ${consumer.id} (${consumer.name})`,
              `requests in the last 24 h: ${typeof usage.total === 'number' ? usage.total : '?'}`,
              `leak policy (${policy.target}): ${policy.action}${policy.action === 'rollover' ? `, grace ${policy.gracePeriod}` : ''}`,
              '',
            ].join('\n'),
          );
        }
        if (!(await confirm('Contain this key per its leak policy?'))) throw new Error('nothing done');
      }
      const res = await callAdmin<{ incidentId: string; created: boolean; incident: Incident }>(
        t,
        'POST',
        '/v1/leaks',
        {
          ...body,
          source: opts.source,
          ...(opts.leakUrl !== undefined && { url: opts.leakUrl }),
        },
      );
      const out = { incidentId: res.incidentId, incident: res.incident };
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(out, null, 2)}\n`
          : `${[...(res.created ? [] : ['(this key was already reported: its incident is unchanged)']), ...incidentLines(res.incident)].join('\n')}\n`,
      );
    });

  incident
    .command('show <id>')
    .description('print an incident; follows it until it is contained unless --no-follow or --json')
    .option('--no-follow', 'print once and exit')
    .option('--interval <seconds>', 'seconds between two looks while following', '2')
    .option('--json', 'print JSON {incidentId, incident} once')
    .action(async (id: string, opts: { follow: boolean; interval: string; json?: boolean }, cmd) => {
      const t = target(cmd);
      const seconds = Number(opts.interval);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
        throw new Error('--interval must be a number of seconds from 0 to 3600');
      }
      const get = () => callAdmin<Incident>(t, 'GET', `/v1/incidents/${encodeURIComponent(id)}`);
      let current = await get();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ incidentId: current.id, incident: current }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${incidentLines(current).join('\n')}\n`);
      if (!opts.follow) return;
      const seen = new Set(current.timeline.map((e) => `${e.type}@${e.at}`));
      while (current.status !== 'contained') {
        await delay(seconds * 1000);
        current = await get();
        for (const e of current.timeline) {
          if (seen.has(`${e.type}@${e.at}`)) continue;
          seen.add(`${e.type}@${e.at}`);
          process.stdout.write(`${e.at}  ${e.type}\n`);
        }
      }
      process.stdout.write(`contained at ${current.containedAt ?? '?'}\n`);
    });
}
