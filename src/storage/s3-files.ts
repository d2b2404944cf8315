import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { create as contentDisposition } from 'content-disposition';
import { assertFileKey, type FileStore, FileStoreUnavailable, measuring } from './files.js';

export interface S3Settings {
  bucket?: string;
  region?: string;
  /** An S3-compatible server's URL; unset: AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  downloadUrlTtlSeconds: number;
}

/**
 * The SDK sends a CRC32 checksum with DeleteObjects since 3.729; S3 accepts it, but S3-compatible servers that
 * predate it (OpenStack Swift's s3api among them) refuse the request without the Content-MD5 S3 used to
 * require (aws/aws-sdk-js-v3#6810). Adding it costs one hash of a small XML body.
 */
function addContentMd5ToDeleteObjects(client: S3Client) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const { body, headers } = request;
      if (
        context.commandName === 'DeleteObjectsCommand' &&
        headers &&
        (typeof body === 'string' || body instanceof Uint8Array)
      )
        headers['content-md5'] = createHash('md5').update(body).digest('base64');
      return next(args);
    },
    { step: 'build', name: 'addContentMd5ToDeleteObjects' },
  );
}

const NETWORK_ERROR =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)\b/;

/**
 * An error the SDK gave up on after its retries, as FileStoreUnavailable when waiting may cure it (the server
 * unreachable, failing or throttling); anything else (no such bucket, access denied, no credentials) is a
 * misconfiguration and stays as it is, a 500 that is logged. Duck-typed, and the socket error's code is also
 * looked for in the message: the SDK rewraps an error from another realm (a test runner's) as text.
 */
function classified(error: unknown): unknown {
  const { code, name, message, $fault, $metadata } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const unreachable = NETWORK_ERROR.test(`${code} ${message}`) || name === 'TimeoutError';
  const failing = $fault === 'server' || ($metadata?.httpStatusCode ?? 0) >= 500 || name === 'SlowDown';
  if (!unreachable && !failing) return error;
  return new FileStoreUnavailable(`the bucket is unavailable: ${String(message)}`, { cause: error });
}

/**
 * Attachments in an S3 bucket (AWS or an S3-compatible server). Credentials come from the AWS SDK's own chain:
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with AWS_SHARED_CREDENTIALS_FILE, web identity
 * (Kubernetes service accounts), or the instance's role. listPageSize is how many keys one listing (and one
 * batch delete) covers: S3's largest, unless a test wants to see several pages.
 */
export function s3FileStore(settings: S3Settings, { listPageSize = 1_000 } = {}): FileStore {
  const { bucket: Bucket, region, endpoint, forcePathStyle } = settings;
  if (!Bucket || !region) throw new Error('S3_BUCKET and S3_REGION are required with UPLOAD_STORE=s3');
  const client = new S3Client({
    region,
    endpoint,
    forcePathStyle,
    // Checksums only where S3 requires one: S3-compatible servers differ in which of the newer ones they take.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  addContentMd5ToDeleteObjects(client);

  /** One page of the objects at key or under key/ (keys are ids of one length: the prefix matches no other). */
  async function listed(key: string, token: string | undefined): Promise<ListObjectsV2CommandOutput> {
    return client.send(
      new ListObjectsV2Command({ Bucket, Prefix: key, ContinuationToken: token, MaxKeys: listPageSize }),
    );
  }

  /** Deletes the objects at key and under key/, a listing page and one batch delete at a time. */
  async function removeAll(key: string) {
    let token: string | undefined;
    do {
      const page = await listed(key, token);
      const objects = (page.Contents ?? []).flatMap(({ Key }) =>
        Key === key || Key?.startsWith(`${key}/`) ? [{ Key }] : [],
      );
      if (objects.length > 0) {
        const { Errors } = await client.send(
          new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects, Quiet: true } }),
        );
        const [first] = Errors ?? [];
        if (first)
          throw new Error(
            `the bucket kept ${Errors!.length} object(s) under ${key}: ${first.Code} ${first.Message}`,
          );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  return {
    async save(key, source, maxBytes, checks = []) {
      const measured = measuring(maxBytes);
      const body = new PassThrough();
      // One 5 MiB part in memory per upload; a larger file goes up part by part as it arrives (multipart).
      // Any failure aborts the multipart upload before done() settles: no part and no object is left.
      const upload = new Upload({
        client,
        params: { Bucket, Key: assertFileKey(key), Body: body },
        queueSize: 1,
        leavePartsOnError: false,
      });
      const uploading = upload.done();
      // The bucket refusing first stops the reading too; else the pipeline would wait for ever on a body nobody
      // drains. A body that failed first (the size limit, the type check, the client gone) is its own answer.
      let refused: { error: unknown } | undefined;
      uploading.catch((error: unknown) => {
        if (body.destroyed) return;
        refused = { error };
        body.destroy(error as Error);
      });
      const [piped, uploaded] = await Promise.allSettled([
        pipeline([source, ...checks, measured.transform, body]),
        uploading,
      ]);
      if (refused) throw classified(refused.error);
      if (piped.status === 'rejected') throw piped.reason;
      if (uploaded.status === 'rejected') throw classified(uploaded.reason);
      return measured.result();
    },
    async read(key) {
      const object = await client
        .send(new GetObjectCommand({ Bucket, Key: assertFileKey(key) }))
        .catch((error: unknown) => Promise.reject(classified(error)));
      return { stream: object.Body as Readable, size: Number(object.ContentLength) };
    },
    remove: (key) =>
      removeAll(assertFileKey(key)).catch((error: unknown) => Promise.reject(classified(error))),
    downloadUrl(key, { filename, contentType }) {
      const object = new GetObjectCommand({
        Bucket,
        Key: assertFileKey(key),
        // What the app would have sent: downloaded (never rendered), under its name, with its sniffed type.
        ResponseContentDisposition: contentDisposition(filename),
        ResponseContentType: contentType,
        ResponseCacheControl: 'private, no-store',
      });
      return getSignedUrl(client, object, { expiresIn: settings.downloadUrlTtlSeconds });
    },
  };
}
