import { SecretValue } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ApiSecretKey } from '../lambda/core/contract.js';

/**
 * A Cloudflare API token's secret, `{"accountId", "apiToken"}`, created empty: `npm run connect`
 * (or an operator) fills it in. A generated value would only make Cloudflare answer 403.
 */
export function emptyTokenSecret(scope: Construct, id: string, description: string): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, id, {
    description,
    secretObjectValue: {
      [ApiSecretKey.AccountId]: SecretValue.unsafePlainText(''),
      [ApiSecretKey.ApiToken]: SecretValue.unsafePlainText(''),
    },
  });
}

/** GetSecretValue on this secret only, and decrypt with its key when it has one of its own. */
export function grantSecretRead(role: iam.Role, secret: secretsmanager.ISecret): void {
  role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
  secret.encryptionKey?.grantDecrypt(role);
}
