// Telephony clients (the PBXs that ask where a relay call goes) under control: operators list, revoke
// and reinstate them from the shell; each credential has a request budget; and a client that sweeps
// the pool — asking for extension after extension that leads nowhere — is suspended long before it
// has tried 100 of them, with an alert and an audit record, until an operator reinstates it; so is one
// whose answers reach more parcels than allowed (a harvest of real numbers), paced or not. On both
// databases, against real `waybill serve` instances and the real `waybill` command.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { EXIT, main } from '../../src/cli';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS, type StoreBackend, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
const POOL = ['+8617000001234', '+8617000001235'];
const AT = new Date('2026-11-23T10:00:00.000Z');
const SWEEP_REASON = 'too many unknown extensions in a minute';

interface World {
  t: TestDatabase;
  dir: string;
  run(...argv: string[]): Promise<{ code: number; out: string }>;
  /** Starts another `waybill serve` instance on the same database. */
  serve(): Promise<string>;
  urls: string[];
  addClient(name: string): Promise<{ id: string; credential: string }>;
  post(url: string, route: string, body: unknown, credential: string): Promise<{ status: number; retryAfter: string | null; body: any }>;
  /** The relay number + extension printed for the recipient of each printed waybill (live bindings). */
  live: { to: string; ext: string }[];
  /** The waybill number of each of `live`. */
  waybillNos: string[];
  stop(): Promise<void>;
}

