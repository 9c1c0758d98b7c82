// The GPUIDX dashboard: a read-only single page over the publication API (no state of its own). Views by hash:
// #/ overview, #/series/CODE, #/fixing/CODE/DATE, #/methodology, #/calendar. Charts are uPlot; every chart's data
// is kept in window.gpuidx.charts so that a test (or a curious reader) can check it against the API.

const view = document.getElementById('view');
window.gpuidx = { charts: {}, ready: false };

const STATUS_COLOURS = {
  normal: '#1e8e3e',
  extended_window: '#c77700',
  carried_forward: '#5f6b7a',
  insufficient: '#b3261e',
  list_price_tier: '#7b3fb0',
  degraded: '#c77700',
};

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) {
    let detail = `${res.status}`;
    try {
      detail = (await res.json()).detail ?? detail;
    } catch {}
    throw new Error(`${path}: ${detail}`);
  }
  return res.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const statusBadge = (s) => el('span', { class: `status ${s ?? ''}` }, s ?? '-');
const fmt = (v) => (v === null || v === undefined ? '-' : String(v));
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const daySeconds = (date) => Date.parse(`${date}T00:00:00Z`) / 1000;

function table(head, rows, opts = {}) {
  const thead = el(
    'thead',
    {},
    el(
      'tr',
      {},
      head.map((h) =>
        el('th', { class: [h.num ? 'num' : '', h.cls ?? ''].join(' ').trim() || undefined, 'data-sort': opts.sortable ? h.key : undefined }, h.label),
      ),
    ),
  );
  const tbody = el('tbody', {}, rows);
  const t = el('table', { 'data-testid': opts.testid }, thead, tbody);
  if (opts.sortable) {
    thead.addEventListener('click', (e) => {
      const th = e.target.closest('th[data-sort]');
      if (!th) return;
      const i = [...th.parentNode.children].indexOf(th);
      const dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
      th.dataset.dir = dir;
      const sorted = [...tbody.children].sort((a, b) => {
        const x = a.children[i].dataset.value ?? a.children[i].textContent;
        const y = b.children[i].dataset.value ?? b.children[i].textContent;
        const nx = Number(x);
        const ny = Number(y);
        const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x < y ? -1 : x > y ? 1 : 0;
        return dir === 'asc' ? c : -c;
      });
      tbody.replaceChildren(...sorted);
    });
  }
  return el('div', { class: 'table-wrap' }, t);
}

function chartWidth(container) {
  return Math.max(280, Math.min(container.clientWidth || 800, 1160));
}

// --- overview ----------------------------------------------------------------------------------------------------
async function overview() {
  const { series } = await api('/v1/series');
  const published = series.filter((s) => s.latest_date);
  // biome-ignore lint/complexity/useMathMinMax: ISO date strings, compared as text
  const latest = published.reduce((m, s) => (s.latest_date > m ? s.latest_date : m), '');
  // /v1/history takes up to 50 series a request: ask in groups, and merge the rows by date.
  const history = { rows: [] };
  if (latest) {
    const from = isoDay(Date.parse(latest) - 29 * 86_400_000);
    const groups = [];
    for (let i = 0; i < published.length; i += 50) groups.push(published.slice(i, i + 50).map((s) => s.code));
    const byDate = new Map();
    for (const part of await Promise.all(groups.map((g) => api(`/v1/history?series=${g.join(',')}&from=${from}&to=${latest}`)))) {
      for (const r of part.rows) byDate.set(r.date, { ...(byDate.get(r.date) ?? {}), ...r.values });
    }
    history.rows = [...byDate.keys()].sort().map((date) => ({ date, values: byDate.get(date) }));
  }
  const rows = series.map((s) => {
    const points = history.rows.map((r) => [daySeconds(r.date), r.values[s.code] ?? null]).filter((p) => p[1] !== null);
    const previous = points.length >= 2 ? points[points.length - 2][1] : null;
    const change = s.latest_value !== null && previous !== null ? s.latest_value - previous : null;
    const spark = el('div', { class: 'spark', 'data-series': s.code });
    const tr = el(
      'tr',
      { 'data-series': s.code },
      el('td', {}, el('a', { href: `#/series/${s.code}` }, s.code)),
      el('td', { class: 'hide-narrow muted desc' }, s.description),
      el('td', { class: 'num' }, fmt(s.latest_value)),
      el('td', { class: `num ${change > 0 ? 'up' : change < 0 ? 'down' : ''}` }, change === null ? '-' : `${change > 0 ? '+' : ''}${change.toFixed(4)}`),
      el('td', {}, statusBadge(s.latest_status)),
      el('td', { class: 'hide-narrow' }, fmt(s.latest_date)),
      el('td', {}, spark),
    );
    tr.sparkData = points;
    return tr;
  });
  view.replaceChildren(
    el('h1', {}, 'GPU rental price index'),
    el(
      'p',
      { class: 'muted' },
      latest ? `${published.length} of ${series.length} series published; latest fixing date ${latest} (UTC).` : 'Nothing published yet.',
    ),
    table(
      [
        { label: 'series' },
        { label: 'description', cls: 'hide-narrow' },
        { label: 'latest', num: true },
        { label: 'day change', num: true },
        { label: 'status' },
        { label: 'date', cls: 'hide-narrow' },
        { label: '30 days' },
      ],
      rows,
      { testid: 'overview' },
    ),
  );
  for (const tr of rows) {
    if (tr.sparkData.length < 2) continue;
    const data = [tr.sparkData.map((p) => p[0]), tr.sparkData.map((p) => p[1])];
    window.gpuidx.charts[`spark:${tr.dataset.series}`] = data;
    new uPlot(
      {
        width: 120,
        height: 28,
        cursor: { show: false },
        legend: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true } },
        series: [{}, { stroke: '#1f5fbf', width: 1.25 }],
      },
      data,
      tr.querySelector('.spark'),
    );
  }
}

