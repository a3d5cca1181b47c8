import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * Behind the front door (lib/front-door.ts) the function is invoked by a REST API, which sends
 * payload format 1.0; everything after this reads 2.0, as the HTTP API sends it. Only what the
 * function reads is carried over, the way 2.0 spells it:
 *
 * - `routeKey` is `<method> <resource>`: the route template API Gateway matched, never a path the
 *   sender chose;
 * - header names lower-cased, and a repeated header's values joined with commas (1.0 keeps the
 *   sender's spelling and lists repeats in `multiValueHeaders`), so a duplicated signature header
 *   fails exactly as it does on the HTTP API;
 * - the body as it came: the REST API declares every media type binary, so it arrives base64,
 *   byte for byte what the sender signed.
 */
export function asHttpApiEvent(event: APIGatewayProxyEventV2 | APIGatewayProxyEvent): APIGatewayProxyEventV2 {
  if (!('httpMethod' in event)) return event;
  return {
    version: '2.0',
    routeKey: `${event.httpMethod} ${event.resource}`,
    rawPath: event.path,
    rawQueryString: '',
    headers: headersOf(event),
    ...(event.body !== null && { body: event.body }),
    isBase64Encoded: event.isBase64Encoded,
    requestContext: { requestId: event.requestContext.requestId } as APIGatewayProxyEventV2['requestContext'],
  };
}

function headersOf(event: APIGatewayProxyEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]},${value}` : value;
  };
  const repeated = event.multiValueHeaders ?? {};
  for (const [name, values] of Object.entries(repeated)) for (const value of values ?? []) add(name, value);
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !(name in repeated)) add(name, value);
  }
  return headers;
}
