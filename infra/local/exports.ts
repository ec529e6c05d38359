/** The shell lines that point another shell (the CLI, a pilot, a test) at a running embedded runtime. */

/** `'…'` quoting for POSIX shells: safe for any value, a single quote included. */
function shellQuoted(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `export NAME='value'` per variable, in the order given; variables without a value are left out. */
export function exportLines(variables: Readonly<Record<string, string | undefined | null>>): string[] {
  return Object.entries(variables).flatMap(([name, value]) =>
    value === undefined || value === null ? [] : [`export ${name}=${shellQuoted(value)}`],
  );
}
