/** Client settings for the local emulator; moto accepts any credentials but the SDK insists on some. */
export function localClientConfig(endpoint: string) {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
}
