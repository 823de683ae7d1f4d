/**
 * Checks real responses against the OpenAPI document with a JSON Schema 2020-12 validator (ajv),
 * for tests: the operation is found by method and path template, the response by status and
 * media type; an undocumented status or media type is a failure, as is a body the schema refuses.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from './document';

export interface Checked {
  operation: string;
  status: number;
  errors: string[];
}

/** A catch-all operation's last parameter ({path}) stands for one or more segments. */
function templateMatches(template: string, pathname: string, catchAll: boolean): boolean {
  const t = template.split('/').filter(Boolean);
  const p = pathname.split('/').filter(Boolean);
  const lengthOk = catchAll && /^\{\w+\}$/.test(t.at(-1) ?? '') ? p.length >= t.length : t.length === p.length;
  return lengthOk && t.every((segment, i) => /^\{\w+\}$/.test(segment) || segment === p[i]);
}

export function createResponseValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();
  const exercised = new Set<string>();

  /** The operation for a method and concrete path: exact templates win over ones with parameters, catch-alls last. */
  function findOperation(method: string, pathname: string): { path: string; operation: Record<string, unknown> } | undefined {
    method0 = method.toLowerCase();
    const candidates = Object.keys(doc.paths)
      .filter((template) => {
        const op = doc.paths[template]![method.toLowerCase()];
        return op && templateMatches(template, pathname, op['x-catch-all'] === true);
      })
      .sort((a, b) => rank(a) - rank(b));
    const path = candidates[0];
    return path ? { path, operation: doc.paths[path]![method.toLowerCase()] as Record<string, unknown> } : undefined;
  }

  /** As Next.js routes: more literal segments first, catch-alls after the rest. */
  function rank(template: string): number {
    const literals = template.split('/').filter((s) => s && !s.startsWith('{')).length;
    const params = (template.match(/\{/g) ?? []).length;
    return (doc.paths[template]![method0]?.['x-catch-all'] === true ? 1000 : 0) - literals * 10 + params;
  }
  let method0 = 'get';

  function schemaValidator(key: string, schema: object): ValidateFunction {
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(schema);
      compiled.set(key, validate);
    }
    return validate;
  }

  /** Validates one response (its body already read); returns the problems, none when it conforms. */
  function check(method: string, url: string, status: number, contentType: string | null, body: unknown, headers?: Headers): Checked {
    const pathname = new URL(url, 'http://x').pathname;
    const found = findOperation(method, pathname);
    if (!found) return { operation: `${method} ${pathname}`, status, errors: [`no documented operation for ${method} ${pathname}`] };
    const operation = `${method.toUpperCase()} ${found.path}`;
    const responses = found.operation.responses as Record<string, { content?: Record<string, { schema?: object }>; headers?: Record<string, { required?: boolean }> }>;
    const response = responses[String(status)];
    if (!response) return { operation, status, errors: [`status ${status} is not documented for ${operation}`] };
    const missingHeaders = headers ? Object.entries(response.headers ?? {}).filter(([name, h]) => h.required && !headers.has(name)) : [];
    if (missingHeaders.length) return { operation, status, errors: missingHeaders.map(([name]) => `documented header ${name} is missing`) };
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const media = response.content?.[type];
    if (response.content && !media) return { operation, status, errors: [`${type || 'no content type'} is not documented for ${operation} ${status} (${Object.keys(response.content).join(', ')})`] };
    exercised.add(`${operation} ${status}`);
    if (!media?.schema) return { operation, status, errors: [] };
    const validate = schemaValidator(`${operation} ${status} ${type}`, media.schema);
    const ok = validate(body);
    return { operation, status, errors: ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`) };
  }

  return { check, findOperation, exercised, compileAll: () => compileAllSchemas(doc, schemaValidator) };
}

/** Compiles every schema in the document (strict mode: unknown keywords or malformed schemas throw). */
function compileAllSchemas(doc: OpenApiDocument, compile: (key: string, schema: object) => ValidateFunction): number {
  let n = 0;
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const op = operation as { responses?: Record<string, { content?: Record<string, { schema?: object }> }>; parameters?: Array<{ schema: object }>; requestBody?: { content: Record<string, { schema?: object }> } };
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (!media.schema) continue;
          compile(`${method.toUpperCase()} ${path} ${status} ${type}`, media.schema);
          n++;
        }
      }
      for (const p of op.parameters ?? []) {
        compile(`param ${JSON.stringify(p)}`, p.schema);
        n++;
      }
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        if (!media.schema) continue;
        compile(`body ${method} ${path}`, media.schema);
        n++;
      }
    }
  }
  return n;
}
