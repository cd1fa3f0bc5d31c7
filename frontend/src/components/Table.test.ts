import { createElement as h } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Panel } from './Panel';
import { num, Table } from './Table';

describe('the shared table', () => {
  it('renders the header from the columns and the rows given', () => {
    const html = renderToStaticMarkup(
      h(Table, { columns: ['Symbol', num('Qty', 'shares')], testid: 'positions' }, h('tr', { key: 1 }, h('td', null, 'AAPL'))),
    );
    expect(html).toBe(
      '<table class="grid" data-testid="positions"><thead><tr><th>Symbol</th><th class="num" title="shares">Qty</th></tr></thead>' +
        '<tbody><tr><td>AAPL</td></tr></tbody></table>',
    );
  });

  it('shows the empty state in one row across the table, and nothing for a false one', () => {
    const empty = renderToStaticMarkup(h(Table, { columns: ['A', 'B', ''], className: 'grid compact', empty: 'No orders.' }));
    expect(empty).toContain('<tbody><tr><td colSpan="3" class="empty">No orders.</td></tr></tbody>');
    expect(empty).toContain('<th></th>');
    expect(renderToStaticMarkup(h(Table, { columns: ['A'], empty: false }))).toContain('<tbody></tbody>');
  });
});

describe('the shared panel', () => {
  it('is a labelled section with its head row', () => {
    const html = renderToStaticMarkup(h(Panel, { className: 'tape', label: 'Trade tape', title: 'Trades', head: h('span', null, 'AAPL') }, h('div', null, 'body')));
    expect(html).toBe('<section class="panel tape" aria-label="Trade tape"><div class="panel-head"><h2>Trades</h2><span>AAPL</span></div><div>body</div></section>');
  });
});
