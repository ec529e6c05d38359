import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET_ENV_VARIABLES } from '../../pilot/agent/index.js';

/**
 * `env` without the AWS credentials it holds, which go into an AWS shared-credentials file
 * (0600) in `dir` instead, named by WMS_PILOT_CREDENTIALS_FILE: a pilot refuses credentials in
 * its environment, which its payloads could read in /proc. The demo, the bench and the tests
 * start their pilots (and daemons) this way.
 */
export function credentialsFileEnv(
  dir: string,
  env: NodeJS.ProcessEnv,
): { env: NodeJS.ProcessEnv; file: string } {
  const file = join(dir, 'aws-credentials');
  const lines = [
    '[default]',
    `aws_access_key_id = ${env.AWS_ACCESS_KEY_ID ?? ''}`,
    `aws_secret_access_key = ${env.AWS_SECRET_ACCESS_KEY ?? ''}`,
  ];
  if (env.AWS_SESSION_TOKEN) lines.push(`aws_session_token = ${env.AWS_SESSION_TOKEN}`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  const rest = Object.fromEntries(
    Object.entries(env).filter(([name]) => !(SECRET_ENV_VARIABLES as readonly string[]).includes(name)),
  );
  return { env: { ...rest, WMS_PILOT_CREDENTIALS_FILE: file }, file };
}
