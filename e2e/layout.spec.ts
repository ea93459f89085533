import type { Page } from '@playwright/test';
import { ADMIN, STRATEGIES, expect, test } from './fixtures';
import { ACCOUNT_PAGES, PUBLIC_PAGES, WIDTHS, expectNoOverflow, open, screenshot } from './page-checks';

// Every page laid out at 1280 and at 360 px wide, measured in the page: no
// element reaches past the viewport (a box that scrolls sideways may hold a
// wider drawing), long values wrap, the forms suit a phone, the home page's
// diagrams fit their cards and the cards line up. Screenshots of the main
// pages are written as test artifacts; UPDATE_SCREENSHOTS=1 also copies the
// README's into docs/screenshots/.

/** Lays the open page out at each width in turn and measures it. */
async function expectFitsEveryWidth(page: Page, label: string): Promise<void> {
  for (const [name, viewport] of Object.entries(WIDTHS)) {
    await page.setViewportSize(viewport);
    await expectNoOverflow(page, `${label} (${name})`);
  }
}

/** Every <pre> on the page wraps its lines: nothing to scroll sideways inside it. */
async function expectPreWraps(page: Page, label: string): Promise<void> {
  const blocks = await page.locator('pre').evaluateAll((elements) =>
    elements.map((element) => ({ scroll: element.scrollWidth, client: element.clientWidth, testId: element.getAttribute('data-testid') })),
  );
  expect(blocks.length, `${label}: JSON blocks`).toBeGreaterThan(0);
  for (const block of blocks) expect(block.scroll, `${label}: <pre> ${block.testId} wraps`).toBeLessThanOrEqual(block.client);
}

test('signed out: every public page fits 1280 and 360 px', async ({ page }, testInfo) => {
  for (const target of PUBLIC_PAGES) {
    await page.setViewportSize(WIDTHS.desktop);
    await open(page, target);
    await expectFitsEveryWidth(page, target.path);
  }
  for (const [name, viewport] of Object.entries(WIDTHS)) {
    await page.setViewportSize(viewport);
    await open(page, PUBLIC_PAGES[0]);
    await screenshot(page, testInfo, `home-${viewport.width}`, { fullPage: true, readme: name === 'desktop' });
    await open(page, PUBLIC_PAGES[1]);
    await screenshot(page, testInfo, `login-${viewport.width}`);
  }
});

for (const strategy of STRATEGIES) {
  test(`signed in with ${strategy}: the account pages fit 1280 and 360 px, the dashboard's JSON wraps`, async ({ signedInPage }, testInfo) => {
    const { page, user } = await signedInPage(strategy);
    for (const target of [...ACCOUNT_PAGES, PUBLIC_PAGES[0]]) {
      await page.setViewportSize(WIDTHS.desktop);
      await open(page, target);
      await expectFitsEveryWidth(page, `${target.path} (${strategy})`);
    }
    for (const [name, viewport] of Object.entries(WIDTHS)) {
      await page.setViewportSize(viewport);
      await open(page, ACCOUNT_PAGES[0]);
      // The user agent and the token's claims are the long values here.
      await expect(page.getByTestId(strategy === 'database' ? 'session-row' : 'session-record')).toContainText('userAgent');
      await expectPreWraps(page, `/dashboard (${strategy}, ${name})`);
      await expect(page.getByRole('banner').getByTestId('signed-in-as')).toContainText(`Signed in as ${user.name}`);
      await screenshot(page, testInfo, `dashboard-${strategy}-${viewport.width}`, {
        downTo: page.getByRole('region', { name: 'What this strategy stored' }),
        readme: name === 'desktop',
      });
    }
  });
}

test('the admin page fits 1280 and 360 px', async ({ page, signIn }) => {
  await signIn(page, ADMIN, 'jwt');
  await open(page, { path: '/admin', heading: 'Admin' });
  await expectFitsEveryWidth(page, '/admin');
});

