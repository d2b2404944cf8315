import type { Check } from '../types.js';
import { envFilePermissions, refusals, secretsOutOfProcessEnvironment } from './configuration.js';
import { migrations, poolSize, replication, runtimeRole } from './database.js';
import { backupFreshness, clockSync, diskFree, firewall, systemdExposure } from './host.js';
import { otlp, sentry } from './integrations.js';
import {
  certificateExpiry,
  healthEndpoints,
  hsts,
  httpsRedirect,
  metricsPrivate,
  securityHeaders,
  serverTokens,
  tlsVersion,
} from './public-url.js';

/** Every check, in report order. */
export const CHECKS: Check[] = [
  refusals,
  envFilePermissions,
  secretsOutOfProcessEnvironment,
  runtimeRole,
  poolSize,
  migrations,
  replication,
  httpsRedirect,
  hsts,
  securityHeaders,
  tlsVersion,
  certificateExpiry,
  metricsPrivate,
  serverTokens,
  healthEndpoints,
  systemdExposure,
  diskFree,
  clockSync,
  backupFreshness,
  firewall,
  sentry,
  otlp,
];
