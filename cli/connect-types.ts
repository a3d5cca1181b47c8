/** What `connect` takes and reports, shared by the command (cli/connect.ts) and each of its steps. */
import type { SecretStore } from './secret-store.js';

export type ConnectArea = 'secret' | 'stream' | 'images' | 'policy' | 'uploads' | 'read';

export interface ConnectAction {
  readonly area: ConnectArea;
  /** `unchanged` when Cloudflare or the secret already had it right; `planned` in a dry run. */
  readonly result: 'created' | 'updated' | 'stored' | 'dropped' | 'unchanged' | 'planned' | 'warning';
  readonly message: string;
  readonly id?: string;
}

export interface ConnectReport {
  readonly accountId: string;
  readonly dryRun: boolean;
  readonly actions: readonly ConnectAction[];
}

export interface ConnectSettings {
  readonly accountId: string;
  readonly apiToken: string;
  /** @default Cloudflare's API */
  readonly baseURL?: string;
  readonly imagesUrl: string;
  readonly streamUrl: string;
  /** The webhook secret `{images, stream, toolkit}`. */
  readonly secretId: string;
  readonly secrets: SecretStore;
  readonly graceMs: number;
  readonly rotate?: boolean;
  readonly dryRun?: boolean;
  readonly only?: 'images' | 'stream';
  /** Name of the webhook destination; the policy is named after it. */
  readonly name: string;
  /** The upload route's secret, and a token to store in it. */
  readonly uploads?: ApiSecretTarget;
  /** The read-only API secret, and a token to store in it. */
  readonly read?: ApiSecretTarget;
  readonly now: () => Date;
  /** @default 2 (the SDK's default) */
  readonly maxRetries?: number;
}

export interface ApiSecretTarget {
  readonly secretId: string;
  readonly apiToken?: string;
}

/** Records one line of the report. */
export type Act = (area: ConnectArea, result: ConnectAction['result'], message: string, id?: string) => void;
