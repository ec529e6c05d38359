import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { fromIni } from '@aws-sdk/credential-providers';
import type { Environment } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';

/** Variables that would put a secret into the pilot's environment, readable in /proc/<pid>/environ. */
export const SECRET_ENV_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
] as const;

/** The file systemd's `LoadCredential=aws-credentials:…` puts into $CREDENTIALS_DIRECTORY. */
export const SYSTEMD_CREDENTIAL_NAME = 'aws-credentials';

/**
 * Refuses credentials in the pilot's environment: a process's initial environment stays in
 * /proc/<pid>/environ whatever it later deletes, and is passed on to what it starts.
 */
export function refuseEnvironmentCredentials(env: Environment): void {
  const found = SECRET_ENV_VARIABLES.filter((name) => env[name] !== undefined);
  if (found.length > 0) {
    throw new ConfigError(
      found.join(', '),
      `AWS credentials in the pilot's environment (${found.join(', ')}) are readable in /proc/<pid>/environ ` +
        'and inherited by what it starts: put them in a credentials file readable by the pilot only ' +
        `("credentialsFile", or systemd LoadCredential=${SYSTEMD_CREDENTIAL_NAME}:<file>)`,
    );
  }
}

/**
 * The credentials file the pilot (or the daemon) uses: its setting, else systemd's credential;
 * null: the SDK's chain (an instance role, say), environment variables refused beforehand.
 */
export async function credentialsFileOf(
  config: { credentialsFile?: string | undefined },
  env: Environment,
): Promise<string | null> {
  if (config.credentialsFile !== undefined) return path.resolve(config.credentialsFile);
  if (!env.CREDENTIALS_DIRECTORY) return null;
  const file = path.join(env.CREDENTIALS_DIRECTORY, SYSTEMD_CREDENTIAL_NAME);
  try {
    await access(file);
    return file;
  } catch {
    return null;
  }
}

/**
 * A provider of the credentials in `file` (AWS shared-credentials INI; its profile may name a
 * `credential_process`), after checking that no one but its owner can read it.
 */
export async function fileCredentials(file: string, profile: string) {
  let stats: Awaited<ReturnType<typeof stat>>;
  try {
    stats = await stat(file);
  } catch (error) {
    throw new ConfigError('credentialsFile', `cannot read ${file}: ${(error as Error).message}`);
  }
  if ((stats.mode & 0o077) !== 0) {
    throw new ConfigError(
      'credentialsFile',
      `${file} is readable by others (mode ${(stats.mode & 0o777).toString(8)}): make it 0600 or 0400`,
    );
  }
  return fromIni({ filepath: file, profile, ignoreCache: true });
}
