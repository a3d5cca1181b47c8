/** The commands `npm start` suggests, kept here so a test can prove each one still parses. */
export const DEV_LOOP: readonly (readonly [command: string, what: string])[] = [
  ['images create-pending img-1', 'an image waiting for its upload'],
  ['events tail', 'print events as the bus publishes them (60 s)'],
  ['send image-uploaded --id img-1', "Cloudflare's delivery, signed with this run's secret"],
  ['images get img-1', 'the item: status, variants, history'],
  ['images list --status uploaded --since 1h', 'a query on the byStatus index'],
  ['send image-failed --id img-1', 'too late: uploaded is final, so nothing changes'],
  ['send ping', 'the dashboard\'s "Save and Test"'],
  ['images upload cat-1', 'an upload through Cloudflare (the stand-in): the file, then its webhook'],
  ['images sync cat-1', "ask Cloudflare's API; after a lost webhook, this sets the item right"],
  ['--help', 'videos, bad signatures, --stack for a deployed stack'],
];

export function devLoopLines(indent = '    '): string[] {
  const width = Math.max(...DEV_LOOP.map(([command]) => command.length));
  return DEV_LOOP.map(([command, what]) => `${indent}npm run cli -- ${command.padEnd(width)}  ${what}`);
}

/** The same upload by hand, as a product's backend and its user's browser make it. */
export function uploadByHandLines(uploadsUrl: string, indent = '    '): string[] {
  return [
    `${indent}curl -s -X POST ${uploadsUrl} -d '{"id":"cat-2"}'   → {"id","uploadURL","expiresAt"}`,
    `${indent}curl -s -F file=@cat.jpg <uploadURL>                the creator's file; Cloudflare then sends the webhook`,
  ];
}
