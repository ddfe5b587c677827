/**
 * Module customization hooks (https://nodejs.org/docs/latest-v20.x/api/module.html#customization-hooks)
 * that append every module URL the process resolves, one a line, to the file named by
 * `NBTRIGGER_MODULE_TRACE`: a test reads which packages a command loaded. Registered by
 * test/helpers/module-trace.ts (`node --import`).
 * @module
 */
import { appendFileSync } from 'node:fs';

const file = process.env.NBTRIGGER_MODULE_TRACE;

type Resolved = { url: string };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  const out = await next(specifier, context);
  if (file) appendFileSync(file, `${out.url}\n`);
  return out;
}
