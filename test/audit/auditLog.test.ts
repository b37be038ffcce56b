import { EXIT } from '../../src/cli/io';
import { GENESIS_HASH, hashRecord, verifyChain, type AuditEntry, type AuditRecord } from '../../src/audit/auditRecord';
import { auditCommand } from '../../src/cli/auditCommands';
import type { AuditLog } from '../../src/audit/auditLog';
import { raceProcesses } from '../support/raceProcesses';
import { STORE_BACKENDS, type StoreBackend, type TestDatabase } from '../support/storeBackends';
import type { CopyPrintRecord, PrintJobRecord } from '../../src/waybills/waybillStore';


const entry = (i: number): AuditEntry => ({
  at: new Date(Date.UTC(2026, 10, 23, 10, 0, i)).toISOString(),
  actor: i % 3 === 0 ? 'cli:ops@pack-01' : `courier:c${i % 4}`,
  action: i % 3 === 0 ? 'print' : 'scan',
  waybillNo: `ZT${1000 + (i % 5)}`,
  ...(i % 3 === 0 ? {} : { purpose: 'delivery' }),
  outcome: i % 7 === 0 ? 'limited' : 'ok',
  ...(i % 2 === 0 ? { requestId: `req-${i}` } : {}),
  ...(i % 3 === 0 ? { detail: { job: `job-${i % 2}`, copies: 4, reprint: false } } : {}),
});

async function fiftyRecords(backend: StoreBackend): Promise<{ t: TestDatabase; log: Required<AuditLog> }> {
  const t = await backend.open();
  const log = t.stores.audit;
  for (let i = 1; i <= 50; i++) await log.append(entry(i));
  return { t, log };
}

describe('audit record chain (pure)', () => {
  const chain = (n: number): AuditRecord[] => {
    const out: AuditRecord[] = [];
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= n; seq++) {
      const e = entry(seq);
      const hash = hashRecord(seq, prevHash, e);
      out.push({ ...e, seq, prevHash, hash });
      prevHash = hash;
    }
    return out;
  };

  it('hashes a canonical form: key order of detail and absent fields do not matter', () => {
    const a: AuditEntry = { at: '2026-11-23T10:00:00.000Z', actor: 'system', action: 'purge', outcome: 'shredded', detail: { b: 1, a: 'x' } };
    const b: AuditEntry = { outcome: 'shredded', detail: { a: 'x', b: 1 }, action: 'purge', actor: 'system', at: '2026-11-23T10:00:00.000Z', waybillNo: undefined };
    expect(hashRecord(1, GENESIS_HASH, a)).toBe(hashRecord(1, GENESIS_HASH, b));
    expect(hashRecord(1, GENESIS_HASH, a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecord(2, GENESIS_HASH, a)).not.toBe(hashRecord(1, GENESIS_HASH, a));
    expect(hashRecord(1, GENESIS_HASH, { ...a, purpose: '' })).not.toBe(hashRecord(1, GENESIS_HASH, a));
  });

  it('accepts an intact chain, with or without its head', () => {
    const records = chain(10);
    expect(verifyChain(records)).toEqual({ ok: true, count: 10 });
    expect(verifyChain(records, { seq: 10, hash: records[9]!.hash })).toEqual({ ok: true, count: 10 });
    expect(verifyChain([], { seq: 0, hash: GENESIS_HASH })).toEqual({ ok: true, count: 0 });
  });

  it('names the first problem and where it is', () => {
    const records = chain(10);
    const head = { seq: 10, hash: records[9]!.hash };
    expect(verifyChain(records.map((r) => (r.seq === 4 ? { ...r, outcome: 'ok!' } : r)), head)).toMatchObject({ ok: false, seq: 4, problem: 'edited', count: 3 });
    expect(verifyChain(records.filter((r) => r.seq !== 4), head)).toMatchObject({ ok: false, seq: 4, problem: 'missing' });
    expect(verifyChain(records.filter((r) => r.seq > 2), head)).toMatchObject({ ok: false, seq: 1, problem: 'missing' });
    expect(verifyChain([...records].reverse(), head)).toMatchObject({ ok: false, problem: 'missing' });
    expect(verifyChain([records[0]!, records[2]!, records[1]!], head)).toMatchObject({ ok: false, seq: 2, problem: 'missing' });
    expect(verifyChain([records[0]!, records[1]!, records[1]!], head)).toMatchObject({ ok: false, seq: 2, problem: 'reordered' });
    expect(verifyChain(records.slice(0, 8), head)).toMatchObject({ ok: false, seq: 9, problem: 'truncated', count: 8 });
    expect(verifyChain(records, { seq: 9, hash: records[8]!.hash })).toMatchObject({ ok: false, seq: 10, problem: 'edited' });
    // Rewritten and re-hashed: the record itself checks out, but the next one's link does not.
    const r5 = { ...records[4]!, outcome: 'forbidden' };
    const rehashed = records.map((r) => (r.seq === 5 ? { ...r5, hash: hashRecord(5, r5.prevHash, r5) } : r));
    expect(verifyChain(rehashed, head)).toMatchObject({ ok: false, seq: 5, problem: 'edited' });
    const last = { ...records[9]!, outcome: 'forbidden' };
    const lastRehashed = [...records.slice(0, 9), { ...last, hash: hashRecord(10, last.prevHash, last) }];
    expect(verifyChain(lastRehashed, head)).toMatchObject({ ok: false, seq: 10, problem: 'edited' });
  });
});

