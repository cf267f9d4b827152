#!/usr/bin/env node
// Writes keyroll's Postman collection (format v2.1), generated from the OpenAPI document the server
// builds from its route schemas: folders by resource, variables baseUrl/rootKey/apiKey, bearer auth
// at collection level, examples from the schemas and a runnable rotation scenario. The same
// collection is served by every node at GET /postman.json.
// Usage: npm run postman [-- <output file> [<baseUrl>]]
//   default output: keyroll.postman_collection.json; default baseUrl: $KEYROLL_URL or http://127.0.0.1:7070
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { toPostmanCollection } from '../packages/server/dist/http/postman-collection.js';

const out = resolve(process.argv[2] ?? 'keyroll.postman_collection.json');
const baseUrl = process.argv[3] ?? process.env.KEYROLL_URL ?? 'http://127.0.0.1:7070';

// The OpenAPI document comes from a throwaway node on an empty SQLite store (nothing listens).
const dataDir = mkdtempSync(join(tmpdir(), 'keyroll-postman-'));
try {
  const kr = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dataDir, KEYROLL_SCHEDULER_INTERVAL_MS: '0' }));
  try {
    await kr.app.ready();
    const collection = toPostmanCollection(kr.app.swagger(), { baseUrl });
    writeFileSync(out, `${JSON.stringify(collection, null, 2)}\n`);
    const requests = collection.item.reduce((n, folder) => n + folder.item.length, 0);
    console.log(`wrote ${out}: ${collection.item.length} folders, ${requests} requests (baseUrl ${baseUrl})`);
  } finally {
    await kr.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
