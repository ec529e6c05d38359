/**
 * `wms pilots | pilot drain | pilot kill | audit | dlq list | dlq show | dlq redrive | dlq purge |
 * dashboard`: the system as a whole.
 */

import { writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  AUDIT_MAX_TASKS,
  type AuditFindingView,
  AuditReportView,
  DEAD_LETTER_SHOW,
  DeadLetterList,
  DeadLetterMessages,
  PilotCommandResponse,
  PilotEndpoints,
  PilotList,
  PurgeReport,
  REDRIVE_MAX_MESSAGES,
  RedriveReport,
} from '../../events/index.js';
import { PilotConfig } from '../../pilot/agent/index.js';
import { DEVICES, type Device, PILOT_STATES } from '../../shared/model/index.js';
import { listAll, pathOf } from './client.js';
import { type CommandContext, jsonOption, type Register, stateOption } from './context.js';
import { startDashboardProxy } from './dashboard-proxy.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { age, json, plural, table } from './format.js';

function boundedInteger(text: string, name: string, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    throw new CliError(`${name} must be an integer from 1 to ${max}, got ${text}`, EXIT_CODES.usage);
  }
  return value;
}

function findingText(finding: AuditFindingView): string {
  return `${finding.invariant}  ${finding.entity.kind} ${finding.entity.id}: ${finding.detail}${finding.repairable ? ' (repairable)' : ''}`;
}

export function auditText(report: AuditReportView, repair: boolean): string {
  const lines = [
    `Audited ${report.tasks} task(s), ${report.jobs} job(s), ${report.datasets} dataset(s), ${report.objects} stored object(s); ${plural(report.pilots, 'live pilot')}.`,
  ];
  if (report.unreadableObjects.length > 0) {
    lines.push(`${report.unreadableObjects.length} object(s) could not be read and were not judged.`);
  }
  if (report.findings.length === 0) {
    lines.push('No findings: every invariant holds.');
    return lines.join('\n');
  }
  lines.push(`${report.findings.length} finding(s):`, ...report.findings.map((f) => `  ${findingText(f)}`));
  if (repair) {
    const applied = report.repairs.filter((r) => r.applied).length;
    lines.push(
      `Repairs: ${applied} applied, ${report.repairs.length - applied} refused (the entity changed since the snapshot: audit again).`,
    );
    if (report.eventsPublished > 0)
      lines.push(`${report.eventsPublished} file.registered event(s) published.`);
  } else if (report.findings.some((f) => f.repairable)) {
    lines.push('Run wms audit --repair to apply the safe repairs.');
  }
  return lines.join('\n');
}

/** Findings left standing: those not repaired by an applied repair. */
export function unresolvedFindings(report: AuditReportView): number {
  return report.findings.length - report.repairs.filter((repair) => repair.applied).length;
}

export function deadLetterText(list: DeadLetterList): string {
  const lines = [
    table(
      ['QUEUE', 'REDRIVE TO', '>MESSAGES', '>IN FLIGHT'],
      list.queues.map((queue) => [
        queue.name,
        queue.source ?? '-',
        String(queue.depth),
        String(queue.inFlight),
      ]),
    ),
  ];
  for (const queue of list.queues.filter((q) => q.messages.length > 0)) {
    lines.push('', `${queue.name}: ${queue.depth} message(s), showing ${queue.messages.length}`);
    for (const message of queue.messages) {
      const why = message.errorCode
        ? `${message.errorCode}: ${message.errorReason ?? ''}`
        : 'moved by SQS after its last delivery failed';
      lines.push(`  ${message.messageId}  ${message.sentAt ?? ''}  ${why}`);
    }
  }
  return lines.join('\n');
}

export function deadLetterMessagesText(shown: DeadLetterMessages): string {
  const lines = [`${shown.queue}: ${plural(shown.depth, 'message')}, showing ${shown.messages.length}`];
  for (const message of shown.messages) {
    const why = message.errorCode
      ? `${message.errorCode}: ${message.errorReason ?? ''}`
      : 'moved by SQS after its last delivery failed';
    lines.push(
      '',
      `${message.messageId}  sent ${message.sentAt ?? '?'}${message.receiveCount === undefined ? '' : `, ${plural(message.receiveCount, 'delivery', 'deliveries')}`}`,
      `  why:  ${why}`,
      `  body: ${message.body}${message.bodyTruncated ? ' …(cut)' : ''}`,
    );
  }
  return lines.join('\n');
}

