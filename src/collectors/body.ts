// Turns a stored response into JSON, or into a recorded reason why it cannot be: HTTP error, HTML page, truncation, not JSON.
export type BodyRejection = 'http_error' | 'body_too_large' | 'empty_body' | 'html_error_page' | 'not_json';

export type DecodedBody = { ok: true; json: unknown } | { ok: false; code: BodyRejection; detail: string };

export interface ReceivedBody {
  status: number | null;
  contentType: string | null;
  body: Buffer;
  truncated: boolean;
}

const SNIPPET = 120;

const flatten = (text: string): string => text.replace(/\s+/g, ' ').trim();

function snippet(text: string): string {
  const flat = flatten(text);
  return flat.length > SNIPPET ? `${flat.slice(0, SNIPPET)}...` : flat;
}

export function decodeJsonBody(r: ReceivedBody): DecodedBody {
  const text = r.body.toString('utf8');
  if (r.status !== null && (r.status < 200 || r.status > 299)) {
    return { ok: false, code: 'http_error', detail: `HTTP ${r.status}: ${snippet(text) || '(empty body)'}` };
  }
  if (r.truncated) {
    return { ok: false, code: 'body_too_large', detail: `body exceeded the size cap; the first ${r.body.byteLength} bytes are stored` };
  }
  if (text.trim() === '') return { ok: false, code: 'empty_body', detail: 'the response body is empty' };
  const looksHtml = /^\s*</.test(text) || (r.contentType ?? '').toLowerCase().includes('text/html');
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch (err) {
    if (looksHtml) return { ok: false, code: 'html_error_page', detail: `expected JSON, got an HTML page: ${snippet(text)}` };
    return { ok: false, code: 'not_json', detail: `body is not valid JSON (${flatten((err as Error).message)}): ${snippet(text)}` };
  }
}
