import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Locator, Page, TestInfo } from '@playwright/test';
import { expect } from './fixtures';

/**
 * Checks that apply to every page, measured in the browser: axe-core's rules
 * (e2e/a11y.spec.ts) and the layout's width (e2e/layout.spec.ts), plus the
 * screenshots the README shows.
 */

/** Where the README's screenshots live. */
const README_SCREENSHOTS = path.resolve(__dirname, '..', 'docs', 'screenshots');
/** Where a copy of every screenshot and axe summary goes, if set (scripts/test.mjs: .tmp/pages-<database>/). */
const ARTIFACTS = process.env.E2E_PAGE_ARTIFACTS;

/** The two widths every page is laid out at: a laptop and a small phone. */
export const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 360, height: 740 } } as const;

/**
 * A page to check, with the heading that says it has rendered. `phone`: at
 * 360 px it shows axe something else than at 1280 (the narrow diagram,
 * tables that scroll, the wrapped header and forms), so axe runs at both
 * widths; the other pages' phone layout is measured by e2e/layout.spec.ts.
 */
export interface PageToCheck {
  path: string;
  heading: string;
  phone?: true;
}

/** Pages anyone can open. */
export const PUBLIC_PAGES: [PageToCheck, PageToCheck, PageToCheck, ...PageToCheck[]] = [
  { path: '/', heading: 'How does a server remember you?', phone: true },
  { path: '/login', heading: 'Sign in', phone: true },
  { path: '/register', heading: 'Create an account', phone: true },
  { path: '/forgot-password', heading: 'Forgot password' },
  { path: '/reset-password', heading: 'Set a new password' },
  { path: '/verify-email', heading: 'Finish sign-up' },
  { path: '/dev/mailbox', heading: 'Development mailbox' },
  { path: '/compare', heading: 'Comparison lab' },
  { path: '/no-such-page', heading: 'Page not found' },
];

/** Pages of a signed-in account (the admin page has its own test: it needs the admin role). */
export const ACCOUNT_PAGES: [PageToCheck, ...PageToCheck[]] = [
  { path: '/dashboard', heading: 'Dashboard', phone: true },
  { path: '/dashboard/sessions', heading: 'Active sessions', phone: true },
  { path: '/dashboard/security', heading: 'Security' },
  { path: '/dashboard/confirm?returnTo=%2Fdashboard%2Fsecurity', heading: "Confirm it's you" },
];

/** Opens a page and waits for its main heading. */
export async function open(page: Page, target: PageToCheck): Promise<void> {
  await page.goto(target.path);
  await expect(page.getByRole('heading', { level: 1, name: target.heading })).toBeVisible();
}

/** What one axe run found, by impact, for the summary attached to the test. */
export interface AxeSummary {
  page: string;
  passes: number;
  incomplete: number;
  violations: Record<string, string[]>;
}

/**
 * Runs every axe-core rule on the page as it is now and fails on any serious or
 * critical violation (naming the rule and the elements). Minor and moderate
 * ones are reported in the summary, not failed on.
 */
export async function expectAccessible(page: Page, testInfo: TestInfo, label: string): Promise<AxeSummary> {
  const results = await new AxeBuilder({ page }).analyze();
  const blocking = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  const summary: AxeSummary = {
    page: label,
    passes: results.passes.length,
    incomplete: results.incomplete.length,
    violations: {},
  };
  for (const violation of results.violations) (summary.violations[violation.impact ?? 'unknown'] ??= []).push(violation.id);
  await testInfo.attach(`axe ${label}`, { body: JSON.stringify(summary), contentType: 'application/json' });
  if (ARTIFACTS) {
    fs.mkdirSync(path.join(ARTIFACTS, 'axe'), { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'axe', `${label.replace(/[^a-z0-9]+/gi, '-')}.json`), JSON.stringify(summary));
  }
  expect(blocking, `axe on ${label}: serious or critical violations`).toEqual([]);
  // The rules really ran on this page's content.
  expect(summary.passes, `axe on ${label}: rules that passed`).toBeGreaterThan(10);
  return summary;
}

/** An element that reaches past the viewport's sides, and is not inside a box that clips or scrolls it. */
interface Overflow {
  element: string;
  left: number;
  right: number;
}

/**
 * Measures, in the page, every element against the viewport: none may reach
 * past its left or right side, unless a scrolling (or clipping) box that is
 * itself inside the viewport holds it. And the document itself must not
 * scroll sideways.
 */
export async function expectNoOverflow(page: Page, label: string): Promise<void> {
  const measured = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const inside = (rect: DOMRect) => rect.left >= -0.5 && rect.right <= width + 0.5;
    const name = (element: Element) =>
      `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${element.getAttribute('class') ? `.${element.getAttribute('class')!.trim().split(/\s+/).join('.')}` : ''}`;
    const overflows: { element: string; left: number; right: number }[] = [];
    for (const element of document.body.querySelectorAll('*')) {
      const rect = element.getBoundingClientRect();
      if ((rect.width === 0 && rect.height === 0) || inside(rect)) continue;
      // Held: some box around it clips or scrolls sideways and is itself inside the viewport (an <svg>
      // clips its drawing, and may sit in a box that scrolls). What is positioned outside such a box's
      // reach still widens the document: the scrollWidth check below sees that.
      let held = false;
      for (let box = element.parentElement; box && box !== document.body && !held; box = box.parentElement) {
        held = getComputedStyle(box).overflowX !== 'visible' && inside(box.getBoundingClientRect());
      }
      if (!held) overflows.push({ element: name(element), left: Math.round(rect.left), right: Math.round(rect.right) });
    }
    return { width, scrollWidth: document.documentElement.scrollWidth, overflows };
  });
  expect(measured.overflows satisfies Overflow[], `${label}: elements past the sides of a ${measured.width} px viewport`).toEqual([]);
  expect(measured.scrollWidth, `${label}: the page's width`).toBeLessThanOrEqual(measured.width);
}

/**
 * Saves a screenshot of the page as a test artifact (the test's output
 * folder), and a copy in E2E_PAGE_ARTIFACTS when set (it outlives a passing
 * run). With UPDATE_SCREENSHOTS=1 the README's screenshots (`readme`) are
 * copied into docs/screenshots/ too.
 */
export async function screenshot(
  page: Page,
  testInfo: TestInfo,
  name: string,
  /** `fullPage`: the whole page, not only the viewport; `downTo`: the page from its top to the end of this element. */
  options: { fullPage?: boolean; downTo?: Locator; readme?: boolean } = {},
): Promise<string> {
  const file = testInfo.outputPath(`${name}.png`);
  let clip: { x: number; y: number; width: number; height: number } | undefined;
  if (options.downTo) {
    const box = await options.downTo.boundingBox();
    expect(box, `screenshot ${name}: the element it ends with`).not.toBeNull();
    const scrollY = await page.evaluate(() => window.scrollY);
    clip = { x: 0, y: 0, width: page.viewportSize()!.width, height: Math.ceil(box!.y + scrollY + box!.height + 16) };
  }
  await page.screenshot({ path: file, fullPage: options.fullPage ?? Boolean(clip), clip, animations: 'disabled', caret: 'hide' });
  expect(fs.statSync(file).size, `screenshot ${name}`).toBeGreaterThan(1000);
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  const copies = [ARTIFACTS, options.readme && process.env.UPDATE_SCREENSHOTS === '1' ? README_SCREENSHOTS : undefined];
  for (const folder of copies) {
    if (!folder) continue;
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(file, path.join(folder, `${name}.png`));
  }
  return file;
}
