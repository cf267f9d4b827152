/**
 * A Postman collection (format v2.1) made from keyroll's OpenAPI document: one folder per resource
 * (the operation's tag), the variables `baseUrl`, `rootKey` and `apiKey`, bearer auth with the root
 * key at collection level (self-service requests send `{{apiKey}}` in `x-api-key`), request bodies
 * and saved responses filled with examples generated from the documented schemas, and a runnable
 * folder that walks through a zero-downtime rotation with test scripts (run by newman in the tests).
 */

type Json = Record<string, unknown>;

/** The schema URL that marks a collection as format v2.1. */
export const POSTMAN_SCHEMA_V21 = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
/** Name of the runnable scenario folder. */
export const SCENARIO_FOLDER = 'Scenario: zero-downtime rotation';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const MAX_DEPTH = 6;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Options of {@link toPostmanCollection}. */
export interface PostmanOptions {
  /** Default of the `baseUrl` variable (the node that served the collection). */
  baseUrl: string;
}

/** Builds the collection from an OpenAPI 3.1 document. */
export function toPostmanCollection(openapi: Json, options: PostmanOptions): Json {
  const info = isObject(openapi.info) ? openapi.info : {};
  const folders = new Map<string, Json[]>();
  const paths = isObject(openapi.paths) ? openapi.paths : {};
  for (const [path, pathItem] of Object.entries(paths)) {
    if (!isObject(pathItem)) continue;
    for (const method of METHODS) {
      const op = pathItem[method];
      if (!isObject(op)) continue;
      const tags = Array.isArray(op.tags) ? op.tags : [];
      const folder = typeof tags[0] === 'string' ? tags[0] : 'other';
      const items = folders.get(folder) ?? [];
      items.push(requestItem(openapi, method, path, op));
      folders.set(folder, items);
    }
  }
  const resourceFolders = [...folders.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, item]) => ({ name, item }));
  return {
    info: {
      name: typeof info.title === 'string' ? info.title : 'keyroll',
      description:
        'Generated from the OpenAPI document of keyroll. Set `rootKey` (admin requests, bearer) and `apiKey` ' +
        '(self-service requests, x-api-key). The folder "' +
        SCENARIO_FOLDER +
        '" runs a rotation end to end.',
      version: typeof info.version === 'string' ? info.version : undefined,
      schema: POSTMAN_SCHEMA_V21,
    },
    auth: bearer('{{rootKey}}'),
    variable: [
      { key: 'baseUrl', value: options.baseUrl, type: 'string' },
      { key: 'rootKey', value: '', type: 'string' },
      { key: 'apiKey', value: '', type: 'string' },
    ],
    item: [scenarioFolder(), ...resourceFolders],
  };
}

function bearer(token: string): Json {
  return { type: 'bearer', bearer: [{ key: 'token', value: token, type: 'string' }] };
}

const API_KEY_AUTH: Json = {
  type: 'apikey',
  apikey: [
    { key: 'key', value: 'x-api-key', type: 'string' },
    { key: 'value', value: '{{apiKey}}', type: 'string' },
    { key: 'in', value: 'header', type: 'string' },
  ],
};

/** Self-service operations are called with the consumer's own key; a few operations need none. */
function authOf(op: Json, path: string): Json | undefined {
  const tags = Array.isArray(op.tags) ? op.tags : [];
  if (tags.includes('self-service') || path.startsWith('/v1/self')) return API_KEY_AUTH;
  if (path === '/healthz' || path === '/readyz') return { type: 'noauth' };
  return undefined;
}

function requestItem(doc: Json, method: string, path: string, op: Json): Json {
  const params = Array.isArray(op.parameters) ? op.parameters.filter(isObject) : [];
  const pathParams = params.filter((p) => p.in === 'path');
  const query = params
    .filter((p) => p.in === 'query')
    .map((p) => ({
      key: String(p.name),
      value: String(exampleOf(doc, p.schema, 0, false) ?? ''),
      disabled: p.required !== true,
      ...(typeof p.description === 'string' ? { description: p.description } : {}),
    }));
  const segments = path.split('/').filter(Boolean);
  const postmanPath = segments.map((s) => s.replace(/^\{(.+)\}$/, ':$1'));
  const url: Json = {
    raw: `{{baseUrl}}/${postmanPath.join('/')}${
      query.some((q) => !q.disabled)
        ? `?${query
            .filter((q) => !q.disabled)
            .map((q) => `${q.key}=${q.value}`)
            .join('&')}`
        : ''
    }`,
    host: ['{{baseUrl}}'],
    path: postmanPath,
    ...(query.length > 0 ? { query } : {}),
    ...(pathParams.length > 0
      ? { variable: pathParams.map((p) => ({ key: String(p.name), value: `<${String(p.name)}>` })) }
      : {}),
  };
  const body = requestBodyExample(doc, op);
  const request: Json = {
    method: method.toUpperCase(),
    header: [
      { key: 'accept', value: 'application/json' },
      ...(body === undefined ? [] : [{ key: 'content-type', value: 'application/json' }]),
    ],
    url,
    ...(typeof op.summary === 'string' ? { description: op.summary } : {}),
    ...(body === undefined
      ? {}
      : { body: { mode: 'raw', raw: JSON.stringify(body, null, 2), options: { raw: { language: 'json' } } } }),
  };
  const auth = authOf(op, path);
  if (auth) request.auth = auth;
  const name = typeof op.operationId === 'string' ? op.operationId : `${method.toUpperCase()} ${path}`;
  return {
    name: typeof op.summary === 'string' ? `${name} — ${op.summary}` : name,
    request,
    response: responseExamples(doc, op, name, request),
  };
}