async function world(backend: StoreBackend, env: Record<string, string> = {}): Promise<World> {
  const t = await backend.open();
  const dir = t.location.backend === 'sqlite' ? path.dirname(t.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-telephony-'));
  const fullEnv = {
    WAYBILL_DATA_DIR: dir,
    WAYBILL_RELAY_NUMBERS: POOL.join(','),
    ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
    ...env,
  };
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const code = await main(argv, (l) => lines.push(l), fullEnv);
    return { code, out: lines.join('\n') };
  };
  const labels = path.join(dir, 'labels.json');
  expect((await run('print', path.join(ROOT, 'samples', 'orders.json'), '--format', 'json', '--out', labels)).code).toBe(EXIT.ok);
  const printed = JSON.parse(fs.readFileSync(labels, 'utf8')) as { waybillNo: string; copies: { copy: string; fields: Record<string, string> }[] }[];
  const live = printed.map((w) => {
    const m = /^(\d{3}) (\d{4}) (\d{4}) 转 (\d{4})$/.exec(w.copies.find((c) => c.copy === 'courier')!.fields['recipient.phone']!)!;
    return { to: `+86${m[1]}${m[2]}${m[3]}`, ext: m[4]! };
  });
  const instances: { services: Services; running: RunningService }[] = [];
  const urls: string[] = [];
  const serve = async () => {
    const services = await openServices(loadConfig(fullEnv), () => {});
    const logs = new PassThrough().resume();
    const running = await serveCommand(['--port', '0'], services, () => {}, logs);
    instances.push({ services, running });
    urls.push(running.url);
    return running.url;
  };
  await serve();
  return {
    t,
    dir,
    run,
    serve,
    urls,
    live,
    waybillNos: printed.map((w) => w.waybillNo),
    addClient: async (name) => {
      const { out } = await run('relay', 'clients', 'add', '--name', name);
      const credential = /^(wbt_\S+)$/m.exec(out)![1]!;
      return { id: /^created telephony client (\S+) /m.exec(out)![1]!, credential };
    },
    post: async (url, route, body, credential) => {
      const res = await fetch(`${url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
    },
    stop: async () => {
      for (const { services, running } of instances) {
        await running.shutdown();
        await services.close();
      }
      await t.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const receipt = (n: number) => ({ callId: `call-${n}`, startedAt: AT.toISOString(), endedAt: AT.toISOString() });

describe.each(STORE_BACKENDS)('%s telephony clients', (_name, backend) => {
  it('refuse a valid key of another role as such (403), not as an unknown credential', async () => {
    const w = await world(backend);
    try {
      const admin = /^(wbk_\S+)$/m.exec((await w.run('keys', 'create', '--role', 'admin', '--name', 'ops')).out)![1]!;
      for (const path of ['/v1/relay/resolve', '/v1/relay/calls']) {
        const asAdmin = await w.post(w.urls[0]!, path, path.endsWith('resolve') ? w.live[0] : receipt(1), admin);
        expect([asAdmin.status, asAdmin.body.detail]).toEqual([403, 'this needs the role: telephony']);
      }
    } finally {
      await w.stop();
    }
  });

  it('are listed (also by keys list) and revoked from the shell — by relay clients revoke or keys revoke — and then open nothing', async () => {
    const w = await world(backend);
    try {
      const pbx1 = await w.addClient('pbx-1');
      const created = await w.run('keys', 'create', '--role', 'telephony', '--name', 'pbx-2');
      const pbx2 = { id: /telephony client (\S+)/.exec(created.out)![1]!, credential: /^(wb[ckt]_\S+)$/m.exec(created.out)![1]! };

      const listed = await w.run('relay', 'clients', 'list');
      expect(listed.out.split('\n')).toEqual(['id\tname\tstatus\tcreated', expect.stringMatching(new RegExp(`^${pbx1.id}\tpbx-1\tactive\t`)), expect.stringMatching(new RegExp(`^${pbx2.id}\tpbx-2\tactive\t`))]);
      const keys = await w.run('keys', 'list');
      expect(keys.out).toMatch(new RegExp(`^${pbx1.id}\ttelephony\t-\tpbx-1\tactive\t`, 'm'));
      expectAbsent(listed.out + keys.out, [pbx1.credential, pbx2.credential], 'client lists');
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx1.credential)).body).toMatchObject({ action: 'bridge' });

      expect((await w.run('relay', 'clients', 'revoke', pbx1.id)).code).toBe(EXIT.ok);
      expect((await w.run('keys', 'revoke', pbx2.id)).code).toBe(EXIT.ok);
      for (const credential of [pbx1.credential, pbx2.credential]) {
        expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], credential)).status).toBe(401);
        expect((await w.post(w.urls[0]!, '/v1/relay/calls', receipt(1), credential)).status).toBe(401);
      }
      expect((await w.run('relay', 'clients', 'list')).out).toMatch(new RegExp(`^${pbx1.id}\tpbx-1\trevoked `, 'm'));
      expect((await w.run('keys', 'list')).out).toMatch(new RegExp(`^${pbx2.id}\ttelephony\t-\tpbx-2\trevoked `, 'm'));

      // Revocation is permanent; unknown ids are reported as such.
      expect((await w.run('relay', 'clients', 'reinstate', pbx1.id)).code).toBe(EXIT.failure);
      expect((await w.run('relay', 'clients', 'revoke', 'nosuchid22')).code).toBe(EXIT.failure);
      expect((await w.run('keys', 'revoke', 'nosuchid22')).out).toMatch(/unknown key/);

      const audited = await w.t.query("SELECT action, detail FROM audit_log WHERE action IN ('key_create', 'key_revoke') ORDER BY seq");
      expect(audited).toEqual([
        { action: 'key_create', detail: JSON.stringify({ key: pbx1.id }) },
        { action: 'key_create', detail: JSON.stringify({ key: pbx2.id }) },
        { action: 'key_revoke', detail: JSON.stringify({ key: pbx1.id }) },
        { action: 'key_revoke', detail: JSON.stringify({ key: pbx2.id }) },
      ]);
    } finally {
      await w.stop();
    }
  });

  it('limits resolve requests and call receipts per credential with 429 and Retry-After', async () => {
    const w = await world(backend, { WAYBILL_TELEPHONY_REQUESTS_PER_SECOND: '3' });
    try {
      const [pbx, other] = [await w.addClient('pbx-1'), await w.addClient('pbx-2')];
      const url = w.urls[0]!;
      const resolves = await Promise.all(Array.from({ length: 8 }, () => w.post(url, '/v1/relay/resolve', w.live[0], pbx.credential)));
      const receipts = await Promise.all(Array.from({ length: 8 }, (_, i) => w.post(url, '/v1/relay/calls', receipt(i), pbx.credential)));
      for (const answers of [resolves, receipts]) {
        const limited = answers.filter((a) => a.status === 429);
        expect(limited.length).toBeGreaterThanOrEqual(4);
        expect(Number(limited[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(limited[0]!.body).toMatchObject({ status: 429, type: expect.stringMatching(/limited$/) });
      }
      // Another client has its own budget.
      expect((await w.post(url, '/v1/relay/resolve', w.live[0], other.credential)).status).toBe(200);
    } finally {
      await w.stop();
    }
  });

  it('suspends a client sweeping every extension of the pool before 100 unknown answers, across instances, until reinstated', async () => {
    const w = await world(backend, { WAYBILL_TELEPHONY_REQUESTS_PER_SECOND: '100000' });
    try {
      await w.serve(); // a second instance: the unknown answers are counted in the database, not per process
      const pbx = await w.addClient('pbx-1');
      // The sweep of the issue: every extension on both numbers, alternating between the instances.
      const sweep = POOL.flatMap((to) => Array.from({ length: 10_000 }, (_, i) => ({ to, ext: String(i).padStart(4, '0') })));
      let unknown = 0;
      let stopped: { status: number; body: any } | undefined;
      for (const [i, call] of sweep.entries()) {
        const answer = await w.post(w.urls[i % 2]!, '/v1/relay/resolve', call, pbx.credential);
        if (answer.status !== 200) {
          stopped = answer;
          break;
        }
        if (answer.body.reason === 'unknown') unknown++;
      }
      expect(stopped).toMatchObject({ status: 403, body: { type: expect.stringMatching(/suspended$/) } });
      expect(unknown).toBe(30); // the default threshold: the 31st unknown answer in a minute is already a 403
      expect(unknown).toBeLessThan(100);

      expect(await w.t.query("SELECT kind, courier_id, detail FROM alerts WHERE kind = 'telephony_suspended'")).toEqual([
        { kind: 'telephony_suspended', courier_id: null, detail: `telephony client ${pbx.id}: ${SWEEP_REASON}` },
      ]);
      expect(await w.t.query("SELECT actor, outcome, detail FROM audit_log WHERE action = 'suspend'")).toEqual([
        { actor: 'system', outcome: 'suspended', detail: JSON.stringify({ telephony: pbx.id, reason: SWEEP_REASON }) },
      ]);
      expect((await w.run('relay', 'clients', 'list')).out).toMatch(new RegExp(`^${pbx.id}\tpbx-1\tsuspended \\S+ \\(${SWEEP_REASON}\\)\t`, 'm'));

      // Suspended: every later call is turned away, even for a live binding, on every instance.
      for (const url of w.urls) {
        expect((await w.post(url, '/v1/relay/resolve', w.live[0], pbx.credential)).status).toBe(403);
        expect((await w.post(url, '/v1/relay/calls', receipt(1), pbx.credential)).status).toBe(403);
      }

      // An operator reinstates it (audited); its count starts afresh.
      const reinstated = await w.run('relay', 'clients', 'reinstate', pbx.id);
      expect(reinstated).toEqual({ code: EXIT.ok, out: expect.stringMatching(/^reinstated telephony client /) });
      expect(await w.t.query("SELECT action, detail FROM audit_log WHERE action = 'reinstate'")).toEqual([{ action: 'reinstate', detail: JSON.stringify({ telephony: pbx.id }) }]);
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx.credential)).body).toMatchObject({ action: 'bridge' });
      expect((await w.post(w.urls[1]!, '/v1/relay/resolve', sweep[0], pbx.credential)).status).toBe(200);
      expect((await w.post(w.urls[1]!, '/v1/relay/resolve', w.live[0], pbx.credential)).status).toBe(200);
      expect((await w.run('relay', 'clients', 'reinstate', pbx.id)).out).toMatch(/was not suspended/);
      expect((await w.run('audit', 'verify')).out).toMatch(/audit log intact/);
    } finally {
      await w.stop();
    }
  });
  it("ends a parcel's relay bindings when its waybill is purged: the real number is shredded with the rest", async () => {
    const w = await world(backend, { WAYBILL_RETENTION_GRACE_DAYS: '0' });
    try {
      const pbx = await w.addClient('pbx-1');
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx.credential)).body).toMatchObject({ action: 'bridge' });
      for (const event of ['picked_up', 'delivered']) expect((await w.run('event', w.waybillNos[0]!, event)).code).toBe(EXIT.ok);
      // Delivered: the after-sales days would keep the number ringing; its purge time (no grace here) ends
      // it at once, before the sweep has shredded anything, and the purge shreds it.
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx.credential)).body).toMatchObject({ action: 'reject', reason: 'expired' });
      expect((await w.run('purge')).out).toMatch(/shredded the sealed data of 1 waybill/);
      const after = await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx.credential);
      expect(after.body).toMatchObject({ action: 'reject', reason: 'expired' });
      expect(after.body).not.toHaveProperty('target');
      const [waybill] = await w.t.query('SELECT id FROM waybills WHERE waybill_no = ?', w.waybillNos[0]);
      expect(await w.t.query('SELECT count(*) AS n FROM relay_bindings WHERE waybill_id = ? AND (sealed IS NOT NULL OR ended_at IS NULL)', waybill!.id)).toEqual([{ n: 0 }]);
      // The other parcels still ring.
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[1], pbx.credential)).body).toMatchObject({ action: 'bridge' });

      // A waybill purged by an earlier release (its bindings left live): the upgrade's migration ends them.
      await w.t.exec(`UPDATE waybills SET purged_at = '${new Date().toISOString()}' WHERE waybill_no = '${w.waybillNos[2]}'`);
      await w.t.exec('DELETE FROM schema_migrations WHERE version = 29');
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[2], pbx.credential)).body).toMatchObject({ action: 'bridge' });
      await w.t.reopen();
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[2], pbx.credential)).body).toMatchObject({ action: 'reject', reason: 'expired' });
      expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[1], pbx.credential)).body).toMatchObject({ action: 'bridge' });
    } finally {
      await w.stop();
    }
  });

  it('reaches nobody through a relay binding whose terms were rewritten in the database (callers, parties, waybill), which audit rows finds; put back, it rings again', async () => {
    const w = await world(backend);
    try {
      const pbx = await w.addClient('pbx-1');
      const resolve = async () => (await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx.credential)).body;
      expect(await resolve()).toMatchObject({ action: 'bridge' });
      const where = `number = '${w.live[0]!.to}' AND ext = '${w.live[0]!.ext}' AND sealed IS NOT NULL`;
      const [terms] = await w.t.query(`SELECT id, waybill_id, caller_policy, party_phone_hashes FROM relay_bindings WHERE ${where}`);
      const [other] = await w.t.query('SELECT id FROM waybills WHERE waybill_no = ?', w.waybillNos[1]);
      const rewrites = [
        `caller_policy = '${terms!.caller_policy === 'anyone' ? 'parties' : 'anyone'}'`, // who may call
        `party_phone_hashes = '["an-insider-phone-hash"]'`, // an insider's phone made a party
        `waybill_id = '${other!.id}'`, // the number moved to another parcel
      ];
      // An investigator's walk over every bound row finds nothing rewritten yet.
      const rows = await w.run('audit', 'rows');
      const kinds = ['waybill states', 'relay bindings', 'api keys', 'couriers', 'courier devices', 'telephony clients', 'station suspensions'];
      expect([rows.code, rows.out.split('\n')]).toEqual([EXIT.ok, kinds.map((kind) => expect.stringMatching(new RegExp(`^${kind}: \\d+ checked, 0 rewritten outside the service$`)))]);
      expect(rows.out).toMatch(/^telephony clients: 1 checked/m);
      for (const rewrite of rewrites) {
        await w.t.exec(`UPDATE relay_bindings SET ${rewrite} WHERE ${where}`);
        // Found by the walk before any call uses it: its id, nothing else.
        const found = await w.run('audit', 'rows');
        expect([found.code, found.out.split('\n').slice(1, 4)]).toEqual([EXIT.failure, [expect.stringMatching(/^relay bindings: \d+ checked, 1 rewritten outside the service$/), `  ${terms!.id}`, expect.stringMatching(/^api keys: \d+ checked, 0 rewritten/)]]);
        const refused = await resolve();
        expect(refused).toMatchObject({ action: 'reject', reason: 'unknown' }); // the PBX learns nothing more
        expect(refused).not.toHaveProperty('target');
        expect(refused).not.toHaveProperty('tampered');
        await w.t.exec(`UPDATE relay_bindings SET waybill_id = '${terms!.waybill_id}', caller_policy = '${terms!.caller_policy}', party_phone_hashes = '${terms!.party_phone_hashes}' WHERE ${where}`);
        expect(await resolve()).toMatchObject({ action: 'bridge' });
      }
      // A waybill's state rewritten (its purge moved later) is found by the same walk.
      const [purge] = await w.t.query('SELECT purge_after FROM waybills WHERE id = ?', other!.id);
      await w.t.exec(`UPDATE waybills SET purge_after = '2099-01-01T00:00:00.000Z' WHERE id = '${other!.id}'`);
      const state = await w.run('audit', 'rows');
      expect([state.code, state.out.split('\n').slice(0, 2)]).toEqual([EXIT.failure, [expect.stringMatching(/^waybill states: \d+ checked, 1 rewritten outside the service$/), `  ${other!.id}`]]);
      await w.t.exec(`UPDATE waybills SET purge_after = '${purge!.purge_after}' WHERE id = '${other!.id}'`);
      expect((await w.run('audit', 'rows')).code).toBe(EXIT.ok);
      // Every refused call is on record; the alert is raised once an hour per binding and process.
      expect(await w.t.query("SELECT detail FROM audit_log WHERE action = 'call' AND outcome = 'record_tampered'")).toHaveLength(3);
      expect(await w.t.query("SELECT detail FROM alerts WHERE kind = 'relay_tampered'")).toEqual([
        { detail: `relay binding ${terms!.id} of waybill ${terms!.waybill_id}: its row was changed outside the service; calls refused` },
      ]);
    } finally {
      await w.stop();
    }
  });

  it('suspends a client whose answers reach more parcels than allowed in an hour; the answer past the limit gives no number', async () => {
    const w = await world(backend, { WAYBILL_TELEPHONY_BINDINGS_PER_HOUR: '2' });
    try {
      const pbx = await w.addClient('pbx-1');
      // The same parcel called again and again is one binding; a second parcel is two.
      for (const call of [w.live[0], w.live[0], w.live[1], w.live[0]]) expect((await w.post(w.urls[0]!, '/v1/relay/resolve', call, pbx.credential)).body).toMatchObject({ action: 'bridge' });
      const third = await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[2], pbx.credential);
      expect(third).toMatchObject({ status: 403, body: { type: expect.stringMatching(/suspended$/) } });
      expect(JSON.stringify(third.body)).not.toMatch(/target|\+86/);
      const reason = 'too many distinct relay bindings in an hour';
      expect(await w.t.query("SELECT kind, detail FROM alerts")).toEqual([{ kind: 'telephony_suspended', detail: `telephony client ${pbx.id}: ${reason}` }]);
      expect(await w.t.query("SELECT outcome FROM audit_log WHERE action = 'call' ORDER BY seq")).toEqual(['bridged', 'bridged', 'bridged', 'bridged', 'suspended'].map((outcome) => ({ outcome })));
      // Its PBX retrying: every request refused, the first of the minute on record.
      for (let i = 0; i < 5; i++) expect((await w.post(w.urls[0]!, '/v1/relay/resolve', w.live[0], pbx.credential)).status).toBe(403);
      expect(await w.t.query("SELECT actor, outcome FROM audit_log WHERE action = 'refuse' ORDER BY seq")).toEqual([{ actor: `telephony:${pbx.id}`, outcome: 'suspended' }]);
      expect((await w.run('alerts', '--kind', 'telephony_suspended')).out).toContain(reason);
    } finally {
      await w.stop();
    }
  });
});

describe.each(STORE_BACKENDS)('%s telephony client store', (_name, backend) => {
  it('counts answers across instances in a minute, an hour and a day, and suspends once past a limit', async () => {
    const t = await backend.open();
    try {
      const other = await t.reopen();
      const { client } = await t.stores.telephony.add('pbx-1', AT);
      const limits = { unknownPerMinute: 3, unknownPerHour: 5, bindingsPerHour: 2, bindingsPerDay: 3 };
      const at = (seconds: number) => new Date(AT.getTime() + seconds * 1000);
      const stores = [t.stores.telephony, other.telephony];
      let turn = 0;
      // Each answer counted by the two instances in turn; `binding` undefined: an unknown extension.
      const answer = (seconds: number, binding?: string) => stores[turn++ % 2]!.countAnswer(client.id, at(seconds), binding, limits);
      const reinstate = async () => expect(await other.telephony.reinstate(client.id)).toBe(true);
      const reasonNow = async () => (await t.stores.telephony.get(client.id))?.suspendReason;

      // A burst: the 4th unknown answer within a minute suspends; only that call says why.
      for (const s of [0, 1, 61, 62, 63]) expect(await answer(s)).toEqual({ suspended: false });
      expect(await answer(64)).toEqual({ suspended: true, reason: 'too many unknown extensions in a minute' });
      expect(await answer(65)).toEqual({ suspended: true });
      expect(await t.stores.telephony.get(client.id)).toEqual({ ...client, suspendedAt: at(64).toISOString(), suspendReason: 'too many unknown extensions in a minute' });
      await reinstate();
      expect(await t.stores.telephony.list()).toEqual([client]);

      // Paced below the minute's limit: the 6th unknown answer within an hour suspends.
      for (let i = 0; i < 5; i++) expect(await answer(100 + i * 600)).toEqual({ suspended: false });
      expect((await answer(100 + 5 * 600)).reason).toBe('too many unknown extensions in an hour');
      await reinstate();

      // Many parcels' numbers: the 3rd distinct binding within an hour suspends; the same one again does not count.
      for (const b of ['b1', 'b1', 'b2', 'b2', 'b1']) expect(await answer(4000, b)).toEqual({ suspended: false });
      expect((await answer(4001, 'b3')).reason).toBe('too many distinct relay bindings in an hour');
      await reinstate();

      // Paced over the day: one binding every two hours, the 4th distinct within a day suspends.
      for (let i = 0; i < 3; i++) expect(await answer(10_000 + i * 7200, `d${i}`)).toEqual({ suspended: false });
      expect((await answer(10_000 + 3 * 7200, 'd3')).reason).toBe('too many distinct relay bindings in a day');
      expect(await reasonNow()).toBe('too many distinct relay bindings in a day');
      await reinstate();
      // Answers older than a day are forgotten: the same pace a day later starts from nothing.
      expect(await answer(10_000 + 3 * 7200 + 86_400, 'd4')).toEqual({ suspended: false });

      // A client that stops calling (here: revoked) leaves its answers to the sweep, a day after them.
      const rows = async () => Number((await t.query('SELECT count(*) AS n FROM telephony_answers'))[0]!.n);
      expect(await rows()).toBeGreaterThan(0);
      expect(await other.telephony.forgetOldAnswers(at(10_000 + 3 * 7200 + 86_400))).toBe(0);
      expect(await other.telephony.forgetOldAnswers(at(10_000 + 3 * 7200 + 2 * 86_400 + 1))).toBe(1);
      expect(await rows()).toBe(0);

      expect(await t.stores.telephony.revoke(client.id, at(200_000))).toBe(true);
      expect(await t.stores.telephony.revoke(client.id, at(200_001))).toBe(true);
      expect(await other.telephony.list()).toEqual([{ ...client, revokedAt: at(200_000).toISOString() }]);
      expect(await other.telephony.reinstate(client.id)).toBe(false);
      expect(await t.stores.telephony.revoke('nosuchid22', AT)).toBe(false);
    } finally {
      await t.close();
    }
  });
});
