/**
 * The filter patterns of a Lambda event source mapping, matched the way Lambda matches them, so
 * the local stream poller drops the same records AWS would. Lambda uses EventBridge's pattern
 * language; this is the part of it the relay's mapping can use:
 *
 * - a pattern is an object; nested objects follow the record's structure, and every leaf is an
 *   array of rules, any of which may match (OR); all leaves must match (AND);
 * - rules: a string, number, boolean or null (exact, no case folding, a number only matches a
 *   number), `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or
 *   `{prefix}`/`{suffix}`), `numeric` (`=`, `<`, `<=`, `>`, `>=`, one or two comparisons) and
 *   `exists: true|false`;
 * - several patterns are ORed: a record matching any of them is delivered.
 *
 * Rules only ever see leaf values. The record is flattened first: a path whose value is an
 * object has no value at all, and an array contributes each of its elements (objects inside an
 * array are flattened under the array's own path). That gives the documented quirks for free:
 * `exists` only works on leaf nodes, so in a DynamoDB image it must name the type key —
 * `{ unpublished: { SS: [{ exists: true }] } }`, not `{ unpublished: [{ exists: true }] }` (which
 * never matches, and whose `exists: false` always does) — and a String Set (`SS`) matches when
 * any of its elements does. A rule other than `exists: false` needs the path to carry a value.
 *
 * Differences from AWS, for the README: `numeric` matches JSON numbers only, and DynamoDB's `N`
 * values are strings in the record (`{"N": "5"}`), so a `numeric` rule on an `N` never matches
 * here (not verified against AWS); EventBridge's `wildcard`, `cidr`, `$or` and nested
 * `prefix: {equals-ignore-case}` are not implemented and rejected; elements of an array of
 * objects are not kept apart (a pattern can match fields taken from two different elements).
 *
 * Sources: docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html (rule syntax,
 * ORed filters), …/with-ddb-filtering.html (the `dynamodb` key, `exists` on leaf nodes),
 * docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html (matching on arrays).
 */

import { isRecord } from '../lambda/core/values.js';

type Scalar = string | number | boolean | null;

/** One pattern, as a plain object: what CDK's `FilterCriteria.filter()` takes. */
export interface FilterPattern {
  readonly [key: string]: FilterPattern | readonly unknown[];
}

type Rule = (values: readonly Scalar[]) => boolean;

interface Leaf {
  /** The path, encoded so attribute names containing dots cannot collide. */
  key: string;
  rules: Rule[];
}

/**
 * Validates the patterns once (as Lambda does when the mapping is created) and returns the
 * record predicate. No patterns means every record is delivered.
 */
export function compileFilters(patterns: readonly FilterPattern[]): (record: unknown) => boolean {
  const compiled = patterns.map((pattern, index) => compilePattern(pattern, `filters[${index}]`));
  if (compiled.length === 0) return () => true;
  return (record) => {
    const values = flatten(record);
    return compiled.some((leaves) => leaves.every(({ key, rules }) => rules.some((rule) => rule(values.get(key) ?? []))));
  };
}

/** One pattern against one record; for tests and one-off checks. */
export function matchesFilter(pattern: FilterPattern, record: unknown): boolean {
  return compileFilters([pattern])(record);
}

function compilePattern(pattern: unknown, where: string): Leaf[] {
  if (!isRecord(pattern) || Object.keys(pattern).length === 0) {
    throw new Error(`${where}: a filter pattern must be a non-empty object`);
  }
  const leaves: Leaf[] = [];
  const walk = (node: Record<string, unknown>, path: string[]) => {
    for (const [name, value] of Object.entries(node)) {
      const here = [...path, name];
      if (Array.isArray(value)) leaves.push({ key: pathKey(here), rules: value.map((rule) => compileRule(rule, `${where}.${here.join('.')}`)) });
      else if (isRecord(value)) walk(value, here);
      else throw new Error(`${where}.${here.join('.')}: expected an array of rules or a nested object, got ${JSON.stringify(value)}`);
    }
  };
  walk(pattern, []);
  return leaves;
}

function compileRule(rule: unknown, where: string): Rule {
  if (rule === null || typeof rule === 'string' || typeof rule === 'number' || typeof rule === 'boolean') {
    return (values) => values.some((value) => value === rule);
  }
  if (!isRecord(rule) || Object.keys(rule).length !== 1) {
    throw new Error(`${where}: a rule is a value or an object with one operator, got ${JSON.stringify(rule)}`);
  }
  const [operator, operand] = Object.entries(rule)[0]!;
  const compile = OPERATORS[operator];
  if (!compile) throw new Error(`${where}: unsupported filter operator "${operator}"`);
  return compile(operand, `${where}.${operator}`);
}