export function registerOperatorCommands(program: Command, register: Register): void {
  register(
    program
      .command('pilots')
      .description('pilots: device, slots, state and last heartbeat')
      .addOption(stateOption('only pilots in this state', PILOT_STATES))
      .addOption(jsonOption()),
    async (context: CommandContext, options: { state?: string; json?: boolean }) => {
      const pilots = await listAll((page) =>
        context.client().call('GET', '/pilots', PilotList, { query: { ...page, state: options.state } }),
      );
      const now = new Date();
      context.io.out(
        options.json
          ? json(pilots)
          : pilots.length === 0
            ? 'No pilots.'
            : table(
                ['PILOT', 'HOST', 'DEVICE', 'STATE', '>BUSY', '>SLOTS', 'VERSION', '>HEARTBEAT', 'DEGRADED'],
                pilots.map((pilot) => [
                  pilot.pilotId,
                  pilot.host,
                  pilot.device,
                  pilot.state,
                  String(pilot.busySlots),
                  String(pilot.slots),
                  pilot.version,
                  `${age(pilot.lastHeartbeatAt, now)} ago`,
                  pilot.degraded?.join(',') ?? '-',
                ]),
              ),
      );
    },
  );

  const pilot = program.command('pilot').description('control one pilot');
  for (const [name, description] of [
    ['drain', 'the pilot finishes its running jobs, takes no new ones, and exits'],
    ['kill', 'the pilot stops now, as on SIGTERM: its running jobs go back for another attempt'],
  ] as const) {
    register(
      pilot.command(name).description(description).argument('<pilot>', 'pilot id').addOption(jsonOption()),
      async (context: CommandContext, pilotId: string, options: { json?: boolean }) => {
        const answer = await context
          .client()
          .call('POST', pathOf(`/pilots/{pilotId}/${name}`, pilotId), PilotCommandResponse);
        context.io.out(
          options.json
            ? json(answer)
            : `Sent ${answer.command} to pilot ${answer.pilotId} (${answer.state}); wms pilots shows it EXITED once it is done.`,
        );
      },
    );
  }

  register(
    program
      .command('audit')
      .description('check the consistency invariants (exit 6 when findings are left)')
      .option('--task <task>', 'audit this task only')
      .option('--repair', 'apply the safe repairs of what is found', false)
      .addOption(
        new Option('--max-tasks <n>', 'audit a random sample of n tasks').argParser((text) =>
          boundedInteger(text, '--max-tasks', AUDIT_MAX_TASKS),
        ),
      )
      .addOption(jsonOption()),
    async (
      context: CommandContext,
      options: { task?: string; repair: boolean; maxTasks?: number; json?: boolean },
    ) => {
      const report = await context.client().call('POST', '/audit', AuditReportView, {
        body: {
          repair: options.repair,
          ...(options.task === undefined ? {} : { taskId: options.task }),
          ...(options.maxTasks === undefined ? {} : { maxTasks: options.maxTasks }),
        },
      });
      context.io.out(options.json ? json(report) : auditText(report, options.repair));
      if (unresolvedFindings(report) > 0) context.setExitCode(EXIT_CODES.unhealthy);
    },
  );

  const dlq = program.command('dlq').description('dead-letter queues: inspect and redrive');
  register(
    dlq
      .command('list')
      .description('every dead-letter queue: depth, and why its messages are there')
      .addOption(jsonOption()),
    async (context: CommandContext, options: { json?: boolean }) => {
      const list = await context.client().call('GET', '/dead-letters', DeadLetterList);
      context.io.out(options.json ? json(list.queues) : deadLetterText(list));
    },
  );
  register(
    dlq
      .command('redrive')
      .description('move the messages of a dead-letter queue back to its source queue')
      .argument('<queue>', 'the queue name wms dlq list shows')
      .addOption(
        new Option('--max <n>', 'move at most n messages')
          .default(100)
          .argParser((text) => boundedInteger(text, '--max', REDRIVE_MAX_MESSAGES)),
      )
      .addOption(jsonOption()),
    async (context: CommandContext, queue: string, options: { max: number; json?: boolean }) => {
      const report = await context
        .client()
        .call('POST', pathOf('/dead-letters/{queue}/redrive', queue), RedriveReport, {
          body: { maxMessages: options.max },
        });
      context.io.out(
        options.json
          ? json(report)
          : `Moved ${report.moved} message(s) from the ${report.queue} dead-letter queue back to ${report.source}; ${report.remaining} left.`,
      );
    },
  );

  register(
    dlq
      .command('show')
      .description('the messages of a dead-letter queue, bodies and reasons, left in the queue')
      .argument('<queue>', 'the queue name wms dlq list shows')
      .addOption(
        new Option('--limit <n>', `show at most n messages (up to ${DEAD_LETTER_SHOW.messages})`)
          .default(10)
          .argParser((text) => boundedInteger(text, '--limit', DEAD_LETTER_SHOW.messages)),
      )
      .addOption(jsonOption()),
    async (context: CommandContext, queue: string, options: { limit: number; json?: boolean }) => {
      const shown = await context
        .client()
        .call('GET', pathOf('/dead-letters/{queue}/messages', queue), DeadLetterMessages, {
          query: { limit: options.limit },
        });
      context.io.out(options.json ? json(shown) : deadLetterMessagesText(shown));
    },
  );
  register(
    dlq
      .command('purge')
      .description('delete every message of a dead-letter queue (needs --yes)')
      .argument('<queue>', 'the queue name wms dlq list shows')
      .option('--yes', 'yes, delete them: they cannot be brought back')
      .addOption(jsonOption()),
    async (context: CommandContext, queue: string, options: { yes?: boolean; json?: boolean }) => {
      if (!options.yes) {
        throw new CliError(
          `purging deletes every message of ${queue} for good: look at them with wms dlq show ${queue}, then add --yes`,
          EXIT_CODES.usage,
        );
      }
      const report = await context
        .client()
        .call('POST', pathOf('/dead-letters/{queue}/purge', queue), PurgeReport, {
          body: { confirm: queue },
        });
      context.io.out(
        options.json
          ? json(report)
          : `Purged the ${report.queue} dead-letter queue: ${plural(report.purged, 'message')} deleted.`,
      );
    },
  );

  const config = program
    .command('config')
    .description("write configuration files from this deployment's endpoints");
  register(
    config
      .command('pilot')
      .description("write a pilot's configuration file (pilot.json) for this deployment")
      .addOption(new Option('--device <device>', "the node's device").choices(DEVICES).makeOptionMandatory())
      .addOption(
        new Option('--slots <n>', 'job slots (default: the pilot counts cores / cores per slot)').argParser(
          (text) => boundedInteger(text, '--slots', 1024),
        ),
      )
      .option('--work-dir <dir>', "payloads' working directories", '/var/lib/spd-wms-pilot/work')
      .option('--spool-dir <dir>', 'results kept until sent', '/var/lib/spd-wms-pilot/spool')
      .option('--out <file>', 'where to write it', 'pilot.json')
      .option('--force', 'overwrite an existing file'),
    async (
      context: CommandContext,
      options: {
        device: Device;
        slots?: number;
        workDir: string;
        spoolDir: string;
        out: string;
        force?: boolean;
      },
    ) => {
      const endpoints = await context.client().call('GET', '/pilot-config', PilotEndpoints);
      const pilot = PilotConfig.parse({
        apiUrl: context.target().apiUrl,
        region: endpoints.region,
        jobQueueUrls: endpoints.jobQueueUrls,
        statusQueueUrl: endpoints.statusQueueUrl,
        device: options.device,
        ...(options.slots === undefined ? {} : { slots: options.slots }),
        workDir: options.workDir,
        spoolDir: options.spoolDir,
      });
      // Only what was chosen here: the pilot's own defaults stay its defaults.
      const file = {
        apiUrl: pilot.apiUrl,
        region: pilot.region,
        jobQueueUrls: pilot.jobQueueUrls,
        statusQueueUrl: pilot.statusQueueUrl,
        device: pilot.device,
        ...(pilot.slots === undefined ? {} : { slots: pilot.slots }),
        workDir: pilot.workDir,
        spoolDir: pilot.spoolDir,
      };
      try {
        await writeFile(options.out, `${json(file)}\n`, { flag: options.force ? 'w' : 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CliError(`${options.out} exists: pass --force to overwrite it`, EXIT_CODES.usage);
        }
        throw new CliError(`cannot write ${options.out}: ${(error as Error).message}`, EXIT_CODES.usage);
      }
      context.io.out(`Wrote ${options.out} for a ${options.device} pilot (docs/pilots.md).`);
    },
  );

  register(
    program
      .command('dashboard')
      .description('serve the dashboard on this machine, signing each request with your AWS credentials')
      .addOption(
        new Option('--port <port>', 'local port (0: any free port)').default(8080).argParser((text) => {
          const port = Number(text);
          if (!/^\d+$/.test(text) || port > 65_535) {
            throw new CliError(`--port must be a port number, got ${text}`, EXIT_CODES.usage);
          }
          return port;
        }),
      ),
    async (context: CommandContext, options: { port: number }) => {
      const proxy = await startDashboardProxy({ ...context.target(), port: options.port });
      context.io.out(`Dashboard: ${proxy.url}dashboard  (API ${context.target().apiUrl}; Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        if (context.io.signal.aborted) resolve();
        context.io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await proxy.stop();
    },
  );
}