// --- series --------------------------------------------------------------------------------------------------------
const RANGES = { '1M': 30, '3M': 91, '1Y': 365, All: 3650 };

async function seriesPage(code, range = '3M') {
  const { series } = await api('/v1/series');
  const spec = series.find((s) => s.code === code);
  if (!spec) throw new Error(`unknown series ${code}`);
  if (!spec.latest_date) {
    view.replaceChildren(el('h1', {}, code), el('p', {}, 'No fixing published yet.'));
    return;
  }
  const to = spec.latest_date;
  const from = range === 'All' ? spec.first_date : isoDay(Math.max(Date.parse(spec.first_date), Date.parse(to) - (RANGES[range] - 1) * 86_400_000));
  const [{ fixings }, shares] = await Promise.all([
    api(`/v1/series/${code}/fixings?from=${from}&to=${to}`),
    api(`/v1/series/${code}/venue-shares?from=${from}&to=${to}`),
  ]);
  const x = fixings.map((f) => daySeconds(f.date));
  const pick = (fn) => fixings.map((f) => fn(f) ?? null);
  const data = [
    x,
    pick((f) => f.percentiles?.p10),
    pick((f) => f.percentiles?.p90),
    pick((f) => f.percentiles?.p25),
    pick((f) => f.percentiles?.p75),
    pick((f) => f.vwap),
    pick((f) => f.value),
    pick((f) => (f.status !== 'normal' && f.value !== null ? f.value : null)),
    pick((f) => (f.revision > 1 ? f.value : null)),
  ];
  window.gpuidx.charts[`series:${code}`] = {
    dates: fixings.map((f) => f.date),
    value: data[6],
    vwap: data[5],
    p10: data[1],
    p90: data[2],
    p25: data[3],
    p75: data[4],
  };
  const buttons = Object.keys(RANGES).map((r) =>
    el('button', { type: 'button', 'aria-pressed': String(r === range), onclick: () => seriesPage(code, r).catch(showError) }, r),
  );
  const chart = el('div', { class: 'chart', 'data-testid': 'series-chart' });
  const volume = el('div', { class: 'chart' });
  const contributions = el('div', { class: 'chart', 'data-testid': 'shares-chart' });
  view.replaceChildren(
    el('h1', {}, code),
    el('p', { class: 'muted' }, `${spec.description}. ${spec.unit}. Published ${spec.first_date} .. ${spec.latest_date}.`),
    el('div', { class: 'toolbar' }, 'Range:', buttons),
    chart,
    el(
      'p',
      { class: 'legend-note' },
      'Bands: p10–p90 (light) and p25–p75 (darker) of the included observations. Orange points: a status other than normal; red rings: restated dates (revision > 1).',
    ),
    el('h2', {}, 'Venue contributions (share of the weight after the cap, stacked)'),
    contributions,
    el('h2', {}, 'Volume (GPU-hours weighted in the fixing)'),
    volume,
    el('h2', {}, 'Fixings'),
    table(
      [
        { label: 'date' },
        { label: 'revision', num: true },
        { label: 'status' },
        { label: 'value', num: true },
        { label: 'vwap', num: true },
        { label: 'venues', num: true },
      ],
      [...fixings]
        .reverse()
        .map((f) =>
          el(
            'tr',
            {},
            el('td', {}, el('a', { href: `#/fixing/${code}/${f.date}` }, f.date)),
            el('td', { class: 'num' }, f.revision),
            el('td', {}, statusBadge(f.status)),
            el('td', { class: 'num' }, fmt(f.value)),
            el('td', { class: 'num' }, fmt(f.vwap)),
            el('td', { class: 'num' }, fmt(f.venues)),
          ),
        ),
      { testid: 'series-fixings' },
    ),
  );
  const width = chartWidth(view);
  new uPlot(
    {
      width,
      height: 320,
      scales: { x: { time: true } },
      series: [
        {},
        { label: 'p10', stroke: 'rgba(31,95,191,0.25)' },
        { label: 'p90', stroke: 'rgba(31,95,191,0.25)' },
        { label: 'p25', stroke: 'rgba(31,95,191,0.45)' },
        { label: 'p75', stroke: 'rgba(31,95,191,0.45)' },
        { label: 'VWAP', stroke: '#777', dash: [6, 4] },
        { label: 'value', stroke: '#1f5fbf', width: 2 },
        {
          label: 'not normal',
          stroke: STATUS_COLOURS.extended_window,
          paths: () => null,
          points: { show: true, size: 8, fill: STATUS_COLOURS.extended_window },
        },
        { label: 'restated', stroke: STATUS_COLOURS.insufficient, paths: () => null, points: { show: true, size: 12, width: 2, fill: 'transparent' } },
      ],
      bands: [
        { series: [2, 1], fill: 'rgba(31,95,191,0.08)' },
        { series: [4, 3], fill: 'rgba(31,95,191,0.16)' },
      ],
    },
    data,
    chart,
  );
  new uPlot(
    { width, height: 140, scales: { x: { time: true } }, series: [{}, { label: 'volume', stroke: '#5f6b7a', fill: 'rgba(95,107,122,0.25)' }] },
    [x, pick((f) => f.volume)],
    volume,
  );
  drawShares(code, shares, contributions, width);
}

