import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { VigilError } from '../../domain/index.js';

const CHUNK = 1024 * 1024;

/**
 * Copies one backup file into a new file (0600: it holds health data), hashing the bytes as they are written,
 * and refuses when they are not the size and SHA-256 the manifest gives. What is checked is what was copied:
 * a file checked first and copied afterwards could change in between. A symbolic link is refused
 * (O_NOFOLLOW): a backup holds plain files, and a link would restore whatever it points to.
 */
export async function copyVerified(from: string, to: string, expected: { readonly path: string; readonly bytes: number; readonly sha256: string }): Promise<void> {
  const invalid = (why: string) => new VigilError('VIGIL_ERR_BACKUP_INVALID', `backup file ${expected.path} ${why}`);
  const source = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw invalid('is missing');
    if (err.code === 'ELOOP') throw invalid('is a symbolic link, not a file of a backup');
    throw err;
  });
  try {
    if (!(await source.stat()).isFile()) throw invalid('is not a regular file');
    const target = await open(to, 'wx', 0o600);
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.alloc(CHUNK);
      let bytes = 0;
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, CHUNK, bytes);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        for (let written = 0; written < bytesRead; ) written += (await target.write(chunk, written, bytesRead - written, bytes + written)).bytesWritten;
        bytes += bytesRead;
      }
      if (bytes !== expected.bytes || hash.digest('hex') !== expected.sha256) throw invalid('does not match its checksum: the backup is damaged');
      await target.sync();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
