// Response descriptions shared by every route module of the API (OpenAPI metadata, not behaviour).
import * as s from './schemas.js';

export const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: s.problemSchema } } });
export const errors = { 400: problemResponse('bad parameter'), 404: problemResponse('not found') };
export const json = <T>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