type Compile = (operand: unknown, where: string) => Rule;

const OPERATORS: Record<string, Compile> = {
  exists: (operand, where) => {
    if (typeof operand !== 'boolean') throw new Error(`${where}: expected true or false`);
    return (values) => (values.length > 0) === operand;
  },
  prefix: (operand, where) => {
    const prefix = requireString(operand, where);
    return anyString((value) => value.startsWith(prefix));
  },
  suffix: (operand, where) => {
    const suffix = requireString(operand, where);
    return anyString((value) => value.endsWith(suffix));
  },
  'equals-ignore-case': (operand, where) => {
    const expected = requireString(operand, where).toLowerCase();
    return anyString((value) => value.toLowerCase() === expected);
  },
  'anything-but': (operand, where) => {
    const excluded = anythingBut(operand, where);
    return (values) => values.some((value) => !excluded(value));
  },
  numeric: (operand, where) => {
    const test = numericRange(operand, where);
    return (values) => values.some((value) => typeof value === 'number' && test(value));
  },
};

/** What `anything-but` excludes: one value, a list of values, or strings with a prefix or suffix. */
function anythingBut(operand: unknown, where: string): (value: Scalar) => boolean {
  if (typeof operand === 'string' || typeof operand === 'number') return (value) => value === operand;
  if (Array.isArray(operand) && operand.length > 0 && operand.every((item) => typeof item === 'string' || typeof item === 'number')) {
    return (value) => (operand as readonly unknown[]).includes(value);
  }
  if (isRecord(operand) && Object.keys(operand).length === 1) {
    const [operator, text] = Object.entries(operand)[0]!;
    const affix = requireString(text, `${where}.${operator}`);
    if (operator === 'prefix') return (value) => typeof value === 'string' && value.startsWith(affix);
    if (operator === 'suffix') return (value) => typeof value === 'string' && value.endsWith(affix);
  }
  throw new Error(`${where}: expected a string, a number, a non-empty list of them, {prefix} or {suffix}`);
}

const COMPARISONS: Record<string, (value: number, bound: number) => boolean> = {
  '=': (value, bound) => value === bound,
  '<': (value, bound) => value < bound,
  '<=': (value, bound) => value <= bound,
  '>': (value, bound) => value > bound,
  '>=': (value, bound) => value >= bound,
};

/** `["=", 5]`, `[">", 0]`, `[">", 0, "<=", 10]`. */
function numericRange(operand: unknown, where: string): (value: number) => boolean {
  const valid =
    Array.isArray(operand) &&
    (operand.length === 2 || operand.length === 4) &&
    operand.every((item, index) => (index % 2 === 0 ? typeof item === 'string' && item in COMPARISONS : Number.isFinite(item)));
  if (!valid) throw new Error(`${where}: expected [operator, number] or [operator, number, operator, number]`);
  const tests: ((value: number) => boolean)[] = [];
  for (let index = 0; index < operand.length; index += 2) {
    const compare = COMPARISONS[operand[index] as string]!;
    const bound = operand[index + 1] as number;
    tests.push((value) => compare(value, bound));
  }
  return (value) => tests.every((test) => test(value));
}

const anyString =
  (test: (value: string) => boolean): Rule =>
  (values) =>
    values.some((value) => typeof value === 'string' && test(value));

function requireString(operand: unknown, where: string): string {
  if (typeof operand !== 'string') throw new Error(`${where}: expected a string, got ${JSON.stringify(operand)}`);
  return operand;
}

/** Every leaf value of the record by path; arrays spread their elements under their own path. */
function flatten(record: unknown): Map<string, Scalar[]> {
  const values = new Map<string, Scalar[]>();
  const add = (path: string[], value: unknown) => {
    if (Array.isArray(value)) {
      for (const element of value) add(path, element);
    } else if (isRecord(value)) {
      for (const [name, child] of Object.entries(value)) add([...path, name], child);
    } else if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      const key = pathKey(path);
      const list = values.get(key);
      if (list) list.push(value);
      else values.set(key, [value]);
    }
  };
  add([], record);
  return values;
}

const pathKey = (path: readonly string[]) => JSON.stringify(path);