const VENUE_COLOURS = ['#1f5fbf', '#1e8e3e', '#c77700', '#7b3fb0', '#b3261e', '#00838f', '#5f6b7a', '#ad1457', '#6d4c41', '#558b2f'];

/** Stacked shares: each venue's band lies between the sum of the venues before it and that sum plus its share. */
function drawShares(code, shares, container, width) {
  const venues = [...new Set(shares.dates.flatMap((d) => d.shares.map((s) => s.venue)))].sort();
  const byVenue = Object.fromEntries(venues.map((v) => [v, shares.dates.map((d) => d.shares.find((s) => s.venue === v)?.capped_share ?? 0)]));
  window.gpuidx.charts[`shares:${code}`] = { dates: shares.dates.map((d) => d.date), venues: byVenue };
  if (venues.length === 0) {
    container.replaceChildren(el('p', { class: 'muted' }, 'No volume-weighted fixing in this range.'));
    return;
  }
  const x = shares.dates.map((d) => daySeconds(d.date));
  const cumulative = [];
  let running = x.map(() => 0);
  for (const v of venues) {
    running = running.map((r, i) => r + byVenue[v][i]);
    cumulative.push(running);
  }
  // Drawn from the top band down, each filled to zero in an opaque colour: what shows of each is its own band.
  const order = venues.map((_, i) => venues.length - 1 - i);
  new uPlot(
    {
      width,
      height: 200,
      scales: { x: { time: true }, y: { range: [0, 1] } },
      series: [
        {},
        ...order.map((i) => ({ label: venues[i], stroke: VENUE_COLOURS[i % VENUE_COLOURS.length], fill: VENUE_COLOURS[i % VENUE_COLOURS.length], width: 0 })),
      ],
    },
    [x, ...order.map((i) => cumulative[i])],
    container,
  );
}

