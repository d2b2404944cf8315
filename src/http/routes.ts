import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { type FieldError, notFound, Problem, type ProblemType, unprocessable } from './problem.js';

export type Method = 'get' | 'post' | 'patch' | 'delete';
export type Access = 'none' | 'required' | 'admin';

/** The middleware each access level runs before validation: authentication, then the role check. */
export type Guards = Record<Exclude<Access, 'none'>, RequestHandler[]>;

export interface ResponseSpec {
  description: string;
  /** The JSON body of a success. */
  schema?: z.ZodType;
  /** The problem types of a failure this route raises itself (the common ones are added for every route). */
  problems?: ProblemType[];
  /** A success whose body is a file of one of these types, not JSON. */
  binary?: readonly string[];
  /** Headers the answer carries, each with what it means (a redirect's Location). */
  headers?: Record<string, string>;
}

export interface Input<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params: z.output<P>;
  query: z.output<Q>;
  body: z.output<B>;
}

/**
 * One endpoint, read left to right: path, who may call it, what it accepts, what it does. The same zod
 * schemas validate the request, type the handler and describe the endpoint in the OpenAPI document.
 */
export interface Route<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  path: string;
  /** The operation's stable name in the OpenAPI document (what generated clients call it). */
  operationId: string;
  summary: string;
  tag: string;
  /** Who may call it: anyone, any signed-in user, or a signed-in admin (checked in one place, mountRoutes). */
  auth: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** The body is a file the handler streams itself (one of these types, at most maxBytes), not JSON. */
  upload?: { contentTypes: readonly string[]; maxBytes: number };
  status: number;
  responses: Record<number, ResponseSpec>;
  handle: (input: Input<P, Q, B>, req: Request, res: Response) => Promise<unknown> | unknown;
}

export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  spec: Route<P, Q, B>,
): Route {
  return spec as unknown as Route;
}

/** One entry per bad field; an unknown key is named as a field of its own, so a client sees which one. */
function fieldErrors(location: string, error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [location, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'is not a known field' }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
}

/** Validates params, query and body; a malformed path parameter is a resource that does not exist (404). */
function validate(spec: Route) {
  return (req: Request): Input<z.ZodType, z.ZodType, z.ZodType> => {
    const params = spec.params ? spec.params.safeParse(req.params) : undefined;
    if (params && !params.success) throw notFound();
    const query = spec.query?.safeParse({ ...req.query });
    const body = spec.body?.safeParse(req.body ?? {});
    const errors = [
      ...(query && !query.success ? fieldErrors('query', query.error) : []),
      ...(body && !body.success ? fieldErrors('body', body.error) : []),
    ];
    if (errors.length > 0) throw unprocessable(errors);
    return { params: params?.data, query: query?.data, body: body?.data };
  };
}

/**
 * Mounts every route, then answers other methods on a known path with 405 and an Allow header, so a client
 * learns it used the wrong verb rather than a wrong URL; OPTIONS gets the Allow header with 204.
 */
export function mountRoutes(router: Router, routes: Route[], guards: Guards): void {
  const methodsByPath = new Map<string, string[]>();
  for (const spec of routes) {
    const parse = validate(spec);
    const handler = async (req: Request, res: Response, _next: NextFunction) => {
      const input = parse(req);
      await spec.handle(input, req, res);
    };
    router[spec.method](spec.path, ...(spec.auth === 'none' ? [] : guards[spec.auth]), handler);
    const methods = methodsByPath.get(spec.path) ?? [];
    methods.push(spec.method.toUpperCase(), ...(spec.method === 'get' ? ['HEAD'] : []));
    methodsByPath.set(spec.path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    router.all(path, (req, res, next) => {
      // OPTIONS is listed in Allow, so it is answered (CORS preflights from allowed origins end earlier).
      if (req.method === 'OPTIONS') return void res.set('Allow', allow).status(204).end();
      next(
        new Problem('method-not-allowed', `${req.method} is not supported here; use ${allow}.`, {
          headers: { Allow: allow },
        }),
      );
    });
  }
}
