import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** moto's default account, so ARNs in events, contexts and the emulator agree. */
export const LOCAL_ACCOUNT_ID = '123456789012';

/** A local function's ARN, as Lambda would name it in the emulator's account and region. */
export const localFunctionArn = (functionName: string) => `arn:aws:lambda:us-east-1:${LOCAL_ACCOUNT_ID}:function:${functionName}`;

/** What Lambda hands a function besides its event; its clock counts down from `timeoutMs`. */
export function lambdaContext(
  functionName: string,
  timeoutMs: number,
  { functionArn, requestId }: { functionArn?: string; requestId?: string } = {},
): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = () => {
    throw new Error('context.done/fail/succeed are not supported locally; return or throw instead');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn ?? localFunctionArn(functionName),
    memoryLimitInMB: '256',
    awsRequestId: requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
