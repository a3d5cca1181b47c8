/**
 * Which of a bus's rules could match an event of a given detail-type: what `events replay
 * --detail-type` hands StartReplay as `FilterArns`, since a replay narrows by rule, not by event.
 *
 * Our own evaluation of the rule's pattern, not `TestEventPattern`: that call needs one concrete
 * event, and a rule keyed on a field we cannot know in advance (an item's id, its metadata) would
 * be judged against a made-up value. Here every field the receiver fixes per detail-type is known
 * (`source`, `detail-type`, `detail.kind`, `detail.status`, and `replay-name`, present on every
 * replayed event); every other field is unknown and is taken to match. A rule is left out only when
 * a known field rules it out, so the answer errs towards replaying to a rule, never away from one.
 * (moto does not implement `TestEventPattern` either, so local mode could not use it.)
 *
 * Matching follows EventBridge's content filtering
 * (docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html): a field's list
 * matches when any of its entries does; every field of the pattern must match; `$or` takes any of
 * its branches.
 */
import { EVENT_SOURCE, type DetailType } from '../lambda/core/contract.js';
import { PUBLISHED } from '../lambda/core/events.js';

/** A field the evaluation knows the value of, knows is present with an unknown value, or knows nothing about. */
type Known = string | typeof PRESENT | { readonly [field: string]: Known };
const PRESENT = Symbol('present, value unknown');

/** The fields every event of `detailType` carries with these values, once per (kind, status) it can have. */
function knownFields(detailType: DetailType): Record<string, Known>[] {
  return PUBLISHED.filter((event) => event.detailType === detailType).map((event) => ({
    source: EVENT_SOURCE,
    'detail-type': detailType,
    'replay-name': PRESENT,
    detail: { kind: event.kind, status: event.status },
  }));
}

/** Whether a rule with this pattern (EventBridge's JSON) could match some replayed event of `detailType`. */
export function couldMatch(pattern: unknown, detailType: DetailType): boolean {
  return knownFields(detailType).some((event) => matchesObject(pattern, event));
}

function matchesObject(pattern: unknown, known: Readonly<Record<string, Known>>): boolean {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) return true;
  return Object.entries(pattern).every(([field, expected]) => {
    if (field === '$or') return !Array.isArray(expected) || expected.some((branch) => matchesObject(branch, known));
    const value = known[field];
    if (value === undefined) return true;
    if (Array.isArray(expected)) return typeof value === 'object' ? true : expected.some((entry) => matchesLeaf(entry, value));
    // A nested pattern under a field we know is a string (or present only) cannot match it.
    if (typeof value === 'object') return matchesObject(expected, value);
    return value === PRESENT;
  });
}

/** One entry of a field's list against a known string, or against a field known to be present. */
function matchesLeaf(entry: unknown, value: string | typeof PRESENT): boolean {
  if (typeof entry !== 'object' || entry === null) return value === PRESENT ? true : entry === value;
  const [operator, operand] = Object.entries(entry)[0] ?? [];
  if (operator === 'exists') return operand === true;
  if (value === PRESENT) return true;
  switch (operator) {
    case 'prefix':
      return textTest(operand, (text, ignoreCase) => fold(value, ignoreCase).startsWith(fold(text, ignoreCase)));
    case 'suffix':
      return textTest(operand, (text, ignoreCase) => fold(value, ignoreCase).endsWith(fold(text, ignoreCase)));
    case 'equals-ignore-case':
      return typeof operand === 'string' && operand.toLowerCase() === value.toLowerCase();
    case 'wildcard':
      return typeof operand === 'string' && wildcard(operand).test(value);
    case 'anything-but':
      return !anythingBut(operand, value);
    case 'numeric':
    case 'cidr':
      return false;
    default:
      // An operator this code does not know: err towards the rule.
      return true;
  }
}

/** Whether `value` is one of what `anything-but` names (so the rule does not match). */
function anythingBut(operand: unknown, value: string): boolean {
  if (Array.isArray(operand)) return operand.includes(value);
  if (typeof operand === 'object' && operand !== null) return matchesLeaf(operand, value);
  return operand === value;
}

/** `prefix`/`suffix` take a string, or `{"equals-ignore-case": string}`. */
function textTest(operand: unknown, test: (text: string, ignoreCase: boolean) => boolean): boolean {
  if (typeof operand === 'string') return test(operand, false);
  const folded = (operand as Record<string, unknown> | null)?.['equals-ignore-case'];
  return typeof folded === 'string' ? test(folded, true) : true;
}

const fold = (text: string, ignoreCase: boolean) => (ignoreCase ? text.toLowerCase() : text);

function wildcard(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's');
}
