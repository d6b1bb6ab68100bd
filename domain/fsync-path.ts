import { open } from 'node:fs/promises';

/**
 * fsync of a file or a directory. A new or renamed file is durable only once its directory entry is, so
 * whoever creates or renames a file that must survive a crash syncs its directory too.
 */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
