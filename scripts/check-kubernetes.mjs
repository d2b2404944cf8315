// Validates every manifest in kubernetes/ against the Kubernetes OpenAPI schemas, offline (OPS-7).
// kubernetes-models checks types and required fields; the checks below add what it does not: probes on
// every container of a Deployment, non-root, no privilege escalation, and no secret values inline.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const dir = new URL('../kubernetes/', import.meta.url).pathname;
const problems = [];
let checked = 0;

async function modelFor(apiVersion, kind) {
  const module = await import(`kubernetes-models/${apiVersion.includes('/') ? apiVersion : `v1`}`);
  const Model = module[kind];
  if (!Model) throw new Error(`no model for ${apiVersion} ${kind}`);
  return Model;
}

function checkWorkload(file, doc) {
  const spec = doc.kind === 'Job' ? doc.spec.template.spec : doc.spec?.template?.spec;
  if (!spec) return;
  if (spec.securityContext?.runAsNonRoot !== true)
    problems.push(`${file}: ${doc.kind} must set runAsNonRoot`);
  for (const container of spec.containers) {
    const where = `${file}: ${doc.kind} container ${container.name}`;
    if (container.securityContext?.allowPrivilegeEscalation !== false)
      problems.push(`${where}: allowPrivilegeEscalation must be false`);
    if (container.securityContext?.readOnlyRootFilesystem !== true)
      problems.push(`${where}: root filesystem must be read-only`);
    if (!container.resources?.limits?.memory) problems.push(`${where}: needs a memory limit`);
    if (doc.kind === 'Deployment') {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        if (!container[probe]) problems.push(`${where}: missing ${probe}`);
      }
    }
    for (const variable of container.env ?? []) {
      // NAME_FILE holds a path to a mounted secret, which is the right way; only a literal value leaks.
      const holdsSecret =
        /SECRET|PASSWORD|DATABASE_URL$|DSN$/.test(variable.name) && !variable.name.endsWith('_FILE');
      if (holdsSecret && variable.value) {
        problems.push(`${where}: ${variable.name} must come from a Secret, not a literal`);
      }
    }
  }
}

for (const file of readdirSync(dir).filter(
  (name) => name.endsWith('.yaml') && name !== 'kustomization.yaml',
)) {
  for (const parsed of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
    if (parsed.errors.length > 0) {
      problems.push(`${file}: ${parsed.errors[0].message}`);
      continue;
    }
    const doc = parsed.toJS();
    try {
      const Model = await modelFor(doc.apiVersion, doc.kind);
      new Model(doc).validate();
      checkWorkload(file, doc);
      checked++;
    } catch (error) {
      problems.push(`${file}: ${doc.kind}: ${error.message}`);
    }
  }
}

const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0].toJS();
for (const resource of kustomization.resources) {
  if (!readdirSync(dir).includes(resource)) problems.push(`kustomization.yaml: ${resource} does not exist`);
}

if (problems.length > 0) {
  console.error(`kubernetes: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.error(
  `kubernetes: ${checked} manifests valid (schemas, probes, non-root, read-only, limits, no inline secrets)`,
);
