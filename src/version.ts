import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read once: package.json sits one level above both src/ (tsx) and dist/ (built). */
export const version: string = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
