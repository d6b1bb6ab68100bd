import { open } from 'node:fs/promises';

/** fsync of a file or a directory (a new file is durable only once its directory entry is). */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
