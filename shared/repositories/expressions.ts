/**
 * Builds DynamoDB expressions with placeholders for every name and value, so reserved words
 * (`state`, `name`, `size`, ...) and nested paths (`counts.READY`) are always safe.
 */
export class Expression {
  readonly #names = new Map<string, string>();
  readonly #values: Record<string, unknown> = {};
  #valueCount = 0;

  /** `counts.READY` → `#n0.#n1`. Segments are split on dots; no segment contains one. */
  name(path: string): string {
    return path
      .split('.')
      .map((segment) => {
        let placeholder = this.#names.get(segment);
        if (!placeholder) {
          placeholder = `#n${this.#names.size}`;
          this.#names.set(segment, placeholder);
        }
        return placeholder;
      })
      .join('.');
  }

  value(value: unknown): string {
    const placeholder = `:v${this.#valueCount}`;
    this.#valueCount += 1;
    this.#values[placeholder] = value;
    return placeholder;
  }

  /** `path IN (a, b)`, or `path = a` for one value. */
  oneOf(path: string, values: readonly unknown[]): string {
    if (values.length === 1) return `${this.name(path)} = ${this.value(values[0])}`;
    return `${this.name(path)} IN (${values.map((value) => this.value(value)).join(', ')})`;
  }

  /**
   * An update expression: `set` assigns (undefined values are skipped), `add` changes numbers in place (`x = x + :d`, so
   * nested counters work and a zero delta is skipped), `remove` deletes attributes.
   */
  update(parts: {
    set?: Readonly<Record<string, unknown>>;
    add?: Readonly<Record<string, number>>;
    remove?: readonly string[];
  }): string {
    const assignments = Object.entries(parts.set ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([path, value]) => `${this.name(path)} = ${this.value(value)}`);
    for (const [path, delta] of Object.entries(parts.add ?? {})) {
      if (delta === 0) continue;
      const name = this.name(path);
      assignments.push(
        delta > 0 ? `${name} = ${name} + ${this.value(delta)}` : `${name} = ${name} - ${this.value(-delta)}`,
      );
    }
    const clauses = [];
    if (assignments.length > 0) clauses.push(`SET ${assignments.join(', ')}`);
    if (parts.remove && parts.remove.length > 0) {
      clauses.push(`REMOVE ${parts.remove.map((path) => this.name(path)).join(', ')}`);
    }
    return clauses.join(' ');
  }

  /** ExpressionAttributeNames/Values for the request; values are left out when there are none. */
  attributes(): {
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    const names = Object.fromEntries(
      [...this.#names].map(([segment, placeholder]) => [placeholder, segment]),
    );
    return this.#valueCount > 0
      ? { ExpressionAttributeNames: names, ExpressionAttributeValues: { ...this.#values } }
      : { ExpressionAttributeNames: names };
  }
}
