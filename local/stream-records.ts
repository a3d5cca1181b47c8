/**
 * A DynamoDB stream record as the SDK reads it (GetRecords), turned into the record Lambda hands a
 * function: what the local poller invokes the relay with, and what `events redrive` reads back.
 */
import type { _Record as SdkRecord, AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

/** The record as Lambda's event carries it: binary as base64, the creation time in epoch seconds. */
export function toLambdaRecord(raw: SdkRecord, streamArn: string): DynamoDBRecord {
  const stream = raw.dynamodb ?? {};
  const image = (attributes: Record<string, SdkAttributeValue> | undefined) =>
    attributes && Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, toLambdaAttribute(value)]));
  return {
    eventID: raw.eventID,
    eventName: raw.eventName,
    eventVersion: raw.eventVersion,
    eventSource: raw.eventSource ?? 'aws:dynamodb',
    awsRegion: raw.awsRegion,
    dynamodb: withoutUndefined({
      ApproximateCreationDateTime: stream.ApproximateCreationDateTime && Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000),
      Keys: image(stream.Keys),
      NewImage: image(stream.NewImage),
      OldImage: image(stream.OldImage),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    }),
    eventSourceARN: streamArn,
    // Present on deletions by TTL.
    ...(raw.userIdentity && { userIdentity: { type: raw.userIdentity.Type, principalId: raw.userIdentity.PrincipalId } }),
  };
}

function toLambdaAttribute(value: SdkAttributeValue): AttributeValue {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) {
    return { M: Object.fromEntries(Object.entries(value.M).map(([name, member]) => [name, toLambdaAttribute(member)])) };
  }
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttribute) };
  return { ...value } as unknown as AttributeValue;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as T;
}
