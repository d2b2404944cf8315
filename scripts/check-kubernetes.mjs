// Validates every manifest in kubernetes/ (or the folder given as the first argument) against the Kubernetes
// OpenAPI schemas, offline. kubernetes-models checks types and required fields; the checks below add what it
// does not: probes on every container of a Deployment, non-root, no privilege escalation, no secret values
// inline, and that the autoscaler, the disruption budget, the spread and the database agree (docs/scaling.md).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const dir = process.argv[2] ? resolve(process.argv[2]) : new URL('../kubernetes/', import.meta.url).pathname;
const problems = [];
const workloads = [];
let checked = 0;

/**
 * PostgreSQL's defaults (max_connections 100, superuser_reserved_connections 3) less the headroom that
 * src/db/pool-sizing.ts keeps for psql, migrations and backups (5). Raise it with the database, or put a pooler
 * in front and count its pool instead.
 */
const DATABASE_CONNECTION_BUDGET = 100 - 3 - 5;
/** The app's defaults (src/config/settings.ts) when a Deployment does not set them. */
const APP_DEFAULTS = { DATABASE_POOL_MAX: 10, SHUTDOWN_TIMEOUT_MS: 10_000 };

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
    workloads.push({ file, doc });
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

const labelsMatch = (selector, labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels?.[key] === value) &&
  Object.keys(selector?.matchLabels ?? {}).length > 0;
const envOf = (container, name) => container.env?.find((variable) => variable.name === name)?.value;

/** The pause a preStop hook makes, in seconds: `sleep N` or node's `setTimeout(..., MS)`; 0 without one. */
function preStopSeconds(container) {
  const hook = container.lifecycle?.preStop;
  if (!hook) return 0;
  if (hook.sleep?.seconds !== undefined) return hook.sleep.seconds;
  const command = (hook.exec?.command ?? []).join(' ');
  const timeout = /setTimeout\([^,]*,\s*(\d+)\s*\)/.exec(command);
  if (timeout) return Number(timeout[1]) / 1000;
  const sleep = /\bsleep\s+(\d+)/.exec(command);
  if (sleep) return Number(sleep[1]);
  return Number.NaN;
}

/** Autoscaler, disruption budget, spread, shutdown and database connections, read together. */
function checkScaling() {
  const of = (kind) => workloads.filter(({ doc }) => doc?.kind === kind);
  for (const { file, doc } of of('Deployment')) {
    const where = `${file}: Deployment ${doc.metadata.name}`;
    const pod = doc.spec.template;
    const labels = pod.metadata?.labels;
    const hpa = of('HorizontalPodAutoscaler').find(
      ({ doc: h }) =>
        h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === doc.metadata.name,
    );
    if (!hpa) problems.push(`${where}: no HorizontalPodAutoscaler scales it`);
    const minReplicas = hpa?.doc.spec.minReplicas ?? 1;
    const maxReplicas = hpa?.doc.spec.maxReplicas ?? doc.spec.replicas ?? 1;
    const replicas = doc.spec.replicas ?? minReplicas;
    if (hpa) {
      const at = `${hpa.file}: HorizontalPodAutoscaler ${hpa.doc.metadata.name}`;
      if (minReplicas < 2)
        problems.push(`${at}: minReplicas must be at least 2 (one pod is a single point of failure)`);
      if (maxReplicas <= minReplicas) problems.push(`${at}: maxReplicas must be above minReplicas`);
      if (replicas < minReplicas || replicas > maxReplicas)
        problems.push(
          `${where}: replicas ${replicas} outside the autoscaler's ${minReplicas}..${maxReplicas}`,
        );
      for (const metric of hpa.doc.spec.metrics ?? []) {
        const resource = metric.resource?.name;
        if (metric.type !== 'Resource' || !resource) continue;
        for (const container of pod.spec.containers)
          if (!container.resources?.requests?.[resource])
            problems.push(
              `${where} container ${container.name}: the autoscaler scales on ${resource}, which needs a ${resource} request`,
            );
      }
    }
    const pdb = of('PodDisruptionBudget').find(({ doc: p }) => labelsMatch(p.spec.selector, labels));
    if (!pdb) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
    else {
      const at = `${pdb.file}: PodDisruptionBudget ${pdb.doc.metadata.name}`;
      const { minAvailable, maxUnavailable } = pdb.doc.spec;
      const floor = Math.min(replicas, minReplicas);
      if (typeof minAvailable === 'number' && (minAvailable < 1 || minAvailable >= floor))
        problems.push(
          `${at}: minAvailable ${minAvailable} must be at least 1 and below the ${floor} pods it may have (else no drain can evict one)`,
        );
      if (typeof maxUnavailable === 'number' && (maxUnavailable < 1 || maxUnavailable >= floor))
        problems.push(`${at}: maxUnavailable ${maxUnavailable} must be at least 1 and below ${floor}`);
      if (typeof minAvailable === 'string' || typeof maxUnavailable === 'string')
        problems.push(`${at}: use a number of pods, so this check can compare it with the replicas`);
    }
    const spread = pod.spec.topologySpreadConstraints ?? [];
    for (const key of ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']) {
      const constraint = spread.find((c) => c.topologyKey === key);
      if (!constraint) problems.push(`${where}: pods must be spread over ${key} (topologySpreadConstraints)`);
      else if (!labelsMatch(constraint.labelSelector, labels))
        problems.push(`${where}: the ${key} spread must select the Deployment's own pods`);
    }
    for (const container of pod.spec.containers) {
      const at = `${where} container ${container.name}`;
      const workers = Number(envOf(container, 'WEB_CONCURRENCY') ?? Number.NaN);
      const poolMax = Number(envOf(container, 'DATABASE_POOL_MAX') ?? APP_DEFAULTS.DATABASE_POOL_MAX);
      if (!Number.isInteger(workers))
        problems.push(`${at}: set WEB_CONCURRENCY, or the pod's CPU count decides it`);
      else if (maxReplicas * workers * poolMax > DATABASE_CONNECTION_BUDGET)
        problems.push(
          `${at}: ${maxReplicas} replicas x ${workers} workers x pool ${poolMax} = ${maxReplicas * workers * poolMax} database connections, over the ${DATABASE_CONNECTION_BUDGET} PostgreSQL allows (add a pooler or lower maxReplicas)`,
        );
      const shutdown =
        Number(envOf(container, 'SHUTDOWN_TIMEOUT_MS') ?? APP_DEFAULTS.SHUTDOWN_TIMEOUT_MS) / 1000;
      const pause = preStopSeconds(container);
      const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
      if (Number.isNaN(pause)) problems.push(`${at}: cannot read how long its preStop hook pauses`);
      else if (grace <= pause + shutdown)
        problems.push(
          `${at}: terminationGracePeriodSeconds ${grace} must exceed the preStop pause ${pause} s + SHUTDOWN_TIMEOUT_MS ${shutdown} s`,
        );
      if (container.readinessProbe && pause < 1)
        problems.push(`${at}: without a preStop pause the pod drains before the Service stops sending to it`);
    }
  }
}
checkScaling();

const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0].toJS();
for (const resource of kustomization.resources) {
  if (!readdirSync(dir).includes(resource)) problems.push(`kustomization.yaml: ${resource} does not exist`);
}

if (problems.length > 0) {
  console.error(`kubernetes: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.error(
  `kubernetes: ${checked} manifests valid (schemas, probes, non-root, read-only, limits, no inline secrets; scaling rules: autoscaler, disruption budget, spread, shutdown, database connections)`,
);
