import { createHash, type Hash } from 'node:crypto';

const ADLER_MOD = 65521;
// zlib's NMAX: the sums stay below 2^32 over this many bytes, so the modulo runs once per block
// instead of once per byte.
const ADLER_NMAX = 5552;

/** Streaming Adler-32 (RFC 1950), the checksum HEP storage systems keep beside files. */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(data: Uint8Array): this {
    let { a, b } = this;
    for (let start = 0; start < data.length; start += ADLER_NMAX) {
      const end = Math.min(start + ADLER_NMAX, data.length);
      for (let i = start; i < end; i++) {
        a += data[i]!;
        b += a;
      }
      a %= ADLER_MOD;
      b %= ADLER_MOD;
    }
    this.a = a;
    this.b = b;
    return this;
  }

  /** Eight lower-case hex digits. */
  digestHex(): string {
    return (((this.b << 16) | this.a) >>> 0).toString(16).padStart(8, '0');
  }
}

/** Computes a `sha256:<hex>` or `adler32:<hex>` checksum over data fed in order. */
export interface ChecksumAccumulator {
  update(data: Uint8Array): void;
  /** The checksum in the form shared/model `Checksum` uses. */
  digest(): string;
}

export type ChecksumAlgorithm = 'sha256' | 'adler32';

/** The algorithm of a `sha256:` or `adler32:` checksum string. */
export function checksumAlgorithm(checksum: string): ChecksumAlgorithm {
  if (checksum.startsWith('sha256:')) return 'sha256';
  if (checksum.startsWith('adler32:')) return 'adler32';
  throw new RangeError(`unknown checksum algorithm in ${JSON.stringify(checksum)}`);
}

export function createChecksum(algorithm: ChecksumAlgorithm): ChecksumAccumulator {
  if (algorithm === 'adler32') {
    const adler = new Adler32();
    return { update: (data) => void adler.update(data), digest: () => `adler32:${adler.digestHex()}` };
  }
  const hash: Hash = createHash('sha256');
  return { update: (data) => void hash.update(data), digest: () => `sha256:${hash.digest('hex')}` };
}
