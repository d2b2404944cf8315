import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** A JSON Schema as the OpenAPI document writes it (a loose view: only what the fuzzer reads). */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  minProperties?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  $ref?: string;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  operationId: string;
  method: string;
  /** The path template, e.g. /api/v1/notes/{id} */
  path: string;
  parameters: Parameter[];
  body?: Schema;
  /** A body that is a file, not JSON: the media types it may have. */
  binary?: string[];
  /** Public operations have security: [] */
  authenticated: boolean;
  statuses: Set<number>;
  /** Validates a response body of a status (a file answer: its Content-Type). */
  validate(status: number, body: unknown, contentType?: string): string | undefined;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components: { schemas: Record<string, Schema> };
}

interface RawOperation {
  operationId: string;
  security: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/** Rewrites the document's local component references to ids the validator knows. */
function localRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(localRefs);
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([key, value]) => [
        key,
        key === '$ref' && typeof value === 'string'
          ? value.replace('#/components/schemas/', 'component:')
          : localRefs(value),
      ]),
    );
  }
  return schema;
}

const isJson = (type: string) => /^application\/([\w.-]+\+)?json$/.test(type);

/** Every operation of an OpenAPI 3.1 document, with validators for its documented responses (ajv, draft 2020-12). */
export function readOperations(document: OpenApiDocument): Operation[] {
  const ajv = new Ajv2020({ strict: true, allErrors: false });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(document.components.schemas))
    ajv.addSchema(localRefs(schema) as object, `component:${name}`);

  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const validators = new Map<number, { type: string; files?: string[]; validate?: ValidateFunction }>();
      for (const [status, response] of Object.entries(raw.responses)) {
        const types = Object.keys(response.content ?? {});
        const [type, media] = Object.entries(response.content ?? {})[0] ?? ['', undefined];
        if (types.length > 0 && !types.some(isJson)) {
          validators.set(Number(status), { type, files: types });
          continue;
        }
        validators.set(Number(status), {
          type,
          ...(media && { validate: ajv.compile(localRefs(media.schema) as object) }),
        });
      }
      const requestTypes = Object.keys(raw.requestBody?.content ?? {});
      operations.push({
        operationId: raw.operationId,
        method: method.toUpperCase(),
        path,
        parameters: raw.parameters ?? [],
        ...(raw.requestBody?.content['application/json'] && {
          body: raw.requestBody.content['application/json'].schema,
        }),
        ...(requestTypes.length > 0 && !requestTypes.some(isJson) && { binary: requestTypes }),
        authenticated: raw.security.length > 0,
        statuses: new Set(validators.keys()),
        validate(status, body, contentType) {
          const expected = validators.get(status);
          if (!expected) return `status ${status} is not documented for ${raw.operationId}`;
          if (expected.files) {
            const type = (contentType ?? '').split(';')[0]!.trim();
            return expected.files.includes(type)
              ? undefined
              : `${status} as ${type} is not a documented file type`;
          }
          if (!expected.validate) return body === undefined ? undefined : `${status} should have no body`;
          if (expected.validate(body)) return undefined;
          return `${status} body breaks its schema: ${ajv.errorsText(expected.validate.errors)}`;
        },
      });
    }
  }
  return operations;
}