// --- one fixing ----------------------------------------------------------------------------------------------------
async function fixingPage(code, date) {
  const [signed, keys, audit] = await Promise.all([
    api(`/v1/series/${code}/fixings/${date}`),
    api('/v1/keys'),
    api(`/v1/series/${code}/fixings/${date}/audit?limit=1000`),
  ]);
  const f = signed.fixing;
  const key = signed.signature ? keys.keys.find((k) => k.key_id === signed.signature.key_id) : null;
  const fields = [
    'status',
    'value',
    'vwap',
    'min',
    'max',
    'listings',
    'venues',
    'volume',
    'carried_from',
    'methodology_version',
    'parameter_hash',
    'input_digest',
    'computed_at',
    'restatement_reason',
  ];
  const venueSelect = el(
    'select',
    { 'data-testid': 'venue-filter' },
    el('option', { value: '' }, 'all venues'),
    signed.venue_shares.map((v) => el('option', { value: v.venue }, v.venue)),
  );
  const outcomeSelect = el(
    'select',
    { 'data-testid': 'outcome-filter' },
    el('option', { value: '' }, 'all outcomes'),
    // The outcomes found among the first 1,000 inputs (`included` or an exclusion reason of the methodology).
    [...new Set(audit.inputs.map((r) => r.outcome))].sort().map((o) => el('option', { value: o }, o)),
  );
  const inputs = el('div', { 'data-testid': 'inputs' });
  const pager = el('div', { class: 'toolbar' });
  const loadInputs = async (after) => {
    const q = new URLSearchParams({ revision: String(f.revision), limit: '100' });
    if (after) q.set('after', String(after));
    if (venueSelect.value) q.set('venue', venueSelect.value);
    if (outcomeSelect.value) q.set('outcome', outcomeSelect.value);
    const page = await api(`/v1/series/${code}/fixings/${date}/audit?${q}`);
    inputs.replaceChildren(
      table(
        [
          { label: 'venue', key: 'venue' },
          { label: 'listing', key: 'listing' },
          { label: 'GPU', key: 'gpu' },
          { label: 'price/h', key: 'price', num: true },
          { label: 'outcome', key: 'outcome' },
          { label: 'p', key: 'p', num: true },
          { label: 'w′', key: 'w', num: true },
          { label: 'snapshot', key: 'snapshot', num: true },
        ],
        page.inputs.map((r) =>
          el(
            'tr',
            { 'data-venue': r.venue, 'data-outcome': r.outcome },
            el('td', {}, r.venue),
            el('td', {}, r.listing_id),
            el('td', {}, `${r.gpu_count}× ${r.gpu_raw}`),
            el('td', { class: 'num' }, fmt(r.price_usd_per_hour)),
            el('td', {}, r.outcome),
            el('td', { class: 'num' }, fmt(r.p)),
            el('td', { class: 'num' }, fmt(r.w_capped)),
            el(
              'td',
              { class: 'num', 'data-value': r.snapshot_id },
              el('a', { href: `/v1/snapshots/${r.snapshot_id}/raw`, title: 'the exact bytes the venue sent' }, `#${r.snapshot_id}`),
            ),
          ),
        ),
        { sortable: true, testid: 'inputs-table' },
      ),
    );
    const last = page.inputs[page.inputs.length - 1];
    pager.replaceChildren(
      el(
        'span',
        { class: 'muted' },
        `${page.inputs.length} shown of ${page.inputs_total} inputs${venueSelect.value || outcomeSelect.value ? ' (before the filter)' : ''}`,
      ),
      page.next ? el('button', { type: 'button', onclick: () => loadInputs(last.observation_id).catch(showError) }, 'next page') : '',
    );
  };
  venueSelect.addEventListener('change', () => loadInputs().catch(showError));
  outcomeSelect.addEventListener('change', () => loadInputs().catch(showError));
  const recipe = `curl -s ${location.origin}/v1/series/${code}/fixings/${date}?revision=${f.revision} > fixing.json && jq -j .signature.payload fixing.json > payload.json && jq -r .signature.value fixing.json | base64 -d > sig.bin && openssl pkeyutl -verify -pubin -inkey gpuidx-public.pem -rawin -in payload.json -sigfile sig.bin`;
  view.replaceChildren(
    el('h1', {}, `${code} · ${date} · revision ${f.revision}`),
    el('p', {}, statusBadge(f.status), ' ', el('strong', {}, fmt(f.value)), ` ${f.unit}`),
    table(
      [{ label: 'field' }, { label: 'published' }],
      fields.map((k) => el('tr', {}, el('td', {}, k), el('td', {}, fmt(f[k])))),
      { testid: 'record' },
    ),
    el('h2', {}, 'Signature'),
    signed.signature
      ? el(
          'div',
          {},
          el(
            'p',
            {},
            `Ed25519, key ${signed.signature.key_id}, fingerprint `,
            el('code', { 'data-testid': 'fingerprint' }, key ? key.fingerprint : 'not in /v1/keys'),
          ),
          el('p', { class: 'muted' }, 'Verify (pin the fingerprint out of band first; README "Verifying a fixing"):'),
          el('pre', {}, recipe),
        )
      : el('p', {}, 'Published before signatures were stored.'),
    el('h2', {}, 'Venue shares, before and after the cap'),
    table(
      [{ label: 'venue' }, { label: 'share', num: true }, { label: 'after the cap', num: true }],
      signed.venue_shares.map((v) =>
        el('tr', {}, el('td', {}, v.venue), el('td', { class: 'num' }, v.share.toFixed(4)), el('td', { class: 'num' }, v.capped_share.toFixed(4))),
      ),
      { testid: 'venue-shares' },
    ),
    el('h2', {}, 'Outlier fence'),
    el('pre', {}, JSON.stringify(audit.outlier ?? 'none', null, 1)),
    el('h2', {}, 'Inputs'),
    el('div', { class: 'toolbar' }, 'Filter:', venueSelect, outcomeSelect),
    inputs,
    pager,
  );
  await loadInputs();
}

