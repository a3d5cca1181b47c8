/**
 * What API Gateway's authorizers do in front of the upload route before the function runs, and
 * what they hand it: local mode has no API Gateway, so this stands in for it. Signatures are not
 * checked (that is API Gateway's job, not the function's); only the shape of the credential.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { LocalHandler } from './server.js';
import { LOCAL_ACCOUNT_ID } from './context.js';

/** How the local API stands in for the route's authorizer. */
export type LocalAuth =
  /** IAM: a request without a SigV4 `Authorization` gets API Gateway's 403; others act as `callerArn`. */
  | { readonly type: 'iam'; readonly callerArn?: string }
  /** JWT: a request without `Authorization: Bearer <jwt>` gets API Gateway's 401; the token's payload becomes the claims. */
  | { readonly type: 'jwt' }
  /**
   * `npm start` only: any request acts as an IAM caller (`arn:…:role/local`), so a newcomer can
   * `curl -X POST …/uploads`. The deployed route always has an authorizer.
   */
  | { readonly type: 'open' };


export function authorized(handler: LocalHandler, auth: LocalAuth): LocalHandler {
  return (event, context) => authorize(handler, auth, event, context);
}

async function authorize(handler: LocalHandler, auth: LocalAuth, event: APIGatewayProxyEventV2, context: Context): Promise<unknown> {
  const header = event.headers.authorization ?? '';
  const deny = (statusCode: number, message: string) => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
  let authorizer: Record<string, unknown>;
  if (auth.type === 'iam' || auth.type === 'open') {
    if (auth.type === 'iam' && !header.startsWith('AWS4-HMAC-SHA256 ')) return deny(403, 'Forbidden');
    const userArn = auth.type === 'iam' ? (auth.callerArn ?? `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/backend`) : `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/local`;
    authorizer = { iam: { accountId: LOCAL_ACCOUNT_ID, userArn, principalOrgId: null, callerId: 'AROAEXAMPLE:backend', cognitoIdentity: null, accessKey: 'ASIAEXAMPLE', userId: 'AROAEXAMPLE' } };
  } else {
    const token = /^Bearer ([^.]+)\.([^.]+)\.([^.]*)$/.exec(header);
    if (!token) return deny(401, 'Unauthorized');
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(token[2]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return deny(401, 'Unauthorized');
    }
    // HTTP API passes claims as strings.
    authorizer = { jwt: { claims: Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])), scopes: null } };
  }
  return handler({ ...event, requestContext: { ...event.requestContext, authorizer } } as APIGatewayProxyEventV2, context);
}

/** An unsigned JWT with these claims: enough for the local JWT stand-in. */
export function localJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: 'https://issuer.example', aud: 'app', exp: Math.floor(Date.now() / 1000) + 600, ...claims })}.sig`;
}

/** What a SigV4-signing backend sends; the local IAM stand-in only checks the scheme. */
export const sigV4Header = 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000';
