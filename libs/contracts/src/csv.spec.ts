import { csvRecordRows, csvRecords, parseCsv, parseCsvRows, toCsvLine } from './csv';

describe('csv', () => {
  it('reads quoted fields, doubled quotes, CRLF and a byte-order mark', () => {
    expect(parseCsv('\ufeffa,b,c\r\n"x, y","say ""hi""",\n1,2,3\n')).toEqual([['a', 'b', 'c'], ['x, y', 'say "hi"', ''], ['1', '2', '3']]);
  });

  it('writes what it reads', () => {
    const fields = ['plain', 'with, comma', 'with "quote"', '', 'line\nbreak'];
    expect(parseCsv(toCsvLine(fields))).toEqual([fields]);
  });

  // OWASP CSV injection: a report's text (a merchant id, Alipay's transaction id) landed in finance's export as a formula
  it.each(['=HYPERLINK("http://x.example","open")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(1+1)', '\tcalc', '\r=1', '-', '+5'])(
    'writes a text field %j a spreadsheet would run as a formula with a leading quote',
    (text) => {
      const [[cell]] = parseCsv(toCsvLine([text]));
      expect(cell).toBe(`'${text}`);
    },
  );

  it('leaves numbers, and text that starts otherwise, as they are', () => {
    expect(toCsvLine([-1250, '-1250', '-12.50', '0.10', 12, 'A-pay_1', 'SETTLED_FUNDS:=x:HKD', null])).toBe('-1250,-1250,-12.50,0.10,12,A-pay_1,SETTLED_FUNDS:=x:HKD,');
  });

  it('maps rows to the header', () => {
    expect(csvRecords('id,name\n1,Ann\n2,"Bo, Jr"\n').records).toEqual([{ id: '1', name: 'Ann' }, { id: '2', name: 'Bo, Jr' }]);
  });

  it('tells each record\'s first file line, counting blank lines and the line breaks inside quoted fields', () => {
    const text = 'a,b\n\n1,"two\nlines"\r\n\r\n3,"x\r\ny\rz"\n4,4\n';
    expect(parseCsvRows(text)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, fields: ['1', 'two\nlines'] },
      { line: 6, fields: ['3', 'x\r\ny\rz'] },
      { line: 9, fields: ['4', '4'] },
    ]);
    expect(csvRecordRows(text).rows.map((r) => r.line)).toEqual([3, 6, 9]);
  });

  it('tells how many fields a record has, so one with more than the header names is not read short', () => {
    expect(csvRecordRows('id,name\n1,Ann\n2,Bo,Jr\n3\n').rows).toEqual([
      { line: 2, values: { id: '1', name: 'Ann' }, fieldCount: 2 },
      { line: 3, values: { id: '2', name: 'Bo' }, fieldCount: 3 },
      { line: 4, values: { id: '3', name: '' }, fieldCount: 1 },
    ]);
  });

  it('refuses an unterminated quote, naming the line it opens on', () => {
    expect(() => parseCsv('a,"b\n')).toThrow(/unterminated/);
    expect(() => parseCsv('a,b\n\n1,"x\ny"\n2,"z\n3,w\n')).toThrow(expect.objectContaining({ name: 'CsvSyntaxError', line: 5, message: expect.stringMatching(/line 5/) }));
  });
});
