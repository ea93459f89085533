import { expect, test } from '@playwright/test';
import { IDS } from './instances';

// The comparison lab's scaling experiment on the cluster: started through
// nginx, it asks every instance directly (the addresses scripts/cluster.mjs
// gives each instance) and through the load balancer, and names each one.

interface Claim {
  id: string;
  verdict: string;
  columns: { key: string; figure: string }[];
  tables: { rows: { key: string; cells: string[] }[] }[];
}

test('the scaling experiment names every instance, each accepting every credential', async ({ request, baseURL }) => {
  test.setTimeout(90_000);
  expect(IDS.length).toBeGreaterThan(1);
  const response = await request.post('/api/compare/run', { data: { experiment: 'scaling' }, headers: { origin: new URL(baseURL!).origin }, timeout: 80_000 });
  expect(response.status()).toBe(200);
  const events = (await response.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; claims?: Claim[] });
  const result = events.find((event) => event.type === 'result');
  expect(result, JSON.stringify(events.filter((event) => event.type !== 'progress'))).toBeTruthy();
  const claim = result!.claims![0]!;
  expect(claim.id).toBe('scaling');
  expect(claim.verdict).toContain(`Both scale out here: each of the ${IDS.length} instances (${IDS.join(', ')})`);
  expect(claim.verdict).toContain('directly and through the load balancer');
  const acceptance = claim.tables[0]!.rows;
  const named = acceptance.filter((row) => row.key.startsWith('instance-')).map((row) => row.cells[0]);
  expect(named).toEqual(IDS);
  for (const row of acceptance.filter((entry) => entry.key.startsWith('instance-'))) {
    expect(row.cells.slice(1), row.cells[0]).toEqual(['accepted (3/3)', 'accepted (3/3)', 'accepted (3/3)']);
  }
  const balancer = acceptance.find((row) => row.key === 'balancer');
  // Round-robin: more than one instance answered each credential through nginx.
  for (const cell of balancer!.cells.slice(1)) expect(cell.split('answered by ')[1]?.split(', ').length ?? 0).toBeGreaterThan(1);
  for (const column of claim.columns) expect(column.figure).toBe(`accepted by ${IDS.length} of ${IDS.length} instances`);
});
