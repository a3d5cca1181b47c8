import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CloudflareWebhookReceiver, type CloudflareWebhookReceiverProps } from './webhook-receiver.js';

export interface CloudflareWebhookStackProps extends StackProps {
  /**
   * Configuration of the receiver.
   * @default - the receiver's defaults
   */
  readonly receiver?: CloudflareWebhookReceiverProps;
}

export class CloudflareWebhookStack extends Stack {
  public readonly receiver: CloudflareWebhookReceiver;

  constructor(scope: Construct, id: string, props: CloudflareWebhookStackProps = {}) {
    super(scope, id, props);

    this.receiver = new CloudflareWebhookReceiver(this, 'Receiver', props.receiver);

    // Output ids are an interface: deploy tooling and the README look these up by name.
    const outputs: Record<string, { value: string; description: string }> = {
      ImagesWebhookUrl: {
        value: this.receiver.imagesWebhookUrl,
        description: 'URL of the Cloudflare Notifications (Images) webhook destination',
      },
      StreamWebhookUrl: {
        value: this.receiver.streamWebhookUrl,
        description: 'URL to register with PUT /accounts/{account_id}/stream/webhook',
      },
      TableName: { value: this.receiver.table.tableName, description: 'Images and videos table' },
      EventBusName: { value: this.receiver.eventBus.eventBusName, description: 'Bus the receiver publishes to' },
      EventBusArn: { value: this.receiver.eventBus.eventBusArn, description: 'Bus the receiver publishes to' },
      SecretArn: {
        value: this.receiver.secret.secretArn,
        description: 'Webhook secrets: JSON {images, stream, toolkit}',
      },
    };
    const { cloudflareReadSecret, eventArchive, relay } = this.receiver;
    if (cloudflareReadSecret) {
      outputs.CloudflareReadSecretArn = {
        value: cloudflareReadSecret.secretArn,
        description: 'Read-only Cloudflare API token (Images Read, Stream Read) that confirms webhooks: JSON {accountId, apiToken}',
      };
    }
    if (eventArchive) outputs.EventArchiveArn = { value: eventArchive.archiveArn, description: 'Archive of every event, for npm run cli -- events replay' };
    if (relay) {
      outputs.RelayDeadLetterQueueUrl = {
        value: relay.deadLetterQueue.queueUrl,
        description: 'Stream batches the relay gave up on, for npm run cli -- events redrive',
      };
    }
    if (this.receiver.uploads) {
      outputs.UploadsUrl = { value: this.receiver.uploads.url, description: 'POST here to create a Cloudflare direct creator upload' };
      outputs.CloudflareApiSecretArn = {
        value: this.receiver.uploads.apiSecret.secretArn,
        description: 'Cloudflare API token of the upload route: JSON {accountId, apiToken}',
      };
    }
    const ipSets = this.receiver.frontDoor?.ipSets;
    if (ipSets) {
      // For `npm run cli -- front-door refresh-ips --stack <name>`.
      outputs.CloudflareIpv4SetArn = { value: ipSets.ipv4.attrArn, description: "AWS WAF IP set of Cloudflare's IPv4 ranges (front door)" };
      outputs.CloudflareIpv6SetArn = { value: ipSets.ipv6.attrArn, description: "AWS WAF IP set of Cloudflare's IPv6 ranges (front door)" };
    }
    for (const [outputId, output] of Object.entries(outputs)) {
      new CfnOutput(this, outputId, output);
    }
  }
}
