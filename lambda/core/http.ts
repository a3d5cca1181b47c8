import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { answerOf } from './errors.js';

export function json(statusCode: number, body: unknown, headers: Readonly<Record<string, string>> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** An error as HTTP, from its row of the error table (`errors.ts`). */
export function errorResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
  const answer = answerOf(error);
  return json(answer.status, answer.body, answer.headers);
}
