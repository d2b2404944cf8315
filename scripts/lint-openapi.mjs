// Validates and lints an OpenAPI document with Redocly's rules (@redocly/openapi-core, the engine of
// `redocly lint`): the structural validation of OpenAPI 3.1 plus the `recommended-strict` ruleset, in which
// every rule is an error. Prints one JSON line {errors, warnings, problems} and exits 1 on any problem.
// Usage: node scripts/lint-openapi.mjs openapi.json
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/lint-openapi.mjs FILE');
  process.exit(2);
}
const config = await createConfig({ extends: ['recommended-strict'] });
const problems = await lintFromString({
  source: readFileSync(file, 'utf8'),
  absoluteRef: resolve(file),
  config,
});
const summary = problems.map((p) => ({
  rule: p.ruleId,
  severity: p.severity,
  message: p.message,
  where: p.location.map((l) => l.pointer).join(' '),
}));
const errors = summary.filter((p) => p.severity === 'error').length;
process.stdout.write(`${JSON.stringify({ errors, warnings: summary.length - errors, problems: summary })}\n`);
process.exit(summary.length === 0 ? 0 : 1);
