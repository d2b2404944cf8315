import { Transform } from 'node:stream';

/**
 * The types an attachment may have, each with the bytes its files start with. The type is judged by the
 * content, not the name or the header alone: a script renamed photo.png is refused. (file-type does this for
 * hundreds of formats but ships as ESM only, which this CommonJS build on Node 20 cannot require.)
 */
export const ATTACHMENT_TYPES = {
  'image/png': [{ at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] }],
  'image/jpeg': [{ at: 0, bytes: [0xff, 0xd8, 0xff] }],
  'image/gif': [{ at: 0, bytes: [...Buffer.from('GIF8')] }],
  'image/webp': [
    { at: 0, bytes: [...Buffer.from('RIFF')] },
    { at: 8, bytes: [...Buffer.from('WEBP')] },
  ],
  'application/pdf': [{ at: 0, bytes: [...Buffer.from('%PDF-')] }],
} as const;

export type AttachmentType = keyof typeof ATTACHMENT_TYPES;
const HEAD_BYTES = 12;

export const isAttachmentType = (type: string): type is AttachmentType => type in ATTACHMENT_TYPES;

function matches(type: AttachmentType, head: Buffer): boolean {
  return ATTACHMENT_TYPES[type].every(({ at, bytes }) => bytes.every((byte, i) => head[at + i] === byte));
}

export class ContentMismatch extends Error {
  override name = 'ContentMismatch';
}

/** Passes the stream through once its first bytes prove the declared type; fails it otherwise. */
export function sniffing(declared: AttachmentType): Transform {
  let head = Buffer.alloc(0);
  let proven = false;
  const judge = (stream: Transform) => {
    if (!matches(declared, head)) return new ContentMismatch(`the content is not ${declared}`);
    proven = true;
    stream.push(head);
    return undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (proven) return done(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < HEAD_BYTES) return done();
      done(judge(this));
    },
    flush(done) {
      done(proven ? undefined : judge(this));
    },
  });
}