test('the home page: each diagram draws every label inside itself, and the two cards line up', async ({ page }) => {
  for (const [name, viewport] of Object.entries(WIDTHS)) {
    await page.setViewportSize(viewport);
    await open(page, PUBLIC_PAGES[0]);
    for (const strategy of STRATEGIES) {
      const diagram = page.getByTestId(`flow-${strategy}`).getByRole('img');
      await expect(diagram).toBeVisible();
      const outside = await diagram.evaluate((svg) => {
        const box = (svg as SVGSVGElement).viewBox.baseVal;
        return [...svg.querySelectorAll('text')]
          .map((text) => ({ text: text.textContent, box: text.getBBox() }))
          .filter(({ box: b }) => b.x < box.x || b.y < box.y || b.x + b.width > box.x + box.width || b.y + b.height > box.y + box.height)
          .map(({ text }) => text);
      });
      expect(outside, `${strategy} diagram (${name}): labels past its edges`).toEqual([]);
      // The drawing made for the box's width: its 12-unit labels show at a readable size.
      const labelPx = await diagram.evaluate((svg) => (12 * svg.getBoundingClientRect().width) / (svg as SVGSVGElement).viewBox.baseVal.width);
      expect(labelPx, `${strategy} diagram (${name}): label size in CSS pixels`).toBeGreaterThanOrEqual(10.5);
      expect(await diagram.locator('text').count(), `${strategy} diagram: labels`).toBeGreaterThan(8);
    }
    const cards = await Promise.all(
      STRATEGIES.map(async (strategy) => {
        const card = page.getByTestId(`flow-${strategy}`);
        return { card: await card.boundingBox(), heading: await card.getByRole('heading').boundingBox(), diagram: await card.getByRole('img').boundingBox() };
      }),
    );
    const [first, second] = cards.map((entry) => {
      expect(entry.card && entry.heading && entry.diagram).toBeTruthy();
      return { card: entry.card!, heading: entry.heading!, diagram: entry.diagram! };
    });
    if (name === 'desktop') {
      // Side by side: same top, same height, headings and diagrams on the same lines.
      expect(second!.card.x).toBeGreaterThan(first!.card.x + first!.card.width);
      expect(Math.abs(second!.card.y - first!.card.y)).toBeLessThanOrEqual(1);
      expect(Math.abs(second!.card.height - first!.card.height)).toBeLessThanOrEqual(1);
      expect(Math.abs(second!.heading.y - first!.heading.y)).toBeLessThanOrEqual(1);
      expect(Math.abs(second!.diagram.y - first!.diagram.y)).toBeLessThanOrEqual(1);
    } else {
      // One above the other, the same width.
      expect(second!.card.y).toBeGreaterThanOrEqual(first!.card.y + first!.card.height);
      expect(Math.abs(second!.card.width - first!.card.width)).toBeLessThanOrEqual(1);
    }
  }
});

test('on a phone, the sign-in and registration forms have full-width fields, 16 px text and large targets', async ({ page }) => {
  await page.setViewportSize(WIDTHS.phone);
  for (const target of [PUBLIC_PAGES[1], PUBLIC_PAGES[2]]) {
    await open(page, target);
    const form = page.getByRole('form', { name: target.path === '/login' ? 'Sign in' : 'Create account' });
    const formBox = (await form.boundingBox())!;
    const fields = form.getByRole('textbox').or(form.getByLabel('Password', { exact: true }));
    expect(await fields.count()).toBeGreaterThanOrEqual(2);
    for (const field of await fields.all()) {
      const box = (await field.boundingBox())!;
      const fontSize = await field.evaluate((element) => parseFloat(getComputedStyle(element).fontSize));
      expect(fontSize, `${target.path}: field text size`).toBeGreaterThanOrEqual(16);
      expect(box.height, `${target.path}: field height`).toBeGreaterThanOrEqual(44);
      expect(box.width, `${target.path}: field width`).toBeGreaterThanOrEqual(formBox.width * 0.8);
    }
    const submit = form.getByRole('button', { name: target.path === '/login' ? 'Sign in' : 'Create account', exact: true });
    const button = (await submit.boundingBox())!;
    expect(button.height, `${target.path}: button height`).toBeGreaterThanOrEqual(40);
    expect(button.width, `${target.path}: button width`).toBeGreaterThanOrEqual(formBox.width * 0.8);
    await expectNoOverflow(page, `${target.path} (phone)`);
  }
});