describe.each(STORE_BACKENDS)('%s audit log', (_name, backend) => {
  it('appends a linear chain that verifies, and returns what it stored', async () => {
    const { t, log } = await fiftyRecords(backend);
    expect(await log.verify()).toEqual({ ok: true, count: 50 });
    const seqs = (await t.query('SELECT seq FROM audit_log ORDER BY seq')).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const appended = await log.append(entry(51));
    expect(appended.seq).toBe(51);
    expect((await log.forWaybill(entry(51).waybillNo!)).at(-1)).toEqual(appended);
    expect(await t.query('SELECT seq, hash FROM audit_head')).toEqual([{ seq: 51, hash: appended.hash }]);
    await t.close();
  });

  it('returns one waybill\'s records in order, and a print job\'s records', async () => {
    const { t, log } = await fiftyRecords(backend);
    const records = await log.forWaybill('ZT1002');
    expect(records.map((r) => r.seq)).toEqual([2, 7, 12, 17, 22, 27, 32, 37, 42, 47]);
    expect(records[0]).toEqual({ ...entry(2), seq: 2, prevHash: expect.stringMatching(/^[0-9a-f]{64}$/), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await log.forWaybill('ZT9999')).toEqual([]);
    const job = await log.forJob('job-1');
    expect(job.map((r) => r.seq)).toEqual([3, 9, 15, 21, 27, 33, 39, 45]);
    expect(job[0]!.detail).toEqual({ job: 'job-1', copies: 4, reprint: false });
    await t.close();
  });

  it('commits concurrent appends together, each answered with its own record only once it is stored', async () => {
    const t = await backend.open();
    const log = t.stores.audit;
    const commits: number[] = [];
    // Count the group commits on the log's own repository (the real one underneath).
    const repo = (log as unknown as { repo: { append: (next: unknown) => Promise<unknown> } }).repo;
    const append = repo.append.bind(repo);
    repo.append = async (next) => {
      const stored = await append(next);
      commits.push((await t.query('SELECT count(*) AS n FROM audit_log'))[0]!.n as number);
      return stored;
    };
    const records = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(entry(i + 1))));
    // Each promise resolved with its own entry's record, in call order, after its commit.
    expect(records.map((r) => [r.seq, r.waybillNo])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, entry(i + 1).waybillNo]));
    expect(commits.length).toBeLessThan(20);
    expect(Number(commits.at(-1))).toBe(20);
    expect(await log.verify()).toEqual({ ok: true, count: 20 });
    await t.close();
  });

  it('writes a list of entries in one transaction of its own, without waiting for the next turn, all or none', async () => {
    const t = await backend.open();
    const log = t.stores.audit;
    await log.append(entry(1));
    let turned = false;
    setImmediate(() => (turned = true));
    const records = await log.appendAll([entry(2), entry(3), entry(4)]);
    // On SQLite the transaction runs at once; on PostgreSQL it waits for the network, as any query does.
    if (t.stores.backend === 'sqlite') expect(turned).toBe(false);
    expect(records.map((r) => [r.seq, r.waybillNo])).toEqual([2, 3, 4].map((i) => [i, entry(i).waybillNo]));
    // One bad entry: none of the list is written.
    await expect(log.appendAll([entry(5), { ...entry(6), at: 'yesterday' }])).rejects.toThrow(/not a date/);
    expect(await log.appendAll([])).toEqual([]);
    expect(await log.verify()).toEqual({ ok: true, count: 4 });
    await t.close();
  });

  it('refuses entries it could not read back exactly', async () => {
    const { t, log } = await fiftyRecords(backend);
    await expect(log.append({ ...entry(1), action: 'peek' as never })).rejects.toThrow(/unknown audit action/);
    await expect(log.append({ ...entry(1), detail: { n: Number.NaN } })).rejects.toThrow(/finite number/);
    await expect(log.append({ ...entry(1), at: 'yesterday' })).rejects.toThrow(/not a date/);
    expect(await log.verify()).toEqual({ ok: true, count: 50 });
    await t.close();
  });

  it('refuses plain edits, deletes and out-of-line inserts in the database itself', async () => {
    const { t, log } = await fiftyRecords(backend);
    await expect(t.exec("UPDATE audit_log SET outcome = 'ok' WHERE seq = 10")).rejects.toThrow(/append-only/);
    await expect(t.exec('DELETE FROM audit_log WHERE seq = 50')).rejects.toThrow(/append-only/);
    await expect(t.exec('UPDATE audit_head SET seq = 49')).rejects.toThrow(/only moves to the newest/);
    await expect(t.exec('DELETE FROM audit_head')).rejects.toThrow(/cannot be deleted/);
    await expect(t.exec("INSERT INTO audit_log (seq, at, actor, action, outcome, prev_hash, hash) VALUES (51, 'x', 'x', 'scan', 'ok', 'x', 'x')")).rejects.toThrow(
      /does not follow the head/,
    );
    expect(await log.verify()).toEqual({ ok: true, count: 50 });
    await t.close();
  });

  describe('finds tampering done through another connection', () => {
    const cases: [string, string, object][] = [
      ['one field of a middle row edited', "UPDATE audit_log SET purpose = 'customer-service' WHERE seq = 25", { problem: 'edited', seq: 25, count: 24 }],
      ['the waybill of a middle row edited', "UPDATE audit_log SET waybill_no = 'ZT1003' WHERE seq = 25", { problem: 'edited', seq: 25 }],
      ['a middle row deleted', 'DELETE FROM audit_log WHERE seq = 25', { problem: 'missing', seq: 25, count: 24 }],
      [
        "two rows' seq values swapped",
        'UPDATE audit_log SET seq = -1 WHERE seq = 20; UPDATE audit_log SET seq = 20 WHERE seq = 30; UPDATE audit_log SET seq = 30 WHERE seq = -1',
        { problem: 'reordered', seq: 20, count: 19 },
      ],
      ['the last row deleted', 'DELETE FROM audit_log WHERE seq = 50', { problem: 'truncated', seq: 50, count: 49 }],
      ['the last three rows deleted', 'DELETE FROM audit_log WHERE seq > 47', { problem: 'truncated', seq: 48 }],
      ['a row inserted behind the log', "INSERT INTO audit_log (seq, at, actor, action, outcome, prev_hash, hash) VALUES (51, 'x', 'x', 'scan', 'ok', 'x', 'x')", { problem: 'edited', seq: 51 }],
      ['the detail of a row made unreadable', `UPDATE audit_log SET detail = '"job-0"' WHERE seq = 3`, { problem: 'edited', seq: 3 }],
    ];
    it.each(cases)('%s', async (_name, sql, expected) => {
      const { t, log } = await fiftyRecords(backend);
      await t.dropAuditGuards();
      await t.exec(sql);
      const result = await log.verify();
      expect(result).toMatchObject({ ok: false, ...expected });
      expect(result.ok ? '' : result.message).toMatch(/record/);
      await t.close();
    });

    it('a row rewritten and re-hashed', async () => {
      const { t, log } = await fiftyRecords(backend);
      await t.dropAuditGuards();
      const row = (await t.query('SELECT * FROM audit_log WHERE seq = 25'))[0] as Record<string, string | number | null>;
      const forged: AuditEntry = { at: String(row.at), actor: String(row.actor), action: 'scan', waybillNo: String(row.waybill_no), outcome: 'forbidden' };
      await t.exec(`UPDATE audit_log SET action = 'scan', purpose = NULL, request_id = NULL, detail = NULL, outcome = 'forbidden', hash = '${hashRecord(25, String(row.prev_hash), forged)}' WHERE seq = 25`);
      expect(await log.verify()).toMatchObject({ ok: false, problem: 'edited', seq: 25 });
      await t.close();
    });
  });

  it('stays linear when two connections to one database append in turn', async () => {
    const t = await backend.open();
    const [a, b] = [t.stores.audit, (await t.reopen()).audit];
    for (let i = 1; i <= 100; i++) {
      await a.append({ ...entry(i), actor: 'courier:a' });
      await b.append({ ...entry(i), actor: 'courier:b' });
    }
    expect(await a.verify()).toEqual({ ok: true, count: 200 });
    expect(await b.verify()).toEqual({ ok: true, count: 200 });
    const rows = (await t.query('SELECT seq, actor FROM audit_log ORDER BY seq')) as { seq: number; actor: string }[];
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(rows.slice(0, 4).map((r) => r.actor)).toEqual(['courier:a', 'courier:b', 'courier:a', 'courier:b']);
    await t.close();
  });

  it('stays linear when several processes append at the same time', async () => {
    const t = await backend.open();
    const processes = 4;
    const each = 150;
    await raceProcesses({
      processes,
      env: (n) => ({ STORE_LOCATION: JSON.stringify(t.location), AUDIT_ACTOR: `p${n}` }),
      setup: `
        const { openStores } = src('store/openStores.ts');
        const stores = await openStores(JSON.parse(process.env.STORE_LOCATION));
        const log = stores.audit;`,
      race: `
        for (let i = 0; i < ${each}; i++) {
          await log.append({ at: new Date().toISOString(), actor: 'cli:' + process.env.AUDIT_ACTOR, action: 'scan', outcome: 'ok', detail: { i } });
          await new Promise((r) => setTimeout(r, 1)); // let the others in between, as a busy server would
        }
        await stores.close();`,
    });

    expect(await t.stores.audit.verify()).toEqual({ ok: true, count: processes * each });
    const rows = (await t.query('SELECT actor, at FROM audit_log ORDER BY seq')) as { actor: string; at: string }[];
    const spans = Array.from({ length: processes }, (_, n) => rows.filter((r) => r.actor === `cli:p${n}`).map((r) => r.at));
    for (const span of spans) expect(span).toHaveLength(each);
    // They really wrote at the same time: every writer started before any of them had finished.
    expect(spans.map((s) => s[0]!).sort().at(-1)! < spans.map((s) => s.at(-1)!).sort()[0]!).toBe(true);
    await t.close();
  });
});

