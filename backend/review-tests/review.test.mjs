// The supervisors' patrol review in a real browser (Debian's Chromium driven
// by playwright-core), against a real guardian-backend on loopback holding
// the patrols `guardian-sim review-seed` walked. Run by
// scripts/review-browser.sh, which starts the server and passes:
//
//   REVIEW_BASE        http://127.0.0.1:PORT
//   REVIEW_SUPERVISOR  a supervisor token     REVIEW_OFFICER  an officer token
//   REVIEW_SEED        the seed's JSON
//   REVIEW_SUMMARY     `export --summary --from DAY --to DAY` (the seeded day)
//   REVIEW_CSV         `export --from DAY --to DAY` (the compliance CSV)
//   REVIEW_SCREENS     where screenshots go   CHROMIUM        the browser
//
// Every figure the page shows is compared with what the backend's own
// export command printed, never with anything computed here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run scripts/review-browser.sh)`);
  return v;
};
const BASE = env('REVIEW_BASE');
const SUPERVISOR = env('REVIEW_SUPERVISOR');
const OFFICER = env('REVIEW_OFFICER');
const SEED = JSON.parse(readFileSync(env('REVIEW_SEED'), 'utf8'));
const SUMMARY = JSON.parse(readFileSync(env('REVIEW_SUMMARY'), 'utf8'));
const CSV = parseCsv(readFileSync(env('REVIEW_CSV'), 'utf8'));
const SCREENS = env('REVIEW_SCREENS');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** RFC 4180 rows as objects keyed by the header. */
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else if (c !== '\r') cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

let browser;
const problems = [];

before(async () => {
  browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: ['--no-sandbox'] });
  mkdirSync(SCREENS, { recursive: true });
});
after(async () => { await browser?.close(); });

/** A new page whose console errors, failed requests and page errors are kept. */
async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  // ERR_ABORTED is a load the test's own navigation cut short.
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText;
    if (why !== 'net::ERR_ABORTED') problems.push(`${r.url()}: request failed: ${why}`);
  });
  return page;
}

/** Signs in through the form, the way a supervisor would. */
async function signIn(page, token, next = `/review?date=${SEED.day}`) {
  await page.goto(`${BASE}/review/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Token').fill(token);
  // The form's POST answers 303 to `next` (or a refusal page): wait for
  // that document, not the sign-in form's.
  const answered = page.waitForResponse((r) => r.url().endsWith('/review/login') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await answered;
  await page.waitForLoadState('load');
}

async function axe(page) {
  // Evaluated through the DevTools protocol: the page's CSP still forbids
  // every script of its own.
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `accessibility violations on ${page.url()}`);
}

async function noSideScroll(page) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= inner, `the page scrolls sideways at ${inner}px (${scroll}px wide)`);
}

function csvRow(patrolId) {
  const r = CSV.find((x) => x.patrol_id === patrolId);
  assert.ok(r, `patrol ${patrolId} in the export`);
  return r;
}

test('the seed holds the four kinds of patrol the page must show', () => {
  const kinds = SEED.patrols.map((p) => p.expect).sort();
  assert.deepEqual(kinds, ['compliant', 'not_warranted', 'outside_window', 'too_short']);
  assert.equal(SUMMARY.patrols, SEED.patrols.length);
  assert.equal(CSV.length, SEED.patrols.length);
});

test('the day view shows the figures guardian-backend export --summary prints', async () => {
  const page = await newPage();
  await signIn(page, SUPERVISOR);
  assert.equal(new URL(page.url()).pathname, '/review');
  for (const [name, unit] of [['compliance_percent', '%'], ['constable_led_percent', '%'], ['average_minutes', '']]) {
    const dd = page.locator(`#overall [data-figure="${name}"]`);
    assert.equal(Number(await dd.getAttribute('data-value')), SUMMARY[name], name);
    assert.equal((await dd.textContent()).trim(), `${SUMMARY[name].toFixed(1)}${unit}`, name);
  }
  assert.equal(Number(await page.locator('#overall [data-figure="patrols"]').getAttribute('data-value')), SUMMARY.patrols);
  // Every patrol listed, its verdict in words as the export has it.
  for (const p of SEED.patrols) {
    const row = page.locator(`#patrol-list tr[data-patrol="${p.patrol_id}"]`);
    const text = await row.textContent();
    if (csvRow(p.patrol_id).compliant === 'true') {
      assert.ok(text.includes('Compliant') && !text.includes('Not compliant'), text);
    } else {
      assert.ok(text.includes('Not compliant'), text);
    }
  }
  // The day's draw: assigned areas and the control group, by name.
  const groups = await page.locator('table.schedule tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.group));
  assert.ok(groups.includes('assigned') && groups.includes('control'), `groups ${groups}`);
  // The scenario's area was drawn (its seed was chosen so) and got a
  // compliant patrol: said in words, not only in green.
  const area = page.locator(`table.schedule tr[data-area="${SEED.area_id}"]`);
  assert.equal(await area.getAttribute('data-group'), 'assigned');
  assert.match(await area.textContent(), /Compliant patrol/);
  await axe(page);
  await page.screenshot({ path: `${SCREENS}/day-desktop.png`, fullPage: true });
  await page.setViewportSize(PHONE);
  await noSideScroll(page);
  await page.screenshot({ path: `${SCREENS}/day-phone.png`, fullPage: true });
  await page.context().close();
});

