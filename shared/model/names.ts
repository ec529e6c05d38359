/**
 * How file names are compared and shown. A name is a sequence of Unicode code points, and the
 * same visible name can be spelled two ways (`é` as U+00E9, or `e` + U+0301): the system keeps
 * one spelling, NFC, taken at every boundary by the FileName schema, so a name given in NFD
 * is the same file as in NFC. Dataset names and identifiers are ASCII, where NFC changes nothing.
 */

/** The one spelling of a name the system keeps and compares: Unicode NFC. */
export const NAME_NORMALIZATION = 'NFC';

/** `name` in the spelling the system keeps. */
export function normalizedName(name: string): string {
  return name.normalize(NAME_NORMALIZATION);
}

/**
 * A name as a reason or a log line shows it: printable ASCII as it is, every other code point
 * escaped (`caf\u00e9.raw`, `cafe\u0301.raw`, `\u{1f600}`), so two names that look alike read
 * differently. File names hold no backslash, so an escape cannot be mistaken for the name.
 */
export function printableName(name: string): string {
  let shown = '';
  for (const character of name) {
    const codePoint = character.codePointAt(0) ?? 0;
    if (codePoint >= 0x20 && codePoint < 0x7f) shown += character;
    else if (codePoint <= 0xffff) shown += `\\u${codePoint.toString(16).padStart(4, '0')}`;
    else shown += `\\u{${codePoint.toString(16)}}`;
  }
  return shown;
}