describe.each(STORE_BACKENDS)('waybill audit command on %s', (_name, backend) => {
  const job: PrintJobRecord = { id: 'job-1', createdAt: '2026-11-23T09:59:00.000Z', channel: 'cli', templateId: 'cn-4copy', format: 'pdf', host: 'pack-01', operator: 'ops' };
  const copy: CopyPrintRecord = { copyCode: 'ABCD-EFGH', jobId: 'job-1', waybillId: 'w-secret-id', copy: 'courier', printNo: 2 };
  const findCopyPrint = async (code: string) => (code === 'ABCD-EFGH' ? { ...copy, job, waybillNo: 'ZT1000' } : undefined);

  async function run(args: string[], log: AuditLog) {
    const lines: string[] = [];
    const code = await auditCommand(args, { audit: log, findCopyPrint }, (l) => lines.push(l));
    return { code, out: lines.join('\n') };
  }

  it('verify: intact, then the problem and its record after tampering', async () => {
    const { t, log } = await fiftyRecords(backend);
    const intact = await run(['verify'], log);
    expect(intact.code).toBe(0);
    // The head it verified is printed, so it can be compared with a copy kept elsewhere.
    expect(intact.out.split('\n').slice(0, 2)).toEqual(['audit log intact: 50 records', expect.stringMatching(/^head: record 50, link [0-9a-f]{64}, 50 records$/)]);
    await t.dropAuditGuards();
    await t.exec('DELETE FROM audit_log WHERE seq = 30');
    const broken = await run(['verify'], log);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/BROKEN at record 30 \(missing\)/);
    await t.close();
  });

  it('waybill: one line per record with time, actor, action, purpose, outcome, request id and detail', async () => {
    const { t, log } = await fiftyRecords(backend);
    const { code, out } = await run(['waybill', 'ZT1002'], log);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(['2026-11-23T10:00:02.000Z', 'courier:c2', 'scan', 'delivery', 'ok', 'req-2', '-'].join('\t'));
    expect(lines[1]).toBe(['2026-11-23T10:00:07.000Z', 'courier:c3', 'scan', 'delivery', 'limited', '-', '-'].join('\t'));
    expect(await run(['waybill', 'ZT9999'], log)).toEqual({ code: 1, out: 'no audit records for waybill ZT9999' });
    await t.close();
  });

  it('trace: from a copy code as read off a photo to its print job and the job\'s records', async () => {
    const { t, log } = await fiftyRecords(backend);
    await log.append({ at: '2026-11-23T09:59:00.000Z', actor: 'cli:ops@pack-01', action: 'reprint', waybillNo: 'ZT1000', outcome: 'ok', detail: { job: 'job-late', copies: 1 } });
    const { code, out } = await run(['trace', 'abcd efgh'], log);
    expect(code).toBe(0);
    expect(out).toContain('copy code:  ABCD-EFGH');
    expect(out).toContain('copy:       courier');
    expect(out).toContain('print:      2 (reprint)');
    expect(out).toContain('print job:  job-1');
    expect(out).toContain('printed at: 2026-11-23T09:59:00.000Z');
    expect(out).toMatch(/host: +pack-01/);
    expect(out).toMatch(/operator: +ops/);
    expect(out).toMatch(/template: +cn-4copy/);
    expect(out).toMatch(/format: +pdf/);
    expect(out).toContain('audit records of this job:');
    expect(out.split('\n').filter((l) => l.startsWith('  '))).toHaveLength(8); // records 3, 9, … 45 carry job-1
    expect(out).toContain('waybill:    ZT1000');
    expect(out).not.toContain('w-secret-id');

    // An audit log without job lookup still traces the print.
    const lines: string[] = [];
    const plain = { append: log.append.bind(log), appendAll: log.appendAll.bind(log), chain: log.chain.bind(log), keep: log.keep.bind(log), forWaybill: log.forWaybill.bind(log), verify: log.verify.bind(log) };
    expect(await auditCommand(['trace', 'ABCD-EFGH'], { audit: plain, findCopyPrint }, (l) => lines.push(l))).toBe(0);
    expect(lines.at(-1)).toMatch(/not available/);

    expect(await run(['trace', 'ZZZZ-ZZZZ'], log)).toEqual({ code: 1, out: 'no printed copy has the code ZZZZ-ZZZZ' });
    await t.close();
  });

  it('usage errors exit 64 (EX_USAGE)', async () => {
    const { t, log } = await fiftyRecords(backend);
    for (const args of [[], ['nope'], ['verify', 'x'], ['waybill'], ['trace'], ['trace', 'a', 'b']]) {
      const { code, out } = await run(args, log);
      expect(code).toBe(EXIT.usage);
      expect(out).toMatch(/usage:/);
    }
    await t.close();
  });
});
