// RFC 9457 problem+json responses: every error the API gives names what was wrong in `detail`, never a stack trace.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: { location: string; message: string }[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A problem+json response, typed as the routes declare their error responses (a header sets the media type). */
export function problem<S extends ContentfulStatusCode>(c: Context, status: S, detail: string, extra: Partial<Problem> = {}) {
  const body: Problem = {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: c.req.path,
    ...extra,
  };
  return c.json(body, status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
}

/** A zod validation failure of request parameters, as one readable detail plus one entry per problem. */
export function validationProblem(c: Context, target: string, error: ZodError): Response {
  const errors = error.issues.map((i) => {
    const where = i.path.length ? `${target}.${i.path.join('.')}` : target;
    const message = i.code === 'unrecognized_keys' ? `unknown parameter(s): ${i.keys.join(', ')}` : i.message;
    return { location: where, message };
  });
  return problem(c, 400, errors.map((e) => `${e.location}: ${e.message}`).join('; '), { errors });
}
