/** The commands `npm start` suggests, kept here so a test can prove each one still parses. */
export const DEV_LOOP: readonly (readonly [command: string, what: string])[] = [
  ['images create-pending img-1', 'an image waiting for its upload'],
  ['events tail', 'print events as the bus publishes them (60 s)'],
  ['send image-uploaded --id img-1', "Cloudflare's delivery, signed with this run's secret"],
  ['images get img-1', 'the item: status, variants, history'],
  ['images list --status uploaded --since 1h', 'a query on the byStatus index'],
  ['send image-failed --id img-1', 'too late: uploaded is final, so nothing changes'],
  ['send ping', 'the dashboard\'s "Save and Test"'],
  ['--help', 'videos, bad signatures, --stack for a deployed stack'],
];

export function devLoopLines(indent = '    '): string[] {
  const width = Math.max(...DEV_LOOP.map(([command]) => command.length));
  return DEV_LOOP.map(([command, what]) => `${indent}npm run cli -- ${command.padEnd(width)}  ${what}`);
}