test('each patrol view draws every stored fix and says why, as the export does', async () => {
  const page = await newPage();
  await signIn(page, SUPERVISOR);
  for (const p of SEED.patrols) {
    await page.goto(`${BASE}/review/patrols/${encodeURIComponent(p.patrol_id)}`);
    const row = csvRow(p.patrol_id);
    const drawn = await page.locator('svg#map').evaluate((svg) => ({
      line: svg.querySelector('polyline.track').points.numberOfItems,
      squares: svg.querySelectorAll('rect.rejected-fix').length,
      area: svg.querySelectorAll('path.area').length,
    }));
    assert.equal(drawn.line + drawn.squares, Number(row.fixes), `${p.patrol_id}: every stored fix drawn`);
    assert.ok(drawn.line > 100, `${p.patrol_id}: a track, not a dot`);
    assert.equal(drawn.area, 1);
    const compliant = row.compliant === 'true';
    assert.equal(await page.locator('#verdict').getAttribute('data-compliant'), String(compliant));
    if (compliant) {
      assert.equal(await page.locator('#reasons li').count(), 0);
    } else {
      const shown = (await page.locator('#reasons li').allTextContents()).map((t) => t.trim());
      assert.deepEqual(shown, row.reasons.split('; '));
    }
    assert.equal((await page.locator('#minutes').textContent()).trim(), Number(row.minutes_in_area).toFixed(1));
    await page.getByText(`${row.minutes_in_area >= 30 ? 'reaches' : 'falls short of'} the 30-minute minimum`).waitFor();
  }
  // The kinds of failure are the ones the scenario meant.
  const why = (kind) => csvRow(SEED.patrols.find((p) => p.expect === kind).patrol_id).reasons;
  assert.match(why('not_warranted'), /led by a pcso/);
  assert.match(why('too_short'), /minutes in the area, 30 required/);
  assert.match(why('outside_window'), /inside the assigned window/);
  await page.context().close();
});

test('one patrol view passes the accessibility check at desktop and phone width', async () => {
  const target = SEED.patrols.find((p) => p.expect === 'not_warranted');
  const page = await newPage();
  await signIn(page, SUPERVISOR, `/review/patrols/${target.patrol_id}`);
  assert.equal(new URL(page.url()).pathname, `/review/patrols/${target.patrol_id}`);
  await axe(page);
  await page.screenshot({ path: `${SCREENS}/patrol-desktop.png`, fullPage: true });
  await page.setViewportSize(PHONE);
  await noSideScroll(page);
  await axe(page);
  await page.screenshot({ path: `${SCREENS}/patrol-phone.png`, fullPage: true });
  await page.context().close();
});

test('the evaluation view lists areas and its CSV downloads', async () => {
  const page = await newPage();
  await signIn(page, SUPERVISOR, '/review/evaluation');
  const rows = page.locator('#evaluation tbody tr[data-area]');
  assert.ok((await rows.count()) > 1);
  const href = await page.getByRole('link', { name: /CSV/ }).getAttribute('href');
  const csv = await page.request.get(`${BASE}${href.replaceAll('&amp;', '&')}`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines.length - 1, await rows.count());
  await axe(page);
  await page.context().close();
});

test('an officer token is refused, on the form and as a bearer', async () => {
  const page = await newPage();
  await signIn(page, OFFICER);
  assert.match(await page.locator('h1').textContent(), /Forbidden/);
  await page.getByText('cannot open the patrol review').waitFor();
  // Nothing of the day leaks onto the refusal.
  assert.equal(await page.locator('#patrol-list').count(), 0);
  await axe(page);
  const direct = await page.request.get(`${BASE}/review?date=${SEED.day}`, { headers: { authorization: `Bearer ${OFFICER}` } });
  assert.equal(direct.status(), 403);
  // Signed out, the page is the sign-in form.
  const anon = await newPage();
  const r = await anon.goto(`${BASE}/review/evaluation`);
  assert.equal(r.status(), 401);
  await anon.getByLabel('Token').waitFor();
  await axe(anon);
  await anon.context().close();
  await page.context().close();
});

// ---- the Navigator's desk ---------------------------------------------------

const NAVIGATOR = process.env.REVIEW_NAVIGATOR;
const CHILD = 'Kemi Browserfield-Adeyemi';

