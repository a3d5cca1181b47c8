/**
 * The instant AWS stub: a node:http server on 127.0.0.1 that answers the four operations the
 * webhook and relay functions use with canned JSON, chosen by X-Amz-Target, so the warm and cold
 * benchmarks measure the function and the SDK, never a service.
 *
 *   DynamoDB GetItem               the requested id as a pending item (STUB_PENDING_ITEM), so every
 *                                  delivery transitions and the relay finds an empty outbox
 *   DynamoDB UpdateItem/PutItem    {}
 *   EventBridge PutEvents          {FailedEntryCount: 0, Entries: [{EventId}] per entry}
 *   Secrets Manager GetSecretValue SECRET_STRING from the environment
 *
 * Runs as its own process (node bench/child/stub.mjs) so its CPU is not charged to the function
 * under test; prints `{"port": N}` on stdout when listening and exits when stdin closes.
 */
import { createServer } from 'node:http';

const secretString = process.env.STUB_SECRET_STRING ?? '{}';
// GetItem's answer, with "__ID__" and "__KIND__" filled in per request (bench/deliveries.ts pendingItem).
const pendingTemplate = process.env.STUB_PENDING_ITEM ?? '{"id":{"S":"__ID__"},"kind":{"S":"__KIND__"},"status":{"S":"pending"}}';
// Request bodies kept for the cost model (item size → write units), for ids matching this.
const sampleIds = process.env.STUB_SAMPLE_IDS ? new RegExp(process.env.STUB_SAMPLE_IDS) : undefined;
const samples = [];
const counts = {};
let eventSeq = 0;

const ID = /"id":\{"S":"((?:[^"\\]|\\.)*)"\}/;
const ENTRY = /"DetailType"/g;

function answer(target, body) {
  switch (target) {
    case 'DynamoDB_20120810.GetItem': {
      const id = ID.exec(body)?.[1] ?? 'missing';
      const kind = id.startsWith('vid-') ? 'video' : 'image';
      return ['application/x-amz-json-1.0', `{"Item":${pendingTemplate.replace('__ID__', id).replace('__KIND__', kind)}}`];
    }
    case 'DynamoDB_20120810.UpdateItem':
    case 'DynamoDB_20120810.PutItem':
      return ['application/x-amz-json-1.0', '{}'];
    case 'AWSEvents.PutEvents': {
      const n = body.match(ENTRY)?.length ?? 1;
      const entries = Array.from({ length: n }, () => `{"EventId":"stub-${++eventSeq}"}`).join(',');
      return ['application/x-amz-json-1.1', `{"FailedEntryCount":0,"Entries":[${entries}]}`];
    }
    case 'secretsmanager.GetSecretValue':
      return [
        'application/x-amz-json-1.1',
        JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench', Name: 'bench', SecretString: secretString, VersionId: 'v1' }),
      ];
    default:
      return undefined;
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const target = String(req.headers['x-amz-target'] ?? '');
    counts[target] = (counts[target] ?? 0) + 1;
    const body = Buffer.concat(chunks).toString('utf8');
    if (sampleIds && target.startsWith('DynamoDB_') && samples.length < 100) {
      const id = ID.exec(body)?.[1];
      if (id !== undefined && sampleIds.test(id)) samples.push({ target, body: JSON.parse(body) });
    }
    const reply = answer(target, body);
    if (!reply) {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `stub does not answer ${target}` }));
      return;
    }
    res.writeHead(200, { 'content-type': reply[0], 'content-length': Buffer.byteLength(reply[1]), 'x-amzn-requestid': 'stub' });
    res.end(reply[1]);
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

// The parent asks for the per-operation counts and samples by writing a line, and ends us by closing stdin.
process.stdin.setEncoding('utf8');
process.stdin.on('data', () => process.stdout.write(`${JSON.stringify({ counts, samples })}\n`));
process.stdin.on('end', () => process.exit(0));
