import { LogFormatter, LogItem, Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * Powertools' line without the keys that are the same on every line of a log group
 * (`service`, `function_name`, `function_arn`, `function_memory_size`, `sampling_rate`): the
 * log group already names the function, and CloudWatch bills each byte of every line. What
 * varies per line stays: level, message, timestamp, the Lambda request id, `cold_start`, the
 * X-Ray trace id and tenant id when there is one, then the line's own attributes.
 */
export class LeanLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    // LogItem drops the keys left undefined (no context outside Lambda, no trace id).
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        cold_start: context?.coldStart,
        function_request_id: context?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
        tenant_id: context?.tenantId,
      },
    }).addAttributes(additionalLogAttributes);
  }
}

/** The functions' logger: Powertools (log level, context, error formatting) with the lean line. */
export function createLogger(): Logger {
  return new Logger({ logFormatter: new LeanLogFormatter() });
}
