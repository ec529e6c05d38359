import { constants, type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { FileName } from '../../shared/model/index.js';
import { UnsafePathError } from './errors.js';

/**
 * The path of `name` directly inside `dir`. The name must be a shared/model `FileName` (no
 * separator, not `.` or `..`, no control characters), and the resolved path is checked to
 * sit directly in `dir`, so no absolute path or traversal gets through.
 */
export function resolveInside(dir: string, name: string): string {
  const parsed = FileName.safeParse(name);
  if (!parsed.success) {
    throw new UnsafePathError(name, parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  const base = path.resolve(dir);
  const resolved = path.resolve(base, name);
  if (path.dirname(resolved) !== base || path.basename(resolved) !== name) {
    throw new UnsafePathError(name, 'resolves outside its directory');
  }
  return resolved;
}

/**
 * Creates `name` in `dir` for writing (and reading back). The file must not exist and a symbolic link in its
 * place is not followed (O_EXCL | O_NOFOLLOW), so a link cannot redirect the write elsewhere.
 */
export async function createFileInside(
  dir: string,
  name: string,
): Promise<{ path: string; handle: FileHandle }> {
  const filePath = resolveInside(dir, name);
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  try {
    return { path: filePath, handle: await open(filePath, flags, 0o644) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new UnsafePathError(name, 'names a file that already exists', { cause: error });
    throw error;
  }
}

/**
 * Opens `name` in `dir` for reading if it is a regular file; a symbolic link (which could point
 * anywhere on the node) or anything else gives `null`.
 */
export async function openRegularFileInside(
  dir: string,
  name: string,
): Promise<{ path: string; handle: FileHandle; size: number } | null> {
  const filePath = resolveInside(dir, name);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO the payload left behind must not hang the pilot.
    handle = await open(filePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return null;
    throw error;
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    return null;
  }
  return { path: filePath, handle, size: stats.size };
}
