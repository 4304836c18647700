import { MESSAGE_CATALOG, parseMessage, ContractViolation } from './catalog';
import { createEnvelope } from './envelope';
import { MESSAGE_EXAMPLES } from './examples';
import { TOPICS } from './topics';

const cases = Object.entries(MESSAGE_CATALOG).flatMap(([topic, types]) => Object.keys(types).map((type) => [topic, type] as const));

describe('message catalog', () => {
  it.each(cases)('%s %s has an example that validates', (topic, type) => {
    const example = (MESSAGE_EXAMPLES as Record<string, Record<string, unknown>>)[topic]?.[type];
    expect(example).toBeDefined();
    const envelope = createEnvelope({ type, key: 'pay_01JDZ8X3', data: example, producer: 'test' });
    expect(parseMessage(topic, JSON.parse(JSON.stringify(envelope))).type).toBe(type);
  });

  it('has no example for a type the catalog does not know', () => {
    for (const [topic, examples] of Object.entries(MESSAGE_EXAMPLES)) {
      expect(Object.keys(examples).sort()).toEqual(Object.keys((MESSAGE_CATALOG as Record<string, object>)[topic]).sort());
    }
  });

  it('rejects an unknown type, a bad envelope and bad data with the reason', () => {
    const topic = TOPICS.paymentCommands.name;
    const good = createEnvelope({ type: 'CancelPayment', key: 'pay_1', data: { paymentId: 'pay_1', requestedAt: new Date().toISOString() }, producer: 't' });
    expect(parseMessage(topic, good).data).toMatchObject({ reason: 'POS_ABORT' });
    expect(() => parseMessage(topic, { ...good, type: 'Explode' })).toThrow(/unknown message type: Explode/);
    expect(() => parseMessage(topic, { ...good, occurredAt: 'yesterday' })).toThrow(/bad envelope: occurredAt/);
    expect(() => parseMessage(topic, { ...good, data: { paymentId: '' } })).toThrow(ContractViolation);
    expect(() => parseMessage('nowhere.v1', good)).toThrow(/unknown topic/);
  });

  it('refuses money that is not integer minor units of a known currency', () => {
    const topic = TOPICS.paymentCommands.name;
    const example = MESSAGE_EXAMPLES[topic].RequestPayment as Record<string, unknown>;
    for (const amount of [{ currency: 'HKD', value: '12.50' }, { currency: 'HKD', value: '-1' }, { currency: 'XXX', value: '1' }]) {
      const envelope = createEnvelope({ type: 'RequestPayment', key: 'k', data: { ...example, amount }, producer: 't' });
      expect(() => parseMessage(topic, envelope)).toThrow(/amount/);
    }
  });
});