// --- methodology and calendar -----------------------------------------------------------------------------------
async function methodologyPage() {
  const m = await api('/v1/methodology');
  view.replaceChildren(
    el('div', { class: 'methodology' }, el('p', { class: 'muted' }, `Version ${m.version}, parameter hash ${m.parameter_hash}.`)),
    el('h2', {}, 'Parameters'),
    el('pre', {}, JSON.stringify(m.document.parameters, null, 1)),
  );
  const text = el('div', { class: 'methodology', 'data-testid': 'methodology-text' });
  text.innerHTML = marked.parse(m.text);
  view.prepend(text);
}

async function calendarPage() {
  const perDate = new Map();
  let next = '/v1/revisions?since=2000-01-01T00:00:00Z&limit=1000';
  while (next) {
    const page = await api(next);
    for (const r of page.revisions) {
      const d = perDate.get(r.date) ?? { series: new Set(), restated: 0, first: r.published_at, version: r.methodology_version };
      d.series.add(r.series);
      if (r.kind === 'restatement') d.restated += 1;
      perDate.set(r.date, d);
    }
    next = page.next;
  }
  // Expected per date: the series of the methodology version the date was published under.
  const versions = [...new Set([...perDate.values()].map((d) => d.version))];
  const expectedOf = new Map((await Promise.all(versions.map((v) => api(`/v1/methodology/${v}`)))).map((m) => [m.version, m.series.length]));
  const dates = [...perDate.keys()].sort().reverse();
  view.replaceChildren(
    el('h1', {}, 'Publication calendar'),
    el('p', { class: 'muted' }, 'Each date is published after it ends (00:30 UTC the next day), every series of its methodology version at once.'),
    table(
      [
        { label: 'date' },
        { label: 'published', num: true },
        { label: 'expected', num: true },
        { label: 'restated', num: true },
        { label: 'methodology' },
        { label: 'first published' },
      ],
      dates.map((date) => {
        const d = perDate.get(date);
        const expected = expectedOf.get(d.version) ?? 0;
        const state = d.series.size >= expected ? 'complete' : d.series.size === 0 ? 'missing' : 'partial';
        return el(
          'tr',
          { class: state },
          el('td', { class: state }, date),
          el('td', { class: 'num' }, d.series.size),
          el('td', { class: 'num' }, expected),
          el('td', { class: 'num' }, d.restated),
          el('td', {}, d.version),
          el('td', {}, d.first),
        );
      }),
      { testid: 'calendar' },
    ),
  );
  view.querySelector('table').classList.add('calendar');
}

// --- routing -------------------------------------------------------------------------------------------------------
function showError(err) {
  view.replaceChildren(
    el('h1', {}, 'Something is not there'),
    el('p', {}, err instanceof Error ? err.message : String(err)),
    el('p', {}, el('a', { href: '#/' }, 'Back to the overview')),
  );
}

async function route() {
  window.gpuidx.ready = false;
  window.gpuidx.charts = {};
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'series' && parts[1]) await seriesPage(parts[1]);
    else if (parts[0] === 'fixing' && parts[1] && parts[2]) await fixingPage(parts[1], parts[2]);
    else if (parts[0] === 'methodology') await methodologyPage();
    else if (parts[0] === 'calendar') await calendarPage();
    else await overview();
  } catch (err) {
    showError(err);
  }
  window.gpuidx.ready = true;
}

window.addEventListener('hashchange', route);
route();
