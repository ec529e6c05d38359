import { parseArgs } from 'node:util';

/** The `--config <file>` argument of an entry point, or null after printing the usage. */
export function configArgument(args: readonly string[], usage: string): string | null {
  let config: string | undefined;
  try {
    config = parseArgs({ args: [...args], options: { config: { type: 'string' } }, strict: true }).values
      .config;
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return null;
  }
  if (config === undefined) console.error(usage);
  return config ?? null;
}

/**
 * Runs an entry point's `main` and exits with its status, or with `failureStatus` after a JSON
 * error line. The exit is explicit: an idle keep-alive socket or a forgotten timer must not
 * keep a finished process alive.
 */
export function runMain(name: string, main: () => Promise<number>, failureStatus: number): void {
  main().then(
    (status) => process.exit(status),
    (error: unknown) => {
      console.error(
        JSON.stringify({
          level: 'ERROR',
          message: `${name} failed`,
          error: String((error as Error).stack ?? error),
        }),
      );
      process.exit(failureStatus);
    },
  );
}