/** A referral as the officer's handset uploads it (the API, not a page). */
async function uploadReferral(id, authority, urgency) {
  const now = Date.now();
  const body = {
    id, format: 1, reference: `VRP-${id}`, officer_id: 'pc-compliant', created_ms: now,
    authority, authority_source: 'routed',
    reasons: [{ code: 'knife_carrying', text: null }, { code: 'criminal_exploitation', text: null }],
    urgency, consent: { state: 'given', reason: null }, safeguarding_concern: true,
    narrative: 'Said older boys had asked him to hold a bag for them after school.',
    subject: { name: CHILD, date_of_birth: '2010-04-17', estimated_age: null, address: '9 Wren Street',
      school: null, carer_contact: null },
    location: { time_ms: now, lat: 52.4797, lon: -1.9026, accuracy_m: 8 },
    patrol_id: null, area_id: null,
  };
  const r = await fetch(`${BASE}/v1/referrals`, {
    method: 'POST', headers: { authorization: `Bearer ${OFFICER}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}

test("a Navigator's day on the desk: inbox, a referral, assign, close with an outcome", { skip: !NAVIGATOR }, async () => {
  await uploadReferral('browser-urgent', 'birmingham', 'urgent');
  await uploadReferral('browser-routine', 'birmingham', 'routine');
  await uploadReferral('browser-coventry', 'coventry', 'priority');
  for (const viewport of [DESKTOP, PHONE]) {
    const page = await newPage(viewport);
    await page.goto(`${BASE}/navigator`);
    assert.match(await page.locator('h1').innerText(), /Sign in to the Navigator/);
    await page.getByLabel('Token').fill(NAVIGATOR);
    const answered = page.waitForResponse((r) => r.url().endsWith('/navigator/login') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await answered;
    await page.waitForLoadState('load');
    assert.match(await page.locator('h1').innerText(), /Birmingham referrals/);
    const refs = await page.locator('tbody th').allInnerTexts();
    // Urgent on top; on the second pass the urgent one is closed, so off the open inbox.
    const open = viewport === DESKTOP ? ['VRP-browser-urgent', 'VRP-browser-routine'] : ['VRP-browser-routine'];
    assert.deepEqual(refs.filter((r) => r.startsWith('VRP-browser')), open);
    assert.ok(!(await page.content()).includes(CHILD), 'the inbox names no child');
    await axe(page);
    await noSideScroll(page);
    const size = viewport === PHONE ? 'phone' : 'desktop';
    await page.screenshot({ path: `${SCREENS}/navigator-inbox-${size}.png`, fullPage: true });

    await page.getByRole('link', { name: open[0] }).click();
    await page.waitForLoadState('load');
    assert.ok((await page.content()).includes(CHILD), 'the referral page has the details the team needs');
    await axe(page);
    await noSideScroll(page);
    await page.screenshot({ path: `${SCREENS}/navigator-referral-${size}.png`, fullPage: true });
    if (viewport === DESKTOP) {
      await page.getByRole('button', { name: 'Assign' }).click();
      await page.waitForLoadState('load');
      assert.match(await page.locator('.notice').innerText(), /assigned/);
      await page.getByLabel('Outcome').selectOption('engaged');
      await page.getByRole('button', { name: 'Close' }).click();
      await page.waitForLoadState('load');
      const history = await page.locator('ol.history').innerText();
      assert.match(history, /assigned to nav-browser/);
      assert.match(history, /closed: Engaged with support/);
      await page.screenshot({ path: `${SCREENS}/navigator-closed-desktop.png`, fullPage: true });
      const other = await page.goto(`${BASE}/navigator/referrals/browser-coventry`);
      assert.equal(other.status(), 404, "another team's referral is not there");
      await page.goto(`${BASE}/navigator/team`);
      await axe(page);
      await page.screenshot({ path: `${SCREENS}/navigator-team-desktop.png`, fullPage: true });
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
    await page.context().close();
  }
});

const AUDITOR = process.env.REVIEW_AUDITOR;

test("the DPO reads the access log: the desk's looks are in it, by id", { skip: !AUDITOR }, async () => {
  for (const viewport of [DESKTOP, PHONE]) {
    const page = await newPage(viewport);
    await page.goto(`${BASE}/audit?record=browser-urgent`);
    assert.match(await page.locator('h1').innerText(), /Sign in to the access log/);
    await page.getByLabel('Token').fill(AUDITOR);
    const answered = page.waitForResponse((r) => r.url().endsWith('/audit/login') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await answered;
    await page.waitForLoadState('load');
    assert.match(await page.locator('h1').innerText(), /Access log/);
    assert.match(await page.locator('.notice').first().innerText(), /The chain is intact/);
    const text = await page.locator('main').innerText();
    assert.match(text, /nav-browser \(navigator\)/, 'the Navigator who opened it');
    assert.ok(!(await page.content()).includes(CHILD), 'ids only, never the child');
    await axe(page);
    await noSideScroll(page);
    const size = viewport === PHONE ? 'phone' : 'desktop';
    await page.screenshot({ path: `${SCREENS}/audit-${size}.png`, fullPage: true });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
    await page.context().close();
  }
});

test('no page logged a console error, failed a request or broke its CSP', () => {
  // 401 and 403 pages are answers the tests asked for, not failures; the
  // browser still logs them as failed resource loads.
  // The 404 of another team's referral is the test's own.
  const real = problems.filter((p) => !/status of 40[13]/.test(p) && !p.includes('/navigator/referrals/browser-coventry'));
  assert.deepEqual(real, []);
});
