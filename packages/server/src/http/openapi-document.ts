/**
 * Finishing touches on the OpenAPI document @fastify/swagger generates from the route schemas, made
 * in one place rather than in every route: stable operationIds, problem+json error bodies, optional
 * bodies that say so, and shared schemas referenced as components instead of copied inline.
 */

type JsonObject = Record<string, unknown>;

/** What {@link finishOpenApiDocument} needs to know beyond the document. */
export interface OpenApiFinish {
  /** operationId of every operation, keyed by `METHOD /path/{param}`. */
  operationIds: Readonly<Record<string, string>>;
  /** Names of `components.schemas` entries whose inline copies become `$ref`s. */
  shared: readonly string[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PROBLEM_TYPE = 'application/problem+json';

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** JSON with sorted keys: equal for structurally equal schemas. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function without(schema: JsonObject, ...keys: string[]): JsonObject {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !keys.includes(k)));
}

/** Every operation of the document with its `METHOD /path` key. */
function operations(doc: JsonObject): [string, JsonObject][] {
  const paths = isObject(doc.paths) ? doc.paths : {};
  return Object.entries(paths).flatMap(([path, item]) =>
    isObject(item)
      ? METHODS.flatMap((m) => {
          const op = item[m];
          return isObject(op) ? [[`${m.toUpperCase()} ${path}`, op] satisfies [string, JsonObject]] : [];
        })
      : [],
  );
}

/** Error responses are RFC 9457 problems: `application/problem+json`, not `application/json`. */
function problemMediaTypes(op: JsonObject): void {
  if (!isObject(op.responses)) return;
  for (const [status, response] of Object.entries(op.responses)) {
    const isError = status === 'default' || /^[45]/.test(status);
    if (!isError || !isObject(response) || !isObject(response.content)) continue;
    const json = response.content['application/json'];
    if (json === undefined) continue;
    response.content = { [PROBLEM_TYPE]: json };
  }
}

/** The schema without its `null` alternative, or `null` when it has none. */
function withoutNull(schema: JsonObject): JsonObject | null {
  if (Array.isArray(schema.type) && schema.type.includes('null')) {
    const rest = schema.type.filter((t) => t !== 'null');
    return { ...schema, type: rest.length === 1 ? rest[0] : rest };
  }
  for (const key of ['anyOf', 'oneOf']) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    const isNull = (b: unknown) => isObject(b) && b.type === 'null' && Object.keys(b).length === 1;
    if (!branches.some(isNull)) continue;
    const rest = branches.filter((b) => !isNull(b));
    const only = rest[0];
    return rest.length === 1 && isObject(only) ? { ...without(schema, key), ...only } : { ...schema, [key]: rest };
  }
  return null;
}

/** A body schema that accepts `null` accepts no body at all: say it is optional, and drop the `null`. */
function optionalBodies(op: JsonObject): void {
  const body = op.requestBody;
  if (!isObject(body) || !isObject(body.content)) return;
  for (const media of Object.values(body.content)) {
    if (!isObject(media) || !isObject(media.schema)) continue;
    const nonNull = withoutNull(media.schema);
    if (nonNull === null) continue;
    media.schema = nonNull;
    body.required = false;
  }
}

interface Shared {
  ref: string;
  schema: JsonObject;
  /** The schema's canonical JSON without its description. */
  key: string;
}

/** A `$ref` to a shared schema, keeping the copy's own description where it differs. */
function refTo(shared: Shared, copy: JsonObject): JsonObject {
  const description = copy.description;
  return description !== undefined && description !== shared.schema.description
    ? { $ref: shared.ref, description }
    : { $ref: shared.ref };
}

