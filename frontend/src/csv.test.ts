import { describe, expect, it } from 'vitest';
import { formatHoldings, isAmount, parseCsv, parseHoldings, previewRoster } from './csv';

describe('parseCsv', () => {
  it('splits cells and keeps line numbers, skipping blank lines', () => {
    const t = parseCsv('name,starting_cash,AAPL\r\nAnn,50000,10\n\nBo,,\n');
    expect(t.header).toEqual(['name', 'starting_cash', 'AAPL']);
    expect(t.rows).toEqual([
      { line: 2, cells: ['Ann', '50000', '10'] },
      { line: 4, cells: ['Bo', '', ''] },
    ]);
  });

  it('reads quoted cells with commas, doubled quotes and newlines', () => {
    const t = parseCsv('name,AAPL\n"Smith, Ann",1\n"Bo ""B"" Lee",2\n"two\nlines",3\nlast,4');
    expect(t.rows.map((r) => r.cells[0])).toEqual(['Smith, Ann', 'Bo "B" Lee', 'two\nlines', 'last']);
    expect(t.rows.map((r) => r.line)).toEqual([2, 3, 4, 6]);
  });

  it('refuses an unterminated quote', () => {
    expect(() => parseCsv('name\n"Ann')).toThrow('line 2: a quoted cell is not closed');
  });
});

describe('previewRoster', () => {
  it('previews traders, defaults and holdings', () => {
    const p = previewRoster('name,starting_cash,AAPL,MSFT\nAnn,50000,10,\nBo,,,5\n,,,\n');
    expect(p.errors).toEqual([]);
    expect(p.symbols).toEqual(['AAPL', 'MSFT']);
    expect(p.rows).toEqual([
      { line: 2, name: 'Ann', starting_cash: '50000', holdings: { AAPL: 10 } },
      { line: 3, name: 'Bo', starting_cash: null, holdings: { MSFT: 5 } },
    ]);
  });

  it('names the line of each problem', () => {
    const p = previewRoster('name,starting_cash,AAPL\nAnn,lots,1\n,100,\nAnn,1,-3\nBo,1\n');
    expect(p.errors).toEqual([
      'line 2: starting_cash "lots" is not an amount',
      'line 3: the name is empty',
      'line 4: "Ann" is already on line 2',
      'line 4: AAPL "-3" is not a whole number of shares',
      'line 5: 2 cells, the header has 3',
    ]);
  });

  it('requires a name column and data', () => {
    expect(previewRoster('who,AAPL\nAnn,1').errors).toContain('line 1: a "name" column is required');
    expect(previewRoster('name\n').errors).toEqual(['the file has a header but no traders']);
    expect(previewRoster('').errors).toEqual(['the file is empty']);
    expect(previewRoster('name,bad column\nAnn,1').errors).toEqual([
      'line 1: column "bad column" is neither name, starting_cash nor a symbol',
    ]);
    // the server reads column names exactly
    expect(previewRoster('Name,aapl\nAnn,1').errors).toEqual([
      'line 1: a "name" column is required',
      'line 1: column "Name" is neither name, starting_cash nor a symbol',
      'line 1: column "aapl" is neither name, starting_cash nor a symbol',
    ]);
    expect(previewRoster('name,AAPL,AAPL\nAnn,1,2').errors).toEqual(['line 1: a column appears twice']);
  });
});

describe('holdings and amounts typed in forms', () => {
  it('parses holdings in the usual spellings', () => {
    expect(parseHoldings('AAPL=10, msft 5; TSLA:0')).toEqual({ holdings: { AAPL: 10, MSFT: 5, TSLA: 0 } });
    expect(parseHoldings('  ')).toEqual({ holdings: {} });
    expect(parseHoldings('AAPL=ten')).toEqual({ error: '"AAPL=ten" is not SYMBOL=shares' });
    expect(parseHoldings('AAPL=1, aapl=2')).toEqual({ error: 'AAPL is given twice' });
    expect(formatHoldings({ AAPL: 10, MSFT: 5 })).toBe('AAPL=10, MSFT=5');
  });

  it('accepts amounts with at most two decimals', () => {
    expect(['100000', '0', '12.5', ' 99.99 '].map(isAmount)).toEqual([true, true, true, true]);
    expect(['', '-1', '1.234', '1e5', '1,000'].map(isAmount)).toEqual([false, false, false, false, false]);
  });
});
