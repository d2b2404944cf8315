import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Account } from './harness';

/**
 * An upload sent in chunks with no Content-Length, as a client streaming a file it has not measured, through a
 * real listening server (supertest would buffer it). Resolves with the status and the problem type, if any.
 */
export async function streamUpload(
  app: Express,
  account: Account,
  noteId: string,
  chunks: Buffer[],
  file = { name: 'streamed.png', type: 'image/png' },
): Promise<{ status: number; type: string | undefined }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/api/v1/notes/${noteId}/attachments?filename=${encodeURIComponent(file.name)}`,
          headers: { Authorization: `Bearer ${account.token}`, 'Content-Type': file.type },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: JSON.parse(body).type }));
        },
      );
      // The app answers 413 and closes as soon as a limit is passed; what is still being written is lost.
      req.on('error', reject);
      (async () => {
        for (const chunk of chunks) if (!req.write(chunk)) await once(req, 'drain');
        req.end();
      })().catch(() => undefined);
    });
  } finally {
    server.close();
  }
}
