import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, LookupFunction } from 'node:net';
import { assertPublicAddresses, hostOf, NonPublicEndpoint } from './address-policy';
import { DeliveryFailure, failureOfNetworkError, failureOfStatus } from './delivery-failure';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** how long the attempt may take, name resolution and connection included, until the answer's status */
  timeoutMs: number;
  /** whether to refuse addresses that are not public (address-policy.ts) */
  publicOnly: boolean;
}

/** How an attempt ended: the status of the answer if one came, and why it failed unless it was a 2xx. */
export type WebhookAnswer = { statusCode: number; failure?: DeliveryFailure } | { statusCode?: undefined; failure: DeliveryFailure };

/**
 * POSTs a webhook and answers with the status as soon as it arrives: the body is dropped unread (an endpoint
 * streaming without end costs nothing) and a redirect is not followed. With `publicOnly`, the host is resolved
 * for the connection itself and every address it answers is checked there, so the connection goes only to
 * checked addresses: a name cannot answer a public address to a check and a private one to the connection.
 * Its own connection each time, never a pooled one that another caller opened unchecked.
 */
export async function postWebhook(request: WebhookRequest, lookup: LookupFunction = dnsLookup): Promise<WebhookAnswer> {
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const statusCode = await post(request, request.publicOnly ? publicOnlyLookup(lookup) : lookup, signal);
    const failure = failureOfStatus(statusCode);
    return failure ? { statusCode, failure } : { statusCode };
  } catch (caught) {
    if (signal.aborted) return { failure: { code: 'ENDPOINT_TIMEOUT', detail: `no answer within ${request.timeoutMs} ms` } };
    if (caught instanceof NonPublicEndpoint) return { failure: { code: 'ENDPOINT_NOT_PUBLIC', detail: caught.message } };
    return { failure: failureOfNetworkError(caught as NodeJS.ErrnoException) };
  }
}

async function post(request: WebhookRequest, lookup: LookupFunction, signal: AbortSignal): Promise<number> {
  const url = new URL(request.url);
  const host = hostOf(url);
  // an address in the URL is connected to without a lookup, so it is checked here
  if (request.publicOnly && isIP(host)) assertPublicAddresses(host, [{ address: host }]);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: 'POST', headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) }, lookup, agent: false, signal });
    outgoing.on('response', (response) => {
      response.destroy();
      resolve(response.statusCode!);
    });
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** `lookup`, failing the connection when any address of the name is not public: the connection gets only checked addresses. */
function publicOnlyLookup(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) =>
    lookup(hostname, { ...options, all: true }, (error, answer) => {
      if (error) return callback(error, '');
      const addresses = answer as LookupAddress[];
      try {
        assertPublicAddresses(hostname, addresses);
      } catch (refused) {
        return callback(refused as NonPublicEndpoint, '');
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
}
