/**
 * Makes the ed25519 key pair that signs pilot releases (docs/pilots.md, "Signed releases"):
 *
 *   npx tsx pilot/release/keygen.ts --out <dir>
 *
 * writes `<dir>/release-signing.pem` (the private key, mode 0600: it stays with the operators)
 * and `<dir>/release-signing.pub.pem` (the public key every daemon pins). An existing key is
 * never overwritten.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { out } = parseArgs({ options: { out: { type: 'string' } }, strict: true }).values;
  if (out === undefined) throw new Error('usage: keygen --out <dir>');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const files = {
    privateKey: path.resolve(out, 'release-signing.pem'),
    publicKey: path.resolve(out, 'release-signing.pub.pem'),
  };
  await mkdir(path.resolve(out), { recursive: true, mode: 0o700 });
  // `wx`: fails if the file exists, so a key in use is never replaced by accident.
  await writeFile(files.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
    flag: 'wx',
  });
  await writeFile(files.publicKey, publicKey.export({ type: 'spki', format: 'pem' }), {
    mode: 0o644,
    flag: 'wx',
  });
  console.log(JSON.stringify(files));
}

main().catch((error: unknown) => {
  console.error(`keygen failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
