import { DEFAULT_SAGA_CONFIG } from '@upm/payments-domain';
import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('payment-orchestrator configuration', () => {
  it('takes the saga timing of CONTRACTS §3 by default', () => {
    expect(loadConfig(configDefinition, {}).orchestrator.saga).toEqual(DEFAULT_SAGA_CONFIG);
  });

  it('maps the timing variables', () => {
    const { saga } = loadConfig(configDefinition, { SAGA_MAX_INQUIRIES: '2', SAGA_CANCEL_RETRY_DELAYS_MS: '100, 200', SAGA_REFUND_INQUIRY_DELAYS_MS: '50' }).orchestrator;
    expect(saga).toMatchObject({ maxInquiries: 2, cancelRetryDelaysMs: [100, 200], refundInquiryDelaysMs: [50] });
  });

  it('refuses to boot on a delay of zero, naming each variable that holds one', () => {
    expect(() => loadConfig(configDefinition, { SAGA_CANCEL_RETRY_DELAYS_MS: '2000,0', SAGA_REFUND_INQUIRY_DELAYS_MS: '0' })).toThrow(
      new ConfigError(['SAGA_CANCEL_RETRY_DELAYS_MS[1] must be a positive integer, got 0', 'SAGA_REFUND_INQUIRY_DELAYS_MS[0] must be a positive integer, got 0']),
    );
  });
});
