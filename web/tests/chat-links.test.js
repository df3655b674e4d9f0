// End-to-end: http(s) URLs in chat messages are links (new tab, noopener noreferrer); anything else, a
// `javascript:` URL or markup included, stays text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, teardown } from './helpers.js';

describe('links in chat', { timeout: 60_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */
  let A;

  before(async () => {
    srv = await startServer();
    A = await openBrowser();
  });

  after(() => teardown(srv, [A]));

  it('http and https URLs become safe links; javascript: and markup stay text', async () => {
    await joinByLink(A.page, srv.url, 'chat-links', 'Linus', '&cam=0&mic=0');
    const text = 'docs: https://example.org/a?b=1&c=2. and (http://example.com/x) '
      + 'but javascript:alert(1) and <img src=x onerror="window.__xss=1"> and <a href="javascript:alert(2)">y</a> '
      + 'nor ftp://example.net/f';
    await A.page.click('#c-chat');
    await A.page.fill('#chat-input', text);
    await A.page.press('#chat-input', 'Enter');
    await A.page.waitForSelector('#chat-list li.own .text');
    const dom = await A.page.$eval('#chat-list li.own .text', (el) => ({
      text: el.textContent,
      links: [...el.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('href'), text: a.textContent, rel: a.rel, target: a.target })),
      elements: [...el.querySelectorAll('*')].map((e) => e.tagName),
      xss: /** @type {any} */ (window).__xss,
    }));
    assert.equal(dom.text, text, 'the message text changed');
    assert.deepEqual(dom.links, [
      { href: 'https://example.org/a?b=1&c=2', text: 'https://example.org/a?b=1&c=2', rel: 'noopener noreferrer', target: '_blank' },
      { href: 'http://example.com/x', text: 'http://example.com/x', rel: 'noopener noreferrer', target: '_blank' },
    ]);
    assert.deepEqual(dom.elements, ['A', 'A'], 'markup in the message became elements');
    assert.equal(dom.xss, undefined);
  });
});