function requestBodyExample(doc: Json, op: Json): unknown {
  const body = isObject(op.requestBody) ? op.requestBody : undefined;
  const content = body && isObject(body.content) ? body.content : undefined;
  const json = content && isObject(content['application/json']) ? content['application/json'] : undefined;
  if (!json) return undefined;
  return exampleOf(doc, json.schema, 0, true) ?? {};
}

/** One saved response per documented success status, its body generated from the schema. */
function responseExamples(doc: Json, op: Json, name: string, originalRequest: Json): Json[] {
  const responses = isObject(op.responses) ? op.responses : {};
  const out: Json[] = [];
  for (const [status, response] of Object.entries(responses)) {
    if (!/^2\d\d$/.test(status) || !isObject(response)) continue;
    const content = isObject(response.content) ? response.content : {};
    const json = isObject(content['application/json']) ? content['application/json'] : undefined;
    out.push({
      name: `${name}: ${status}`,
      originalRequest,
      code: Number(status),
      status: typeof response.description === 'string' ? response.description : status,
      _postman_previewlanguage: json ? 'json' : 'text',
      header: json ? [{ key: 'content-type', value: 'application/json' }] : [],
      body: json ? JSON.stringify(exampleOf(doc, json.schema, 0, false) ?? {}, null, 2) : '',
    });
  }
  return out;
}

function resolve(doc: Json, schema: unknown): Json | undefined {
  if (!isObject(schema)) return undefined;
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  let node: unknown = doc;
  for (const part of ref.replace(/^#\//, '').split('/')) node = isObject(node) ? node[part] : undefined;
  return isObject(node)
    ? { ...node, ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) }
    : undefined;
}

/**
 * An example value for a schema: its own example, default, const or first enum value, else one
 * made from its type. `requiredOnly` keeps request bodies to the properties a request must send.
 */
export function exampleOf(doc: Json, raw: unknown, depth: number, requiredOnly: boolean, name = ''): unknown {
  const ref = isObject(raw) && typeof raw.$ref === 'string' ? raw.$ref : '';
  if (ref.endsWith('/Duration')) return '1h';
  const schema = resolve(doc, raw);
  if (!schema || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (Array.isArray(schema.allOf)) {
    // Every branch holds: the example is the merge of the branches' examples.
    const parts = schema.allOf.map((b) => exampleOf(doc, b, depth + 1, requiredOnly));
    return parts.every(isObject) ? Object.assign({}, ...parts) : parts.find((p) => p !== undefined);
  }
  for (const key of ['anyOf', 'oneOf']) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    const branch = branches.map((b) => resolve(doc, b)).find((b) => b && b.type !== 'null');
    if (branch) return exampleOf(doc, branch, depth + 1, requiredOnly, name);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      let names = Object.keys(properties).filter((n) => !requiredOnly || required.includes(n));
      // A body with nothing required (a PATCH) shows its first two simple fields rather than nothing.
      if (requiredOnly && names.length === 0) {
        names = Object.keys(properties)
          .filter((n) => {
            const value = exampleOf(doc, properties[n], depth + 1, true, n);
            return value !== undefined && (typeof value !== 'object' || value === null);
          })
          .slice(0, 2);
      }
      return Object.fromEntries(names.map((n) => [n, exampleOf(doc, properties[n], depth + 1, requiredOnly, n)]));
    }
    case 'array': {
      const item = exampleOf(doc, schema.items, depth + 1, requiredOnly, name);
      return item === undefined ? [] : [item];
    }
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? Math.max(schema.minimum, 1) : 1;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'date-time') return '2030-01-01T00:00:00.000Z';
      return stringExample(schema, name);
    default:
      return undefined;
  }
}

/** A request of the scenario: JSON body, and a test script that also saves what later steps need. */
function step(name: string, method: string, path: string, body: unknown, tests: string[], auth?: Json): Json {
  const segments = path.split('/').filter(Boolean);
  return {
    name,
    event: [{ listen: 'test', script: { type: 'text/javascript', exec: tests } }],
    request: {
      method,
      header: body === undefined ? [] : [{ key: 'content-type', value: 'application/json' }],
      url: { raw: `{{baseUrl}}/${segments.join('/')}`, host: ['{{baseUrl}}'], path: segments },
      ...(body === undefined
        ? {}
        : { body: { mode: 'raw', raw: JSON.stringify(body, null, 2), options: { raw: { language: 'json' } } } }),
      ...(auth ? { auth } : {}),
    },
  };
}

