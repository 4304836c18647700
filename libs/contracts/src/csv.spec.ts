import { csvRecords, parseCsv, toCsvLine } from './csv';

describe('csv', () => {
  it('reads quoted fields, doubled quotes, CRLF and a byte-order mark', () => {
    expect(parseCsv('\ufeffa,b,c\r\n"x, y","say ""hi""",\n1,2,3\n')).toEqual([['a', 'b', 'c'], ['x, y', 'say "hi"', ''], ['1', '2', '3']]);
  });

  it('writes what it reads', () => {
    const fields = ['plain', 'with, comma', 'with "quote"', '', 'line\nbreak'];
    expect(parseCsv(toCsvLine(fields))).toEqual([fields]);
  });

  it('maps rows to the header', () => {
    expect(csvRecords('id,name\n1,Ann\n2,"Bo, Jr"\n').records).toEqual([{ id: '1', name: 'Ann' }, { id: '2', name: 'Bo, Jr' }]);
  });

  it('refuses an unterminated quote', () => {
    expect(() => parseCsv('a,"b\n')).toThrow(/unterminated/);
  });
});
