import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config/index.js';

/** Where uploaded files live: a local directory (here) or an S3-compatible bucket (s3-files.ts). */
export interface FileStore {
  /**
   * Streams source, through any checks given, into key: at most maxBytes (else FileTooLarge), written whole
   * or not at all.
   */
  save(
    key: string,
    source: Readable,
    maxBytes: number,
    checks?: Transform[],
  ): Promise<{ size: number; sha256: string }>;
  read(key: string): Promise<{ stream: Readable; size: number }>;
  /** Removes key and everything under it (a note's or a user's files). */
  remove(key: string): Promise<void>;
  /**
   * A store clients can fetch from themselves: a short-lived URL that serves key under this name and type, so
   * the app authorizes a download without carrying its bytes.
   */
  downloadUrl?(key: string, as: { filename: string; contentType: string }): Promise<string>;
}

export class FileTooLarge extends Error {
  override name = 'FileTooLarge';
}

/** The store cannot be reached or is failing for now (a network error, a 5xx, throttling): a retry can succeed. */
export class FileStoreUnavailable extends Error {
  override name = 'FileStoreUnavailable';
}

/** Keys are ids joined by '/': nothing a client sends can reach outside the root or the bucket. */
const SAFE_KEY = /^[0-9a-f-]{36}(\/[0-9a-f-]{36})*$/;

export function assertFileKey(key: string): string {
  if (!SAFE_KEY.test(key)) throw new Error(`not a file key: ${key}`);
  return key;
}

/**
 * Counts and hashes bytes as they pass and fails the stream past the limit, so an oversized upload is cut, not
 * buffered; result() is the size and SHA-256 of what passed.
 */
export function measuring(maxBytes: number) {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new FileTooLarge(`over ${maxBytes} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, result: () => ({ size, sha256: hash.digest('hex') }) };
}

export function localFileStore(root: string): FileStore {
  const pathOf = (key: string) => join(root, assertFileKey(key));
  return {
    async save(key, source, maxBytes, checks = []) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true, mode: 0o750 });
      // Written beside its final name, then renamed: a reader never sees half a file.
      const partial = `${path}.${randomUUID()}.partial`;
      const measured = measuring(maxBytes);
      const sink = createWriteStream(partial, { mode: 0o640 });
      try {
        await pipeline([source, ...checks, measured.transform, sink]);
        await rename(partial, path);
      } catch (error) {
        // A check can fail while the sink is still opening its file: the pipeline rejects at once, and the file
        // would appear after the rm. Once the sink has closed, whatever it created is there to remove.
        if (!sink.closed) await new Promise<void>((closed) => sink.once('close', () => closed()));
        await rm(partial, { force: true });
        throw error;
      }
      return measured.result();
    },
    async read(key) {
      const path = pathOf(key);
      const { size } = await stat(path);
      return { stream: createReadStream(path), size };
    },
    async remove(key) {
      await rm(pathOf(key), { recursive: true, force: true });
    },
  };
}

/** The store UPLOAD_STORE names. */
export function fileStoreFor(uploads: Config['uploads']): FileStore {
  if (uploads.store === 'local') return localFileStore(uploads.dir);
  // Required here, not at the top: the AWS SDK costs a worker about 190 ms and 7 MB of heap as it starts, and
  // only UPLOAD_STORE=s3 uses it.
  const { s3FileStore } = require('./s3-files.js') as typeof import('./s3-files.js');
  return s3FileStore(uploads.s3);
}
