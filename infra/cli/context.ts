/** What every command gets: where to write, the API client, and whether to answer in JSON. */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { type Command, Option } from 'commander';
import { type ApiClient, createApiClient } from './client.js';
import { CliError, EXIT_CODES, type ExitCode } from './exit-codes.js';

/** The process's streams and environment, injectable so the program runs inside tests too. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal: live redraws instead of plain lines. */
  isTTY: boolean;
  /** Fires on SIGINT/SIGTERM: long-running commands (watch, dashboard) stop. */
  signal: AbortSignal;
}

export interface GlobalOptions {
  apiUrl?: string;
  region?: string;
  /** An AWS named profile (~/.aws/config, ~/.aws/credentials) to sign with. */
  profile?: string;
}

export interface CommandContext {
  io: CliIo;
  client(): ApiClient;
  /** The API target, for commands that talk to it by other means (the dashboard proxy). */
  target(): { apiUrl: string; region: string };
  /** Set by a command that ends in bad news (EXIT_CODES.unhealthy). */
  setExitCode(code: ExitCode): void;
}

/** `https://abc.execute-api.eu-west-1.amazonaws.com/v1` names its region. */
function regionOfUrl(apiUrl: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(apiUrl).hostname)?.[1];
}

export function resolveTarget(options: GlobalOptions, env: CliIo['env']): { apiUrl: string; region: string } {
  const apiUrl = options.apiUrl ?? env.WMS_API_URL;
  if (apiUrl === undefined || apiUrl === '') {
    throw new CliError(
      'no API URL: pass --api-url or set WMS_API_URL (the ApiUrl output of the stack)',
      EXIT_CODES.usage,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(apiUrl);
  } catch {
    throw new CliError(`--api-url ${apiUrl} is not a URL`, EXIT_CODES.usage);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new CliError(`--api-url ${apiUrl} must be an http(s) URL`, EXIT_CODES.usage);
  }
  const region = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || regionOfUrl(apiUrl);
  if (region === undefined) {
    throw new CliError('no region to sign requests for: pass --region or set AWS_REGION', EXIT_CODES.usage);
  }
  return { apiUrl, region };
}

export function createContext(
  io: CliIo,
  command: Command,
  onExitCode: (code: ExitCode) => void,
): CommandContext {
  const target = () => resolveTarget(command.optsWithGlobals<GlobalOptions>(), io.env);
  let client: ApiClient | undefined;
  return {
    io,
    target,
    client() {
      const { profile } = command.optsWithGlobals<GlobalOptions>();
      client ??= createApiClient({
        ...target(),
        ...(profile === undefined ? {} : { credentials: fromNodeProviderChain({ profile }) }),
      });
      return client;
    },
    setExitCode: onExitCode,
  };
}

/** Adds a command's action: `run` gets the context, then the command's arguments and options. */
export type Register = (
  command: Command,
  run: (context: CommandContext, ...args: never[]) => Promise<void>,
) => Command;

export const jsonOption = () => new Option('--json', 'print the answer as JSON');

/** `--state <state>`: one of `states`, in any case (`running` is RUNNING). */
export function stateOption(description: string, states: readonly string[]): Option {
  return new Option('--state <state>', `${description} (${states.join(', ')}; any case)`).argParser(
    (text) => {
      const state = text.toUpperCase();
      if (!states.includes(state)) {
        throw new CliError(`--state must be one of ${states.join(', ')}, got ${text}`, EXIT_CODES.usage);
      }
      return state;
    },
  );
}
