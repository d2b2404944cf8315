import type { Config, Problem } from './index.js';

/** Settings that parse alone but not together, in every environment: a choice without what it needs, or a harmful pair. */
export function settingConflicts(config: Config): Problem[] {
  const { auth, uploads } = config;
  const s3 = uploads.store === 's3';
  return Object.entries({
    S3_BUCKET: s3 && !uploads.s3.bucket && 'is required with UPLOAD_STORE=s3: the bucket attachments go to',
    S3_REGION:
      s3 &&
      !uploads.s3.region &&
      "is required with UPLOAD_STORE=s3: the bucket's region (us-east-1 for most S3-compatible servers)",
    // Without the requirement, an unverified account is a working one: the purge would erase people's data.
    UNVERIFIED_ACCOUNT_RETENTION_DAYS:
      auth.unverifiedAccountRetentionDays > 0 &&
      !auth.requireVerifiedEmail &&
      'purges accounts people can use: set REQUIRE_VERIFIED_EMAIL=true with it, or 0',
  }).flatMap(([variable, message]) => (message ? [{ variable, message }] : []));
}
