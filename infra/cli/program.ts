/** The `wms` command line: global options, the commands, and how a failure becomes an exit code. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { type CliIo, type CommandContext, createContext, type Register } from './context.js';
import { CliError, EXIT_CODES, type ExitCode } from './exit-codes.js';
import { registerOperatorCommands } from './operator-commands.js';
import { registerTaskCommands } from './task-commands.js';

/** The package's version, which the release of the CLI carries. */
const WMS_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function report(io: CliIo, error: CliError): void {
  io.err(`wms: ${error.message}`);
  for (const detail of error.details) io.err(`  ${detail}`);
}

/** Runs one command line (without `node wms`) and returns the exit code; never exits the process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT_CODES.ok;
  const program = new Command('wms')
    .description(
      'Operate the SPD WMS: tasks, jobs, pilots, the consistency audit, dead letters and the dashboard.\n' +
        'Requests are signed with SigV4 from the standard AWS credential chain.',
    )
    .option('--api-url <url>', 'base URL of the WMS API (default: $WMS_API_URL)')
    .option('--region <region>', 'region to sign for (default: $AWS_REGION, or the one in the API URL)')
    .option('--profile <name>', 'AWS named profile to sign with (default: the standard credential chain)')
    .version(WMS_VERSION, '--version', 'print the version of wms')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    })
    .showHelpAfterError('(wms --help lists the commands)');

  const register: Register = (command, run) =>
    command.action(async (...args: unknown[]) => {
      const self = args.at(-1) as Command;
      const context: CommandContext = createContext(io, self, (code) => {
        exitCode = code;
      });
      await run(context, ...(args.slice(0, -1) as never[]));
    });
  registerTaskCommands(program, register);
  registerOperatorCommands(program, register);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end "with an error" that is a success.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    if (error instanceof CliError) {
      report(io, error);
      return error.exitCode;
    }
    io.err(
      `wms: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return EXIT_CODES.failure;
  }
}
