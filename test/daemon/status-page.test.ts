// The status page's tables: addresses in logged errors only with
// status_show_addresses, and everything escaped.
import test from 'ava';
import { emptyTraffic } from '../../src/log/traffic.js';
import { tablesHtml } from '../../src/daemon/status-page.js';
import type { OpsSnapshot } from '../../src/daemon/metrics.js';

const now = Date.UTC(2026, 11, 6, 12);
const snap: OpsSnapshot = {
  now,
  traffic: emptyTraffic(),
  queue: { messages: 1, bytes: 2048, oldest: now - 3 * 3600_000, rows: [{ dest: 'lan.example', messages: 1, bytes: 2048, oldest: now - 3 * 3600_000, nextAttempt: now + 600_000, lastError: '451 <bob@lan.example>: mailbox busy for hub!carol & "friends"' }] },
  neighbours: [],
  live: {},
};

test('queue errors show addresses only with status_show_addresses, escaped either way', (t) => {
  const hidden = tablesHtml(snap, false);
  t.regex(hidden, /<td>lan\.example<\/td><td class="n">1<\/td><td class="n">2\.0 KiB<\/td><td class="n">3h 0m ago<\/td><td class="n">in 10m<\/td><td class="n">451 &lt;…&gt;: mailbox busy for &lt;…&gt; &amp; &quot;friends&quot;<\/td>/);
  t.notRegex(hidden, /bob|carol/);
  const shown = tablesHtml(snap, true);
  t.regex(shown, /451 &lt;bob@lan\.example&gt;: mailbox busy for hub!carol &amp; &quot;friends&quot;/);
});
