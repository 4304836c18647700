import { exportQuery, resolveBody, transactionsQuery } from './schemas';

describe('the finance API request schemas', () => {
  // A day the calendar lacks reached PostgreSQL's date cast and failed there, answering 500 instead of 400.
  it.each(['2026-02-30', '2026-02-29', '2026-04-31', '2026-11-00', '2026-13-01'])('refuses %s, a day the calendar lacks', (day) => {
    expect(exportQuery.safeParse({ day }).success).toBe(false);
    expect(transactionsQuery.safeParse({ day }).success).toBe(false);
  });

  it.each(['2026-11-27', '2028-02-29', '2026-12-31'])('takes %s', (day) => {
    expect(exportQuery.safeParse({ day }).data).toEqual({ day });
  });

  // a resolution records who and why: blanks record neither
  it.each([{ resolvedBy: '   ', note: 'checked' }, { resolvedBy: 'finance@chain.example', note: '\n\t ' }])('refuses a blank resolution %#', (body) => {
    expect(resolveBody.safeParse(body).success).toBe(false);
  });

  it('takes a resolution that says who and why', () => {
    expect(resolveBody.safeParse({ resolvedBy: 'finance@chain.example', note: 'checked with Alipay' }).data).toEqual({ resolvedBy: 'finance@chain.example', note: 'checked with Alipay', adjust: false });
  });
});
