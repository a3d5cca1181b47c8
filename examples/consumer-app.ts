/**
 * The receiver and the example consumer in one CDK app:
 *
 *   npx cdk synth --app "npx tsx examples/consumer-app.ts"
 */
import { createApp } from '../lib/app.js';
import { WebhookConsumerStack } from './consumer-stack.js';

const { app, stack } = createApp();
new WebhookConsumerStack(app, `${stack.stackName}Consumer`, { eventBus: stack.receiver.eventBus });
app.synth();