/** The schema as a reference to a shared one (itself, nullable, or extended by more properties), if it is one. */
function asReference(schema: JsonObject, candidates: readonly Shared[]): JsonObject | null {
  const key = canonical(without(schema, 'description'));
  const nonNull = withoutNull(schema);
  const nonNullKey = nonNull && canonical(without(nonNull, 'description'));
  for (const shared of candidates) {
    if (key === shared.key) return refTo(shared, schema);
    if (nonNullKey === shared.key) {
      const { $ref, description } = refTo(shared, schema);
      return { anyOf: [{ $ref }, { type: 'null' }], ...(description !== undefined && { description }) };
    }
    const extension = extensionOf(schema, shared);
    if (extension) return { allOf: [{ $ref: shared.ref }, extension] };
  }
  return null;
}

/** The properties an object schema adds to a shared object schema it otherwise repeats, if it does. */
function extensionOf(schema: JsonObject, shared: Shared): JsonObject | null {
  const base = shared.schema;
  if (schema.type !== 'object' || base.type !== 'object') return null;
  if (!isObject(schema.properties) || !isObject(base.properties)) return null;
  const rest = (s: JsonObject) =>
    canonical(without(s, 'properties', 'required', 'description', 'additionalProperties'));
  if (rest(schema) !== rest(base) || base.additionalProperties !== undefined) return null;
  const props = schema.properties;
  const baseProps = base.properties;
  if (!Object.entries(baseProps).every(([k, v]) => k in props && canonical(props[k]) === canonical(v))) return null;
  const required = Array.isArray(schema.required) ? schema.required : [];
  const baseRequired = Array.isArray(base.required) ? base.required : [];
  if (!baseRequired.every((r) => required.includes(r))) return null;
  const extra = Object.fromEntries(Object.entries(props).filter(([k]) => !(k in baseProps)));
  if (Object.keys(extra).length === 0) return null;
  const extraRequired = required.filter((r) => typeof r === 'string' && r in extra);
  return {
    type: 'object',
    properties: extra,
    ...(extraRequired.length > 0 && { required: extraRequired }),
    ...(schema.additionalProperties !== undefined && { additionalProperties: schema.additionalProperties }),
  };
}

/** Replaces, anywhere below `node`, every copy of a shared schema with a reference to it. */
function referenceShared(node: unknown, candidates: readonly Shared[], root = true): unknown {
  if (Array.isArray(node)) return node.map((v) => referenceShared(v, candidates, false));
  if (!isObject(node)) return node;
  const ref = root ? null : asReference(node, candidates);
  if (ref) {
    // An extension's own properties may hold shared schemas too.
    const [, extension] = Array.isArray(ref.allOf) ? ref.allOf : [];
    if (isObject(extension)) extension.properties = referenceShared(extension.properties, candidates, true);
    return ref;
  }
  for (const [k, v] of Object.entries(node)) {
    // `properties` and similar maps are not schemas themselves, but their values are.
    node[k] = referenceShared(v, candidates, k === 'properties' || k === 'patternProperties');
  }
  return node;
}

/**
 * Finishes a generated OpenAPI 3.1 document in place: sets each operation's operationId from the
 * table, marks error bodies `application/problem+json`, marks bodies that may be absent as
 * optional, and replaces inline copies of shared component schemas with `$ref`s.
 */
export function finishOpenApiDocument(doc: object, finish: OpenApiFinish): void {
  if (!isObject(doc)) return;
  for (const [key, op] of operations(doc)) {
    const id = finish.operationIds[key];
    if (id !== undefined) op.operationId = id;
    problemMediaTypes(op);
    optionalBodies(op);
  }
  const components = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
  const candidates: Shared[] = finish.shared
    .flatMap((name) => {
      const schema = components[name];
      return isObject(schema)
        ? [{ ref: `#/components/schemas/${name}`, schema, key: canonical(without(schema, 'description')) }]
        : [];
    })
    // The largest first, so that a key is referenced as a Key rather than as a bag of DateTimes.
    .sort((a, b) => b.key.length - a.key.length);
  doc.paths = referenceShared(doc.paths, candidates, true);
  for (const [name, schema] of Object.entries(components)) {
    components[name] = referenceShared(schema, candidates, true);
  }
}
