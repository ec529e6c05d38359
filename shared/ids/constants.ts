/** RFC 4648 base32 alphabet, lower-cased so ids read well in keys and logs. */
export const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 26 base32 characters carry 130 bits of the hash: collisions are out of reach. */
export const HASH_LENGTH = 26;
/** Joins the hashed parts; names and ids cannot contain it, so distinct inputs hash distinct strings. */
export const PART_SEPARATOR = '\u0000';
export const JOB_ID_PREFIX = 'j-';
export const DATASET_UID_PREFIX = 'ds-';
/** 16 random bytes, printed as 32 hex characters. */
export const CLAIM_TOKEN_BYTES = 16;
