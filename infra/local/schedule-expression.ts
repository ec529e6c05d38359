/**
 * EventBridge schedule expressions the embedded runtime runs itself. Only `rate(...)` is
 * supported: the stack declares no `cron(...)` schedule, and a cron the runtime would
 * silently mis-time is refused instead.
 */
import { RuntimeConfigurationError, TemplateError } from './errors.js';

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type RateUnit = keyof typeof UNIT_MS;

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;

/** The period of `rate(n unit)` in milliseconds; EventBridge's singular/plural rule is enforced. */
export function rateIntervalMs(expression: string): number {
  const match = RATE.exec(expression.trim());
  if (!match) {
    throw new TemplateError(
      `schedule ${JSON.stringify(expression)} is not supported: only rate(n unit) runs locally`,
    );
  }
  const value = Number(match[1]);
  const unitWord = match[2] ?? '';
  const singular = !unitWord.endsWith('s');
  if (value < 1 || singular !== (value === 1)) {
    throw new TemplateError(
      `schedule ${JSON.stringify(expression)}: use "1 ${unitWord.replace(/s$/, '')}" or "n ${unitWord.replace(/s?$/, 's')}" with n > 1`,
    );
  }
  const unit = unitWord.replace(/s$/, '') as RateUnit;
  return value * UNIT_MS[unit];
}

/** Parses `WMS_LOCAL_SCHEDULE_SCALE`-style values: a positive finite factor applied to every period. */
export function parseScheduleScale(text: string): number {
  const scale = Number(text);
  if (text.trim() === '' || !Number.isFinite(scale) || scale <= 0) {
    throw new RuntimeConfigurationError(
      `schedule scale must be a positive number, got ${JSON.stringify(text)}`,
    );
  }
  return scale;
}
