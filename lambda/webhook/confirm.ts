import { CloudflareApiError, type ApiFailure } from '../core/cloudflare.js';
import { ConfirmMode, ImageStatus, ItemKind } from '../core/contract.js';
import { DependencyError } from '../core/errors.js';
import type { StatusReport } from '../core/item.js';
import { Confirmation } from '../core/metrics.js';
import { NOT_FOUND, reportFromApi } from '../core/reconcile.js';
import type { CloudflareReader } from '../adapters/cloudflare.js';
import type { Observation } from './parse.js';

export { Confirmation };

/**
 * Step 3: a webhook is a signal, Cloudflare's API is the truth. What the delivery's fields say is
 * confirmed with the API when they settle nothing (mode `unconfirmed`) or always (`always`), and
 * Cloudflare's answer wins. Without a read token nothing is asked and the fields decide alone.
 */

export type Confirmed =
  | { readonly type: 'report'; readonly report: StatusReport; readonly confirmation: Confirmation; readonly apiFailure?: ApiFailure }
  | { readonly type: 'ignored'; readonly reason: string; readonly confirmation: Confirmation };

export async function confirm(observation: Observation, mode: ConfirmMode, cloudflare: CloudflareReader | undefined, now: Date): Promise<Confirmed> {
  const fields = settledReport(observation);
  const ask = mode === ConfirmMode.Always || (mode === ConfirmMode.Unconfirmed && !fields);
  if (!ask || !cloudflare || !(await cloudflare.configured())) {
    if (fields) return { type: 'report', report: fields, confirmation: Confirmation.NotAsked };
    const why = mode === ConfirmMode.Never ? 'confirmation is off' : 'no Cloudflare read token is configured';
    return { type: 'ignored', reason: `the notification's fields do not settle the outcome and ${why}`, confirmation: Confirmation.Unsettled };
  }

  let truth;
  try {
    truth = observation.kind === ItemKind.Image ? await cloudflare.image(observation.id) : await cloudflare.video(observation.id);
  } catch (error) {
    if (!(error instanceof CloudflareApiError)) throw error;
    // The fields settle it: a Cloudflare outage must not lose a delivery it could only have confirmed.
    if (fields) return { type: 'report', report: fields, confirmation: Confirmation.Unavailable, apiFailure: error.failure };
    // Nothing settles it: write nothing, answer 500; the sweep (or a retry) settles it later.
    throw new DependencyError('cloudflare', `could not confirm ${observation.kind} ${observation.id} with Cloudflare: ${error.message}`, { cause: error });
  }

  const fromApi = reportFromApi(observation, truth, now);
  if (fromApi) {
    const confirmation = fromApi.error?.code === NOT_FOUND ? Confirmation.NotFound : !fields || fromApi.status === fields.status ? Confirmation.Confirmed : Confirmation.Corrected;
    return { type: 'report', report: keepTrigger(fromApi, observation), confirmation };
  }
  if (truth.state === 'processing') return { type: 'ignored', reason: `Cloudflare says the video is still ${truth.streamState}`, confirmation: Confirmation.Pending };
  // Still a draft at Cloudflare: the upload has not completed. A reported failure stands; anything else is a draft.
  const status = observation.status === ImageStatus.Failed ? ImageStatus.Failed : ImageStatus.Draft;
  return { type: 'report', report: { ...reportOf(observation, status), ...(status === ImageStatus.Draft && { error: undefined }) }, confirmation: Confirmation.Pending };
}

function settledReport(observation: Observation): StatusReport | undefined {
  return observation.status === undefined ? undefined : reportOf(observation, observation.status);
}

function reportOf(observation: Observation, status: StatusReport['status']): StatusReport {
  const { status: _ignored, ...rest } = observation;
  return { ...rest, status };
}

/** Cloudflare's report keeps what the delivery carried for audit: the raw `data` and the envelope's ids. */
function keepTrigger(report: StatusReport, observation: Observation): StatusReport {
  const notification = observation.attributes.notification;
  return {
    ...report,
    attributes: { ...report.attributes, ...(notification !== undefined && { notification }) },
    ...(observation.notification && { notification: observation.notification }),
  };
}
