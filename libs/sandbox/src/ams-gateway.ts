import type { KeyObject } from 'node:crypto';
import {
  AmsResult,
  apiOfPath,
  formatAmsTime,
  HeaderBag,
  headerValue,
  isRecord,
  JSON_CONTENT_TYPE,
  parseJson,
  parseSignatureHeader,
  signedResponseHeaders,
  verifySignature,
} from '@upm/alipay';
import type { AmsEngine, EngineReply } from './ams-engine';
import type { ClientRegistry } from './client-registry';
import type { SandboxClock } from './sandbox-clock';
import type { TimerSet } from './timer-set';

export interface AmsHttpRequest {
  /** path and query as received: what the client signed */
  path: string;
  headers: HeaderBag;
  /** the exact bytes received */
  body: Buffer;
}

export interface AmsHttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface GatewayDependencies {
  registry: ClientRegistry;
  engine: AmsEngine;
  privateKey: KeyObject;
  clock: SandboxClock;
  timers: TimerSet;
  latencyMs: number;
  /** observes each answer (metrics) */
  onAnswer?: (api: string, status: string) => void;
}

interface Pending {
  api: string;
  /** S, F, U or HTTP_<status>, for metrics */
  outcome: string;
  holdMs: number;
  before?: Promise<void>;
  render: () => AmsHttpReply;
}

/**
 * The AMS front door, free of any HTTP framework: checks headers and signature (spec §15.1), hands the body
 * to the engine, waits for latency and scenario holds, and signs the answer at the moment it leaves (§15.2).
 */
export class AmsGateway {
  constructor(private readonly deps: GatewayDependencies) {}

  /** The answer to send, or undefined when the sandbox closed while holding it (drop the connection). */
  async handle(request: AmsHttpRequest): Promise<AmsHttpReply | undefined> {
    const pending = this.process(request);
    if (!(await this.deps.timers.sleep(this.deps.latencyMs + pending.holdMs))) return undefined;
    if (pending.before) await pending.before;
    const reply = pending.render();
    this.deps.onAnswer?.(pending.api, pending.outcome);
    return reply;
  }

  private process(request: AmsHttpRequest): Pending {
    const route = apiOfPath(request.path);
    const clientId = headerValue(request.headers, 'client-id');
    const time = headerValue(request.headers, 'request-time');
    const signature = headerValue(request.headers, 'signature');
    const api = route?.api ?? 'unknown';
    if (!clientId || !time || !signature) return this.unsigned(api, rejected('INVALID_SIGNATURE', 'Client-Id, Request-Time and Signature headers are required.'));
    if (!route) return this.signed(api, request.path, clientId, { result: rejected('NO_INTERFACE_DEF', 'The API is not defined.') });
    if (!isJsonUtf8(headerValue(request.headers, 'content-type'))) {
      return this.signed(api, request.path, clientId, { result: rejected('MEDIA_TYPE_NOT_ACCEPTABLE', 'Content-Type must be application/json; charset=UTF-8.') });
    }

    const lookup = this.deps.registry.keyFor(clientId, parseSignatureHeader(signature)?.keyVersion);
    if (!lookup.found) {
      const result = lookup.reason === 'UNKNOWN_CLIENT' ? rejected('INVALID_CLIENT', 'The client id is not registered.') : rejected('KEY_NOT_FOUND', 'No key for this keyVersion.');
      return this.signed(api, request.path, clientId, { result });
    }
    if (!isUrlEncoded(signature) || !verifySignature({ path: request.path, clientId, time, body: request.body }, signature, lookup.key)) {
      return this.unsigned(api, rejected('INVALID_SIGNATURE', 'The signature does not verify.'));
    }
    const body = parseJson(request.body);
    if (!isRecord(body)) return this.signed(api, request.path, clientId, { result: rejected('PARAM_ILLEGAL', 'The body is not a JSON object.') });
    return this.fromEngine(api, request.path, clientId, this.deps.engine.handle(route.api, lookup.client, body));
  }

  private fromEngine(api: string, path: string, clientId: string, reply: EngineReply): Pending {
    const { answer } = reply;
    const pending = answer.kind === 'result' ? this.signed(api, path, clientId, answer.body) : this.bare(api, answer.status, answer.body);
    return { ...pending, holdMs: reply.holdMs, ...(reply.before ? { before: reply.before } : {}) };
  }

  private signed(api: string, path: string, clientId: string, body: object): Pending {
    return {
      api,
      outcome: (body as { result?: AmsResult }).result?.resultStatus ?? 'unknown',
      holdMs: 0,
      render: () => {
        const text = JSON.stringify(body);
        const time = formatAmsTime(this.deps.clock.now());
        return { status: 200, headers: signedResponseHeaders({ path, clientId, time, body: text, privateKey: this.deps.privateKey }), body: text };
      },
    };
  }

  /** Answers Alipay gives without signing them: a request whose signature failed (spec §2.7). */
  private unsigned(api: string, result: AmsResult): Pending {
    return this.bare(api, 200, { result });
  }

  private bare(api: string, status: number, body: object): Pending {
    const outcome = status === 200 ? ((body as { result?: AmsResult }).result?.resultStatus ?? 'unknown') : `HTTP_${status}`;
    return { api, outcome, holdMs: 0, render: () => ({ status, headers: { 'content-type': JSON_CONTENT_TYPE }, body: JSON.stringify(body) }) };
  }
}

/**
 * Alipay URL-decodes the signature as a form value (Java URLDecoder, Python unquote_plus; spec §2.5), so a raw
 * "+" of Base64 that was not URL-encoded becomes a space and the signature no longer verifies.
 */
function isUrlEncoded(header: string): boolean {
  const field = header
    .split(',')
    .map((part) => part.trim())
    .find((part) => part.toLowerCase().startsWith('signature='));
  return field !== undefined && !field.includes('+');
}

/** spec §2.3: the body is JSON in UTF-8, the charset its signature is computed over; a missing charset means UTF-8 */
function isJsonUtf8(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') return false;
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/^"(.*)"$/, '$1');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

function rejected(resultCode: string, resultMessage: string): AmsResult {
  return { resultCode, resultStatus: 'F', resultMessage };
}