/** Create consumer, key, verify, rotate with overlap, verify both, complete, old key refused. */
function scenarioFolder(): Json {
  const verify = (variable: string) => ({ key: `{{${variable}}}` });
  return {
    name: SCENARIO_FOLDER,
    description:
      'Runs with the root key in `rootKey` (scopes `*`): a consumer and its key, a rotation with an overlap ' +
      'window during which both keys verify, completion, and the old key refused as RETIRED.',
    item: [
      step('1. Create a consumer', 'POST', '/v1/consumers', { name: 'postman-{{$timestamp}}-{{$randomInt}}' }, [
        "pm.test('201 Created', () => pm.response.to.have.status(201));",
        "pm.collectionVariables.set('consumerId', pm.response.json().id);",
      ]),
      step('2. Issue a key', 'POST', '/v1/keys', { consumerId: '{{consumerId}}', name: 'production' }, [
        "pm.test('201 Created with the secret', () => { pm.response.to.have.status(201); pm.expect(pm.response.json().key).to.be.a('string'); });",
        "pm.collectionVariables.set('oldKey', pm.response.json().key);",
        "pm.collectionVariables.set('oldKeyId', pm.response.json().id);",
      ]),
      step('3. Verify the key', 'POST', '/v1/keys/verify', verify('oldKey'), [
        "pm.test('the key is valid', () => { pm.response.to.have.status(200); pm.expect(pm.response.json().code).to.eql('VALID'); });",
      ]),
      step('4. Rotate it with a one-hour overlap', 'POST', '/v1/keys/{{oldKeyId}}/rotate', { gracePeriod: '1h' }, [
        "pm.test('201 Created: successor and rotation', () => { pm.response.to.have.status(201); pm.expect(pm.response.json().rotation.state).to.eql('rolling'); });",
        "pm.collectionVariables.set('newKey', pm.response.json().key);",
        "pm.collectionVariables.set('newKeyId', pm.response.json().newKeyId);",
        "pm.collectionVariables.set('rotationId', pm.response.json().rotation.id);",
        "pm.collectionVariables.set('apiKey', pm.response.json().key);",
      ]),
      step('5. The old key still verifies, deprecated', 'POST', '/v1/keys/verify', verify('oldKey'), [
        "pm.test('old key valid during the overlap', () => { const b = pm.response.json(); pm.expect(b.code).to.eql('VALID'); pm.expect(b.deprecated).to.eql(true); pm.expect(b.keyId).to.eql(pm.collectionVariables.get('oldKeyId')); });",
      ]),
      step('6. The new key verifies', 'POST', '/v1/keys/verify', verify('newKey'), [
        "pm.test('new key valid', () => { const b = pm.response.json(); pm.expect(b.code).to.eql('VALID'); pm.expect(b.deprecated).to.eql(false); pm.expect(b.keyId).to.eql(pm.collectionVariables.get('newKeyId')); });",
      ]),
      step(
        '7. The consumer sees its new key (self-service, apiKey)',
        'GET',
        '/v1/self',
        undefined,
        [
          "pm.test('GET /v1/self with the new key', () => { pm.response.to.have.status(200); pm.expect(pm.response.json().key.id).to.eql(pm.collectionVariables.get('newKeyId')); });",
        ],
        API_KEY_AUTH,
      ),
      step('8. Complete the rotation', 'POST', '/v1/rotations/{{rotationId}}/complete', {}, [
        "pm.test('rotation completed', () => { pm.response.to.have.status(200); pm.expect(pm.response.json().state).to.eql('completed'); });",
      ]),
      step('9. The old key is refused', 'POST', '/v1/keys/verify', verify('oldKey'), [
        "pm.test('old key refused as RETIRED', () => { const b = pm.response.json(); pm.expect(b.valid).to.eql(false); pm.expect(b.code).to.eql('RETIRED'); });",
      ]),
      step('10. The new key still verifies', 'POST', '/v1/keys/verify', verify('newKey'), [
        "pm.test('new key valid after completion', () => pm.expect(pm.response.json().code).to.eql('VALID'));",
      ]),
    ],
  };
}

/** A string example from the property's name: ids and keys as placeholders or variables, URLs, names. */
function stringExample(schema: Json, name: string): string {
  if (schema.format === 'uri' || /url$/i.test(name)) return 'https://example.com/webhooks/keyroll';
  if (name === 'key') return '{{apiKey}}';
  if (/Id$/.test(name) || name === 'id') return `<${name}>`;
  if (name === 'events') return 'rotation.*';
  if (name === 'reason') return 'leaked';
  if (name === 'name') return 'example';
  return typeof schema.pattern === 'string' || name === '' ? 'string' : `<${name}>`;
}
